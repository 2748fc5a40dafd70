using System.Security.Authentication;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// Classifies Redis failures: which ones are an outage (they count against the breaker and fall back) and which
/// setting an operator should check (the reference document's troubleshooting section).
/// </summary>
internal static partial class RedisErrors
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
    public static string Hint(Exception? e) =>
        Classify(Flatten(e), Chain(e).Any(x => x is AuthenticationException), e is RedisTimeoutException or TimeoutException);

    /// <summary>
    /// The cause StackExchange.Redis wrote to its connect log: <c>Connection failed: &lt;endpoint&gt; (&lt;type&gt;,
    /// &lt;failure&gt;): …</c> lines and their <c>&gt; &lt;inner message&gt;</c> lines (interleaved with others when
    /// connections fail concurrently, so they are read together); null when the log records no failure. The log masks
    /// the password.
    /// </summary>
    public static (string Endpoint, string FailureType, string Hint)? FromConnectLog(string log)
    {
        const string marker = "Connection failed: ";
        var lines = log.Split('\n').Select(l => TimeStamp().Replace(l.TrimEnd('\r'), "", 1)).ToList();
        var failures = lines.Where(l => l.Contains(marker, StringComparison.Ordinal)).Select(l => l[(l.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..]).ToList();
        if (failures.Count == 0)
        {
            return null;
        }

        var causes = lines.Where(l => l.StartsWith("> ", StringComparison.Ordinal)).Select(l => l[2..]);
        var hint = Classify(string.Join(" | ", failures.Concat(causes)), authenticationException: false, timeoutException: false);
        var first = failures[0];
        var open = first.IndexOf(" (", StringComparison.Ordinal);
        var close = first.IndexOf(')', StringComparison.Ordinal);
        return (open > 0 ? first[..open] : "?", open > 0 && close > open ? first[(open + 2)..close] : "?", hint);
    }

    private const string PasswordHint = "authentication failed: check redis.password (REDIS_PASSWORD) and redis.username (REDIS_USERNAME)";
    private const string TlsHint = "TLS handshake failed: check redis.tls.* (REDIS_TLS_ENABLED, REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE)";

    private static string Classify(string text, bool authenticationException, bool timeoutException)
    {
        if (text.Contains("NOAUTH", StringComparison.Ordinal) || text.Contains("WRONGPASS", StringComparison.Ordinal)
            || text.Contains("invalid username-password", StringComparison.OrdinalIgnoreCase))
        {
            return PasswordHint;
        }

        // Before the generic AuthenticationFailure below: StackExchange.Redis reports a failed TLS handshake (untrusted
        // server certificate) as ConnectionFailureType.AuthenticationFailure too, with an AuthenticationException inside.
        if (authenticationException || text.Contains("SSL", StringComparison.OrdinalIgnoreCase) || text.Contains("TLS", StringComparison.Ordinal)
            || text.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            return TlsHint;
        }

        if (text.Contains("AuthenticationFailure", StringComparison.Ordinal))
        {
            // The library's AuthenticationFailure without the server's or the TLS layer's own words: either.
            return "authentication or TLS handshake failed: check redis.password (REDIS_PASSWORD), redis.username (REDIS_USERNAME) and redis.tls.*";
        }

        if (timeoutException || text.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
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

    [GeneratedRegex(@"^\d{2}:\d{2}:\d{2}\.\d+: ")]
    private static partial Regex TimeStamp();

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            yield return x;
        }
    }

    private static string Flatten(Exception? e) => string.Join(" | ", Chain(e).Select(x => x.GetType().Name + ": " + x.Message));
}
