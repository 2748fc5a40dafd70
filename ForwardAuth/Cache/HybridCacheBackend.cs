using ForwardAuth.Observability;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// Two tiers: a bounded local L1 in front of the shared store. Reads are served from L1 after the first read from
/// Redis; writes go to Redis (which announces them on the <see cref="InvalidationChannel"/>), then L1; every
/// announcement from another replica drops the local copy at once. L1 is trusted only while invalidations can reach
/// it: subscribed, the link up and the circuit closed — when the link drops it is flushed (messages may be lost), and
/// again when it returns. Atomic operations (add-if-absent, get-and-delete, renew/delete-if-value) pass straight down
/// and drop the key's L1 entries first: by construction their answer never comes from L1.
/// </summary>
/// <remarks>
/// L1 sits above the circuit breaker: its hits never touch Redis, so they neither count as Redis successes nor wait
/// on a hung Redis; misses and writes go through the breaker to Redis or, while it is open, to the memory fallback.
/// The pub/sub subscription is made by the store's hosted service (<see cref="StoreBackgroundService"/>).
/// </remarks>
internal sealed class HybridCacheBackend : ICacheBackend, IAsyncDisposable
{
    private readonly ICacheBackend _remote;
    private readonly RedisConnection _connection;
    private readonly InvalidationChannel _invalidations;
    private readonly MemoryCacheBackend _local;
    private readonly TimeSpan _localTtl;
    private readonly LocalCacheBypass _bypass;
    private readonly CircuitBreaker? _breaker;
    private readonly ILogger _logger;
    private readonly ForwardAuthMetrics? _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _invalidationCount;
    private volatile bool _subscribed;
    private volatile bool _linkUp;

    public HybridCacheBackend(
        ICacheBackend remote,
        RedisConnection connection,
        InvalidationChannel invalidations,
        MemoryCacheBackend local,
        TimeSpan localTtl,
        CircuitBreaker? breaker,
        ILogger<HybridCacheBackend> logger,
        ForwardAuthMetrics? metrics = null,
        LocalCacheBypass? bypass = null)
    {
        _metrics = metrics;
        _bypass = bypass ?? LocalCacheBypass.None;
        _remote = remote;
        _connection = connection;
        _invalidations = invalidations;
        _local = local;
        _localTtl = localTtl;
        _breaker = breaker;
        _logger = logger;
        if (breaker is not null)
        {
            breaker.StateChanged += (_, to) => Flush("circuit breaker " + to.ToString().ToLowerInvariant());
        }
    }

    public string Name => "hybrid";

    public MemoryCacheBackend Local => _local;

    /// <summary>Completes once the invalidation channel is subscribed (<see cref="SubscribeAsync"/>); until then L1 is unused.</summary>
    public Task Ready => _ready.Task;

