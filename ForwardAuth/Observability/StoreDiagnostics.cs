namespace ForwardAuth.Observability;

/// <summary>
/// What health and metrics may know of the shared store, without naming a backend: its mode, a snapshot of live
/// counters (no I/O) and a probe of the shared store. The store composition (Cache) implements it.
/// </summary>
internal interface IStoreDiagnostics
{
    /// <summary>Counters and states as they are now; cheap, never touches the network.</summary>
    StoreSnapshot Snapshot();

    /// <summary>
    /// True while the process's first connection attempt to the shared store runs, for at most a bound (twice
    /// <c>redis.dialTimeout</c>): readiness waits for it. Always false in memory mode.
    /// </summary>
    bool AwaitingFirstConnect { get; }

    /// <summary>Asks the shared store directly (a PING bounded by the Redis timeout); the memory store is always reachable.</summary>
    Task<StoreProbe> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The store's live state. <see cref="Mode"/> is <c>memory</c>, <c>redis</c> or <c>hybrid</c>; the Redis-only parts are
/// null in memory mode, <see cref="LocalEntries"/> is null outside hybrid mode.
/// </summary>
internal sealed record StoreSnapshot(
    string Mode,
    int MemoryEntries,
    long MemoryBytes,
    int? LocalEntries = null,
    long? LocalBytes = null,
    BreakerSnapshot? Breaker = null,
    JournalSnapshot? Journal = null,
    RedisLinkSnapshot? Redis = null)
{
    public bool UsesRedis => Redis is not null;

    /// <summary>The breaker lets calls through to Redis (or there is no breaker).</summary>
    public bool BreakerClosed => Breaker is null || Breaker.State == BreakerSnapshot.Closed;
}

/// <summary>The circuit breaker: <c>closed</c>, <c>open</c> or <c>half-open</c>, and its consecutive failures.</summary>
internal sealed record BreakerSnapshot(string State, int ConsecutiveFailures)
{
    public const string Closed = "closed";
    public const string Open = "open";
    public const string HalfOpen = "half-open";

    /// <summary>The <c>traefikoidc_circuit_breaker_state</c> value: 0 closed, 1 open, 2 half-open.</summary>
    public int GaugeValue => State switch { Open => 1, HalfOpen => 2, _ => 0 };
}

/// <summary>Writes waiting in the outage journal for Redis to return, and how many were dropped because it was full.</summary>
internal sealed record JournalSnapshot(int Entries, long Dropped);

/// <summary>The multiplexer's own view: connected at all, and its server connections by state.</summary>
internal sealed record RedisLinkSnapshot(bool MultiplexerConnected, int ServersConnected, int ServersDisconnected);

/// <summary>One probe of the shared store: reachable, its round trip, and the setting to check when not.</summary>
internal sealed record StoreProbe(bool Reachable, TimeSpan? Latency, string? Problem);
