using System.Security.Authentication;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// Classifies Redis failures: which ones are an outage (they count against the breaker and fall back) and which
/// setting an operator should check (the reference document's troubleshooting section).
/// </summary>
internal static class RedisErrors
{
    public static bool IsOutage(Exception e) => e switch
    {
        RedisConnectionException or RedisTimeoutException or TimeoutException => true,
        // Authentication or a server that cannot serve right now is an outage for us, not a bug.
        RedisServerException s => s.Message.StartsWith("NOAUTH", StringComparison.Ordinal)
            || s.Message.StartsWith("WRONGPASS", StringComparison.Ordinal)
            || s.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || s.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || s.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || s.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            || s.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal),
        ObjectDisposedException => true,
        _ => false,
    };

    /// <summary>The setting to check for this failure; never includes a secret.</summary>
    public static string Hint(Exception? e)
    {
        var text = Flatten(e);
        if (text.Contains("NOAUTH", StringComparison.Ordinal) || text.Contains("WRONGPASS", StringComparison.Ordinal)
            || text.Contains("AuthenticationFailure", StringComparison.Ordinal) || text.Contains("invalid username-password", StringComparison.OrdinalIgnoreCase))
        {
            return "authentication failed: check redis.password (REDIS_PASSWORD) and redis.username (REDIS_USERNAME)";
        }

        if (e is AuthenticationException || text.Contains("SSL", StringComparison.OrdinalIgnoreCase) || text.Contains("TLS", StringComparison.Ordinal)
            || text.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            return "TLS handshake failed: check redis.tls.* (REDIS_TLS_ENABLED, REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE)";
        }

        if (e is RedisTimeoutException or TimeoutException || text.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            return "timeout: check redis.dialTimeout/readTimeout/writeTimeout and the circuit breaker settings";
        }

        if (text.Contains("refused", StringComparison.OrdinalIgnoreCase) || text.Contains("UnableToConnect", StringComparison.Ordinal)
            || text.Contains("SocketFailure", StringComparison.Ordinal) || text.Contains("No connection", StringComparison.OrdinalIgnoreCase))
        {
            return "connection refused or lost: check redis.address (REDIS_ADDRESS) and that Redis is running";
        }

        return "check redis.address and the Redis server log";
    }

    private static string Flatten(Exception? e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x.GetType().Name + ": " + x.Message);
        }

        return string.Join(" | ", parts);
    }
}