    // Not while the breaker is open or half-open, and not for a request that met an outage: its answers may have come
    // from the memory fallback (an adopted, token-less record during a failover), and an L1 copy of one would outlive
    // the outage by up to localCacheTtl, hiding the full record Redis holds.
    private bool LocalUsable => _subscribed && _linkUp && (_breaker is null || _breaker.State == CircuitState.Closed) && !OutageScope.Seen;

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var usable = LocalUsable && !_bypass.Bypasses(key);
        if (usable && await _local.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } hit)
        {
            _metrics?.LocalCacheHits.Inc();
            return hit;
        }

        // An invalidation that arrives while we read may concern the value we are about to cache: then don't cache it.
        var before = Interlocked.Read(ref _invalidationCount);
        var value = await _remote.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null && usable && LocalUsable && Interlocked.Read(ref _invalidationCount) == before)
        {
            await _local.SetAsync(key, value, _localTtl, cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    public async Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        await _remote.SetAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
        if (LocalUsable && !_bypass.Bypasses(key))
        {
            await _local.SetAsync(key, value, ttl < _localTtl ? ttl : _localTtl, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Existence answers are kept in L1 too — "absent" as well as "present" (a revocation check on every bearer request
    /// is mostly "absent") — under their own L1 key, and dropped like values: by this replica's writes and by every
    /// other replica's announcements, so a revocation written anywhere is seen at once.
    /// </summary>
    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        var usable = LocalUsable;
        if (usable)
        {
            if (await _local.GetAsync(ExistenceKey(key), cancellationToken).ConfigureAwait(false) is [var known])
            {
                _metrics?.LocalCacheHits.Inc();
                return known == 1;
            }

            if (await _local.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        var before = Interlocked.Read(ref _invalidationCount);
        var exists = await _remote.ExistsAsync(key, cancellationToken).ConfigureAwait(false);
        if (usable && LocalUsable && Interlocked.Read(ref _invalidationCount) == before)
        {
            await _local.SetAsync(ExistenceKey(key), [exists ? (byte)1 : (byte)0], _localTtl, cancellationToken).ConfigureAwait(false);
        }

        return exists;
    }

    // The atomic operations: straight to the store below, never answered from L1.
    public async Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.AddIfAbsentAsync(key, value, ttl, guarantee, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.GetAndDeleteAsync(key, cancellationToken).ConfigureAwait(false);
    }

    // The L1 entry of an existence answer: a prefix no store key has (keys start with their kind).
    private static string ExistenceKey(string key) => "?exists:" + key;

    private async Task ForgetAsync(string key)
    {
        await _local.DeleteAsync(key).ConfigureAwait(false);
        await _local.DeleteAsync(ExistenceKey(key)).ConfigureAwait(false);
    }

    public async Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.RenewIfValueAsync(key, expected, ttl, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.DeleteIfValueAsync(key, expected, cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default)
    {
        await ForgetAsync(key).ConfigureAwait(false);
        return await _remote.IncrementAsync(key, window, cancellationToken).ConfigureAwait(false);
    }

    public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        _remote.SetAddAsync(key, member, ttl, cancellationToken);

    public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) =>
        _remote.SetMembersAsync(key, cancellationToken);

    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        await _remote.ClearAsync(cancellationToken).ConfigureAwait(false);
        await _local.ClearAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) => _remote.HealthAsync(cancellationToken);

    /// <summary>
    /// Subscribes to the invalidation channel, retrying until Redis is there (called once, by the store's hosted service).
    /// </summary>
    public async Task SubscribeAsync(CancellationToken stoppingToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopping.Token);
        try
        {
            await SubscribeUntilDoneAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down before Redis was ever there.
        }
    }

    private async Task SubscribeUntilDoneAsync(CancellationToken stoppingToken)
    {
        var multiplexer = await _connection.GetAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
        multiplexer.ConnectionFailed += (_, e) =>
        {
            _linkUp = false;
            Flush("connection lost (" + e.ConnectionType + ")");
        };
        multiplexer.ConnectionRestored += (_, e) =>
        {
            // StackExchange.Redis re-subscribes on reconnect; what was published meanwhile is lost: start empty.
            Flush("connection restored (" + e.ConnectionType + "), invalidations may have been missed");
            _linkUp = multiplexer.IsConnected;
        };

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await multiplexer.GetSubscriber().SubscribeAsync(_invalidations.Channel, (_, message) => OnInvalidation(message)).ConfigureAwait(false);
                Interlocked.Increment(ref _invalidationCount);
                await _local.ClearAsync(CancellationToken.None).ConfigureAwait(false);
                _subscribed = true;
                _linkUp = true;
                _ready.TrySetResult();
                return;
            }
            catch (Exception e) when (RedisErrors.IsOutage(e))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void OnInvalidation(RedisValue message)
    {
        Interlocked.Increment(ref _invalidationCount);
        switch (_invalidations.KeyFromOthers(message))
        {
            case null:
                break;
            case InvalidationChannel.Everything:
                _ = _local.ClearAsync();
                break;
            case var key:
                _ = ForgetAsync(key);
                break;
        }
    }

    private void Flush(string reason)
    {
        Interlocked.Increment(ref _invalidationCount);
        _ = _local.ClearAsync();
        Log.LocalCacheFlushed(_logger, reason);
    }

    // Stops background work still running (the container disposes it); cancelling is idempotent, disposing the source is not.
    public async ValueTask DisposeAsync() => await _stopping.CancelAsync().ConfigureAwait(false);
}
