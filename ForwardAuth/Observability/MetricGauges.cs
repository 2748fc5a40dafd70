using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Observability;

/// <summary>Gauges read from live objects just before each scrape (no timer, no work between scrapes).</summary>
internal static class MetricGauges
{
    public static void Register(IServiceProvider services)
    {
        var metrics = services.GetRequiredService<ForwardAuthMetrics>();
        var options = services.GetRequiredService<ForwardAuthOptions>();
        var memory = services.GetRequiredService<MemoryCacheBackend>();
        var resilient = services.GetService<ResilientCacheBackend>();
        var hybrid = services.GetService<HybridCacheBackend>();
        var redis = services.GetService<RedisConnection>();

        metrics.ReplayProtectionMode.WithLabels("local").Set(options.ReplayProtection == ReplayProtection.Local ? 1 : 0);
        metrics.ReplayProtectionMode.WithLabels("closed").Set(options.ReplayProtection == ReplayProtection.Closed ? 1 : 0);
        metrics.BeforeScrape(() =>
        {
            metrics.FallbackEntries.Set(memory.Count);
            if (resilient is not null)
            {
                metrics.CircuitBreakerState.Set((int)resilient.Breaker.State);
                metrics.JournalEntries.Set(resilient.Journal.Count);
            }

            if (hybrid is not null)
            {
                metrics.LocalCacheEntries.Set(hybrid.Local.Count);
            }

            if (redis is not null)
            {
                var (connected, disconnected) = redis.ServerCounts();
                metrics.RedisConnected.Set(redis.IsConnected ? 1 : 0);
                metrics.RedisConnections.WithLabels("connected").Set(connected);
                metrics.RedisConnections.WithLabels("disconnected").Set(disconnected);
            }
        });
    }
}
