using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Cache;

/// <summary>The composed store's <see cref="IStoreDiagnostics"/>: reads its layers, changes nothing.</summary>
internal sealed class ComposedStoreDiagnostics(
    CacheMode mode,
    ICacheBackend store,
    MemoryCacheBackend memory,
    ResilientCacheBackend? resilient = null,
    HybridCacheBackend? hybrid = null,
    RedisConnection? connection = null) : IStoreDiagnostics
{
    private readonly string _mode = mode.ToString().ToLowerInvariant();

    public StoreSnapshot Snapshot() => new(
        _mode,
        memory.Count,
        memory.Bytes,
        hybrid?.Local.Count,
        hybrid?.Local.Bytes,
        resilient is null ? null : new BreakerSnapshot(Label(resilient.Breaker.State), resilient.Breaker.ConsecutiveFailures),
        resilient is null ? null : new JournalSnapshot(resilient.Journal.Count, resilient.Journal.Dropped),
        resilient is null ? null : Link());

    public bool AwaitingFirstConnect => connection?.FirstConnect.Waiting ?? false;

    /// <summary>The shared store's own answer (the resilient layer asks Redis, not its fallback).</summary>
    public async Task<StoreProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        var health = await store.HealthAsync(cancellationToken).ConfigureAwait(false);
        return new StoreProbe(health.Healthy, health.Latency, health.Problem);
    }

    private RedisLinkSnapshot Link()
    {
        if (connection is null)
        {
            return new RedisLinkSnapshot(false, 0, 0);
        }

        var (connected, disconnected) = connection.ServerCounts();
        return new RedisLinkSnapshot(connection.IsConnected, connected, disconnected);
    }

    private static string Label(CircuitState state) => state switch
    {
        CircuitState.Open => BreakerSnapshot.Open,
        CircuitState.HalfOpen => BreakerSnapshot.HalfOpen,
        _ => BreakerSnapshot.Closed,
    };
}
