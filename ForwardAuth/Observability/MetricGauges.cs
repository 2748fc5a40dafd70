using ForwardAuth.Configuration;

namespace ForwardAuth.Observability;

/// <summary>Gauges read from live objects just before each scrape (no timer, no work between scrapes).</summary>
internal static class MetricGauges
{
    public static void Register(IServiceProvider services)
    {
        var metrics = services.GetRequiredService<ForwardAuthMetrics>();
        var options = services.GetRequiredService<ForwardAuthOptions>();
        var store = services.GetRequiredService<IStoreDiagnostics>();

        metrics.ReplayProtectionMode.WithLabels("local").Set(options.ReplayProtection == ReplayProtection.Local ? 1 : 0);
        metrics.ReplayProtectionMode.WithLabels("closed").Set(options.ReplayProtection == ReplayProtection.Closed ? 1 : 0);
        metrics.BeforeScrape(() =>
        {
            var snapshot = store.Snapshot();
            metrics.FallbackEntries.Set(snapshot.MemoryEntries);
            if (snapshot.Breaker is { } breaker)
            {
                metrics.CircuitBreakerState.Set(breaker.GaugeValue);
            }

            if (snapshot.Journal is { } journal)
            {
                metrics.JournalEntries.Set(journal.Entries);
            }

            if (snapshot.LocalEntries is { } local)
            {
                metrics.LocalCacheEntries.Set(local);
            }

            if (snapshot.Redis is { } redis)
            {
                // What the breaker believes too: a connected multiplexer behind an open breaker is not in use.
                metrics.RedisConnected.Set(redis.MultiplexerConnected && snapshot.BreakerClosed ? 1 : 0);
                metrics.RedisConnections.WithLabels("connected").Set(redis.ServersConnected);
                metrics.RedisConnections.WithLabels("disconnected").Set(redis.ServersDisconnected);
            }
        });
    }
}
