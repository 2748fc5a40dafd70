using ForwardAuth.Cache;

namespace ForwardAuth.Tests.Cache;

/// <summary>A hand-written fake store that works, then fails like an unreachable Redis (optionally after N calls).</summary>
internal sealed class FlakyBackend(ICacheBackend inner, int failAfter = int.MaxValue) : ICacheBackend
{
    private int _calls;

    public ICacheBackend Inner { get; } = inner;

    public int FailAfter { get; set; } = failAfter;

    public bool Down { get; set; }

    public int Calls => _calls;

    public int HealthChecks { get; private set; }

    public string Name => "flaky";

    private Task Gate()
    {
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
        HealthChecks++;
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
