using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Sessions;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// What each tier of in-process replicas holds for one session (Redis itself, the hybrid L1, the memory fallback, the
/// outage journal): what a failing failover test prints, so a lost or token-less record says where it lives.
/// </summary>
internal static class StoreView
{
    public static async Task<string> DescribeSessionAsync(string cookieValue, params ForwardAuthInstance[] replicas)
    {
        var text = new StringBuilder();
        foreach (var replica in replicas)
        {
            var services = replica.Services;
            var options = services.GetRequiredService<ForwardAuthOptions>();
            if (services.GetRequiredService<SessionCookie>().TryOpen(cookieValue) is not { } payload)
            {
                return "the cookie does not open";
            }

            var hash = StoreKeys.Hash(payload.Handle);
            var resilient = services.GetRequiredService<ResilientCacheBackend>();
            var breaker = resilient.Breaker.State;
            text.Append(replica.BaseUrl).Append(" (breaker ").Append(breaker).Append(", journal ").Append(resilient.Journal.Count).Append("): ");
            var tiers = new List<(string Name, ICacheBackend Cache)> { ("redis", resilient.Primary), ("fallback", resilient.Fallback) };
            if (services.GetService<HybridCacheBackend>() is { } hybrid)
            {
                tiers.Add(("L1", hybrid.Local));
            }

            foreach (var (name, cache) in tiers)
            {
                text.Append(name).Append(": ").Append(await DescribeAsync(cache, options, hash)).Append("; ");
            }

            text.Append(await DescribeConnectionAsync(services));
            text.Append(" at ").Append(DateTimeOffset.UtcNow.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)).AppendLine();
        }

        return text.ToString();
    }

    /// <summary>Each replica's breaker, journal and Redis connection as its multiplexer sees it (a recovery that never came).</summary>
    public static async Task<string> DescribeConnectionsAsync(params ForwardAuthInstance[] replicas)
    {
        var text = new StringBuilder();
        foreach (var replica in replicas)
        {
            var resilient = replica.Services.GetRequiredService<ResilientCacheBackend>();
            text.Append(replica.BaseUrl).Append(" (breaker ").Append(resilient.Breaker.State).Append(", journal ").Append(resilient.Journal.Count).Append(") ")
                .Append(await DescribeConnectionAsync(replica.Services)).AppendLine();
        }

        return text.ToString();
    }

    private static async Task<string> DescribeConnectionAsync(IServiceProvider services)
    {
        if (services.GetService<RedisConnection>() is not { } connection)
        {
            return "";
        }

        var multiplexer = await connection.GetAsync();
        var health = await services.GetRequiredService<ResilientCacheBackend>().Primary.HealthAsync();
        return $"health PING {(health.Healthy ? "answered" : "failed: " + health.Problem)}; multiplexer {(connection.IsConnected ? "connected" : "not connected")}: "
            + string.Join(", ", multiplexer.GetServers().Select(s => $"{s.EndPoint} {(s.IsConnected ? "up" : "down")} {(s.IsReplica ? "replica" : "master")}"));
    }

    private static async Task<string> DescribeAsync(ICacheBackend cache, ForwardAuthOptions options, string hash)
    {
        try
        {
            var records = new SessionRecords(cache, options, TimeProvider.System);
            var tokensKey = StoreKeys.ForHash(StoreKeys.Tokens, hash);
            var tokens = await cache.GetAsync(tokensKey) is null ? "no token record" : "token record";
            return await records.LoadByHashAsync(hash, CancellationToken.None) is not { } found
                ? "no hot record, " + tokens
                : $"hot record (adopted {found.Record.Adopted}, held {found.Record.HeldTokens}, last seen {found.Record.LastSeenAt:HH:mm:ss.fff}), {tokens}";
        }
        catch (CacheUnavailableException e)
        {
            return "unreachable: " + e.Message + " (" + e.InnerException?.GetType().Name + ": " + e.InnerException?.Message + ")";
        }
    }
}
