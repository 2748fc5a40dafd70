using ForwardAuth.Observability;

namespace ForwardAuth.Cache;

/// <summary>
/// Redis (or hybrid) behind the circuit breaker, with the in-memory fallback. While the breaker lets calls through
/// they go to Redis; an outage failure is counted and the call is served from memory instead. While OPEN every call
/// goes to memory at once, writes are journalled, and a background monitor PINGs Redis every <c>healthCheckInterval</c>
/// (the circuit goes half-open as soon as Redis answers, at the latest after <c>circuitBreakerTimeout</c>; while closed the
/// same monitor PINGs through the breaker); when the circuit closes the journal is replayed so every replica learns what happened
/// during the outage. Atomic operations fall back to this replica's memory too, except an add-if-absent that requires
/// <see cref="Guarantee.AcrossReplicas"/>: that one answers <see cref="AddResult.CannotGuarantee"/>. The background
/// monitor runs in the store's hosted service (<see cref="StoreBackgroundService"/>), never from the constructor.
/// </summary>
internal sealed partial class ResilientCacheBackend : ICacheBackend, IAsyncDisposable
{
    private readonly ICacheBackend _primary;
    private readonly MemoryCacheBackend _fallback;
    private readonly CircuitBreaker _breaker;
    private readonly OutageJournal _journal;
    private readonly TimeProvider _time;
    private readonly TimeSpan _openTimeout;
    private readonly ILogger _logger;
    private readonly TimeSpan _healthInterval;
    private readonly ForwardAuthMetrics? _metrics;
    private readonly CancellationTokenSource _stopping = new();

    public ResilientCacheBackend(
        ICacheBackend primary,
        MemoryCacheBackend fallback,
        CircuitBreaker breaker,
        OutageJournal journal,
        TimeSpan openTimeout,
        TimeSpan healthInterval,
        TimeProvider time,
        ILogger<ResilientCacheBackend> logger,
        ForwardAuthMetrics? metrics = null)
    {
        _metrics = metrics;
        _healthInterval = healthInterval;
        _primary = primary;
        _fallback = fallback;
        _breaker = breaker;
        _journal = journal;
        _openTimeout = openTimeout;
        _time = time;
        _logger = logger;
        _breaker.StateChanged += OnStateChanged;
        _journal.EntryDropped += () =>
        {
            Log.OutageJournalFull(_logger);
            _metrics?.JournalDropped.Inc();
        };
    }

    public string Name => _primary.Name;

    public CircuitBreaker Breaker => _breaker;

    public OutageJournal Journal => _journal;

    public MemoryCacheBackend Fallback => _fallback;

    public ICacheBackend Primary => _primary;

    /// <summary>Completes when the last journal replay finished (tests wait on it).</summary>
    public Task LastReplay { get; private set; } = Task.CompletedTask;

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Run(p => p.GetAsync(key, cancellationToken), () => _fallback.GetAsync(key, cancellationToken));

    public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run(
            async p =>
            {
                await p.SetAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
                return true;
            },
            async () =>
            {
                await _fallback.SetAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
                _journal.Set(key, value, ttl);
                return true;
            });

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Run(
            p => p.DeleteAsync(key, cancellationToken),
            async () =>
            {
                var existed = await _fallback.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
                _journal.Delete(key);
                return existed;
            });

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        Run(p => p.ExistsAsync(key, cancellationToken), () => _fallback.ExistsAsync(key, cancellationToken));

