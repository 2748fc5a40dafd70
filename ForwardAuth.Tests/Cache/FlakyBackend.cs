using ForwardAuth.Cache;

namespace ForwardAuth.Tests.Cache;

/// <summary>A hand-written fake store that works, then fails like an unreachable Redis (optionally after N calls).</summary>
internal sealed class FlakyBackend(ICacheBackend inner, int failAfter = int.MaxValue) : ICacheBackend
{
    // Read by the store's background probe while the test thread flips them: atomic and visible across threads.
    private int _calls;
    private int _failAfter = failAfter;
    private int _healthChecks;
    private volatile bool _down;
    private volatile bool _connecting;

    public ICacheBackend Inner { get; } = inner;

    public int FailAfter { get => Volatile.Read(ref _failAfter); set => Volatile.Write(ref _failAfter, value); }

    public bool Down { get => _down; set => _down = value; }

    /// <summary>Fails like a Redis whose first connection is still being made (not an outage).</summary>
    public bool Connecting { get => _connecting; set => _connecting = value; }

    public int Calls => Volatile.Read(ref _calls);

    public int HealthChecks => Volatile.Read(ref _healthChecks);

    public string Name => "flaky";

    private Task Gate()
    {
        if (Connecting)
        {
            throw new CacheUnavailableException("test: first connection still being made", firstConnectPending: true);
        }

        if (Down || Interlocked.Increment(ref _calls) > FailAfter)
        {
            throw new CacheUnavailableException("Redis unavailable: test outage");
        }

        return Task.CompletedTask;
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.GetAsync(key, cancellationToken);
    }

    public async Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await Gate();
        await Inner.SetAsync(key, value, ttl, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.DeleteAsync(key, cancellationToken);
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.ExistsAsync(key, cancellationToken);
    }

    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        await Gate();
        await Inner.ClearAsync(cancellationToken);
    }

    public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _healthChecks);
        if (Connecting)
        {
            return Task.FromResult(new CacheHealth(false, null, "test: first connection still being made", FirstConnectPending: true));
        }

        return Task.FromResult(Down ? new CacheHealth(false, null, "test outage") : new CacheHealth(true, TimeSpan.Zero, null));
    }

    public async Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.AddIfAbsentAsync(key, value, ttl, guarantee, cancellationToken);
    }

    public async Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.GetAndDeleteAsync(key, cancellationToken);
    }

    public async Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.RenewIfValueAsync(key, expected, ttl, cancellationToken);
    }

    public async Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.DeleteIfValueAsync(key, expected, cancellationToken);
    }

    public async Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.IncrementAsync(key, window, cancellationToken);
    }

    public async Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await Gate();
        await Inner.SetAddAsync(key, member, ttl, cancellationToken);
    }

    public async Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default)
    {
        await Gate();
        return await Inner.SetMembersAsync(key, cancellationToken);
    }
}
