using ForwardAuth.Observability;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// Two tiers: a bounded local L1 in front of Redis. Reads are served from L1 after the first Redis read; writes go to
/// Redis, then L1; every change or delete is published on <c>&lt;keyPrefix&gt;:invalidate</c> so every other replica
/// drops its L1 copy at once. When the pub/sub connection drops (messages may be lost) the L1 is flushed, and again
/// when it comes back. Single-use markers and leases never touch L1: the atomic operations always go to Redis.
/// </summary>
internal sealed class HybridCacheBackend : ICacheBackend, IAsyncDisposable
{
    private readonly RedisCacheBackend _remote;
    private readonly MemoryCacheBackend _local;
    private readonly TimeSpan _localTtl;
    private readonly ILogger _logger;
    private readonly RedisChannel _channel;
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private readonly RedisConnection _connection;
    private readonly CancellationTokenSource _stopping = new();
    private long _invalidations;

    // L1 is trustworthy only while invalidations can reach us: subscribed, and the link has not dropped since.
    private volatile bool _subscribed;
    private volatile bool _linkUp;

    public HybridCacheBackend(RedisCacheBackend remote, RedisConnection connection, MemoryCacheBackend local, TimeSpan localTtl, ILogger<HybridCacheBackend> logger)
    {
        _remote = remote;
        _local = local;
        _localTtl = localTtl;
        _logger = logger;
        _connection = connection;
        _channel = RedisChannel.Literal(connection.KeyPrefix + "invalidate");
        Ready = SubscribeUntilDoneAsync();
    }

    public string Name => "hybrid";

    public MemoryCacheBackend Local => _local;

    /// <summary>Completes once the invalidation channel is subscribed (retried until Redis is there).</summary>
    public Task Ready { get; }

    private bool LocalUsable => _subscribed && _linkUp;

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        if (LocalUsable && await _local.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } hit)
        {
            return hit;
        }

        // An invalidation that arrives while we read may concern the value we are about to cache: then don't cache it.
        var before = Interlocked.Read(ref _invalidations);
        var value = await _remote.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null && LocalUsable && !CacheKeys.IsSingleUse(key) && Interlocked.Read(ref _invalidations) == before)
        {
            await _local.SetAsync(key, value, _localTtl, cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    public async Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await _remote.SetAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
        if (LocalUsable && !CacheKeys.IsSingleUse(key))
        {
            await _local.SetAsync(key, value, ttl < _localTtl ? ttl : _localTtl, cancellationToken).ConfigureAwait(false);
        }

        await PublishAsync(key).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await _local.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        var existed = await _remote.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        await PublishAsync(key).ConfigureAwait(false);
        return existed;
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        (LocalUsable && await _local.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
        || await _remote.ExistsAsync(key, cancellationToken).ConfigureAwait(false);

    public async Task<bool> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var added = await _remote.AddIfAbsentAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
        if (added && !CacheKeys.IsSingleUse(key))
        {
            await PublishAsync(key).ConfigureAwait(false);
        }

        return added;
    }

    public async Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await _local.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        var value = await _remote.GetAndDeleteAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null)
        {
            await PublishAsync(key).ConfigureAwait(false);
        }

        return value;
    }

    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        await _remote.ClearAsync(cancellationToken).ConfigureAwait(false);
        await _local.ClearAsync(cancellationToken).ConfigureAwait(false);
        await PublishAsync("*").ConfigureAwait(false);
    }

    public async Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) =>
        await _remote.HealthAsync(cancellationToken).ConfigureAwait(false) with { Entries = _local.Count };

    private async Task PublishAsync(string key)
    {
        try
        {
            var multiplexer = await _connection.GetAsync().ConfigureAwait(false);
            await multiplexer.GetSubscriber().PublishAsync(_channel, _instanceId + "\n" + key).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsOutage(e))
        {
            throw new CacheUnavailableException("Redis unavailable: " + RedisErrors.Hint(e), e);
        }
    }

    private async Task SubscribeUntilDoneAsync()
    {
        var multiplexer = await _connection.GetAsync().ConfigureAwait(false);
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

        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await multiplexer.GetSubscriber().SubscribeAsync(_channel, (_, message) => OnInvalidation(message)).ConfigureAwait(false);
                Interlocked.Increment(ref _invalidations);
                await _local.ClearAsync().ConfigureAwait(false);
                _subscribed = true;
                _linkUp = true;
                return;
            }
            catch (Exception e) when (RedisErrors.IsOutage(e))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token).ConfigureAwait(false);
            }
        }
    }

    private void OnInvalidation(RedisValue message)
    {
        var text = (string?)message ?? "";
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0)
        {
            return;
        }

        Interlocked.Increment(ref _invalidations);
        var key = text[(newline + 1)..];
        if (text.AsSpan(0, newline).SequenceEqual(_instanceId))
        {
            return;
        }

        if (key == "*")
        {
            _ = _local.ClearAsync();
        }
        else
        {
            _ = _local.DeleteAsync(key);
        }
    }

    private void Flush(string reason)
    {
        Interlocked.Increment(ref _invalidations);
        _ = _local.ClearAsync();
        Log.LocalCacheFlushed(_logger, reason);
    }

    // Registered under two service types, so disposed twice: cancelling is idempotent, disposing the source is not.
    public async ValueTask DisposeAsync() => await _stopping.CancelAsync().ConfigureAwait(false);
}