    public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) =>
        Run(
            p => p.AddIfAbsentAsync(key, value, ttl, guarantee, cancellationToken),
            async () =>
            {
                // Only this replica's memory could decide now: not what the caller asked for.
                if (guarantee == Guarantee.AcrossReplicas)
                {
                    return AddResult.CannotGuarantee;
                }

                var added = await _fallback.AddIfAbsentAsync(key, value, ttl, guarantee, cancellationToken).ConfigureAwait(false);
                if (added == AddResult.Added)
                {
                    _journal.AddIfAbsent(key, value, ttl);
                }

                return added;
            });

    public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Run(
            p => p.GetAndDeleteAsync(key, cancellationToken),
            async () =>
            {
                var value = await _fallback.GetAndDeleteAsync(key, cancellationToken).ConfigureAwait(false);
                if (value is not null)
                {
                    _journal.Delete(key);
                }

                return value;
            });

    // Leases are per replica while the circuit is open: not journalled (they are short-lived by nature).
    public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run(p => p.RenewIfValueAsync(key, expected, ttl, cancellationToken), () => _fallback.RenewIfValueAsync(key, expected, ttl, cancellationToken));

    public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default) =>
        Run(p => p.DeleteIfValueAsync(key, expected, cancellationToken), () => _fallback.DeleteIfValueAsync(key, expected, cancellationToken));

    // Counters are per replica while the circuit is open: not journalled (a window is short; docs/security.md).
    public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) =>
        Run(p => p.IncrementAsync(key, window, cancellationToken), () => _fallback.IncrementAsync(key, window, cancellationToken));

    public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run(
            async p =>
            {
                await p.SetAddAsync(key, member, ttl, cancellationToken).ConfigureAwait(false);
                return true;
            },
            async () =>
            {
                await _fallback.SetAddAsync(key, member, ttl, cancellationToken).ConfigureAwait(false);
                _journal.SetAdd(key, member, ttl);
                return true;
            });

    public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) =>
        Run(p => p.SetMembersAsync(key, cancellationToken), () => _fallback.SetMembersAsync(key, cancellationToken));

    // While Redis is unreachable the clear is journalled like any write, and replayed in order.
    public Task ClearAsync(CancellationToken cancellationToken = default) =>
        Run(
            async p =>
            {
                await _fallback.ClearAsync(cancellationToken).ConfigureAwait(false);
                await p.ClearAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            async () =>
            {
                await _fallback.ClearAsync(cancellationToken).ConfigureAwait(false);
                _journal.Clear();
                return true;
            });

    /// <summary>Asks Redis directly (a health check must tell the truth, not the fallback's).</summary>
    public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) => _primary.HealthAsync(cancellationToken);

    private async Task<T> Run<T>(Func<ICacheBackend, Task<T>> onPrimary, Func<Task<T>> onFallback, [System.Runtime.CompilerServices.CallerMemberName] string operation = "")
    {
        // A call of this request already met an outage: no second wait for Redis (OutageScope).
        var probe = false;
        if (OutageScope.Seen || !_breaker.TryAcquire(out probe))
        {
            // The request's answers now come from memory: the hybrid L1 must not keep them (OutageScope.Seen).
            OutageScope.MarkSeen();
            _metrics?.FallbackOperations.WithLabels(OperationNames.Of(operation)).Inc();
            return await onFallback().ConfigureAwait(false);
        }

        try
        {
            var result = await onPrimary(_primary).ConfigureAwait(false);
            _breaker.OnSuccess(probe);
            return result;
        }
        catch (CacheUnavailableException e)
        {
            // Waiting for the first connection at start-up is not an outage: served from memory (journalled, replayed
            // once connected), never counted.
            OutageScope.MarkSeen();
            if (e.FirstConnectPending)
            {
                _breaker.OnAbandoned(probe);
            }
            else
            {
                _breaker.OnFailure(probe);
            }

            Log.StoreUnavailable(_logger, OperationNames.Of(operation), e.Message);
            _metrics?.FallbackOperations.WithLabels(OperationNames.Of(operation)).Inc();
            return await onFallback().ConfigureAwait(false);
        }
        catch
        {
            _breaker.OnAbandoned(probe);
            throw;
        }
    }

    private void OnStateChanged(CircuitState from, CircuitState to)
    {
        _metrics?.BreakerTransitions.WithLabels(Label(from), Label(to)).Inc();
        _metrics?.CircuitBreakerState.Set((int)to);
        switch (to)
        {
            case CircuitState.Open:
                Log.CircuitBreakerOpened(_logger, _breaker.ConsecutiveFailures, (int)Math.Min(_healthInterval.TotalSeconds, _openTimeout.TotalSeconds), (int)_openTimeout.TotalSeconds);
                Log.FallingBackToMemory(_logger);
                break;
            case CircuitState.HalfOpen:
                Log.CircuitBreakerHalfOpen(_logger);
                break;
            case CircuitState.Closed:
                Log.RedisRestored(_logger, from.ToString().ToLowerInvariant());
                LastReplay = ReplayAsync();
                break;
        }
    }

    private static string Label(CircuitState state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "closed",
    };

    private async Task ReplayAsync()
    {
        try
        {
            var applied = await _journal.ReplayAsync(_primary, _stopping.Token).ConfigureAwait(false);
            // Memory held only what the outage needed; Redis is the authority again.
            await _fallback.ClearAsync().ConfigureAwait(false);
            if (applied > 0)
            {
                Log.OutageJournalReplayed(_logger, applied);
            }
        }
        catch (CacheUnavailableException e)
        {
            _breaker.OnFailure(isProbe: false);
            Log.StoreUnavailable(_logger, "outage journal replay", e.Message);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    // Stops background work still running (the container disposes it); cancelling is idempotent, disposing the source is not.
    public async ValueTask DisposeAsync() => await _stopping.CancelAsync().ConfigureAwait(false);
}
