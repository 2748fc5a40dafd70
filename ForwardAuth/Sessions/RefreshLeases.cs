using System.Security.Cryptography;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// "One refresh per session at a time, across all replicas": a lease in the shared store (<c>lease:</c>, set only if
/// absent, short TTL). Its holder renews it every third of its TTL while the provider is slow — only while it still
/// holds it — and releases it when done. While the circuit breaker is open the lease is per replica.
/// </summary>
internal sealed class RefreshLeases(ICacheBackend cache, ForwardAuthOptions options, TimeProvider time)
{
    public async Task<RefreshLease?> TryAcquireAsync(string handle, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Lease, "refresh:" + handle);
        var owner = RandomNumberGenerator.GetBytes(16);
        // Best effort: while the shared store is unreachable the lease is this replica's (refreshes are not single-use).
        return await cache.AddIfAbsentAsync(key, owner, options.RefreshLeaseTtl, Guarantee.BestEffort, cancellationToken).ConfigureAwait(false) == AddResult.Added
            ? new RefreshLease(cache, key, owner, options.RefreshLeaseTtl, time)
            : null;
    }
}

internal sealed class RefreshLease : IAsyncDisposable
{
    private readonly ICacheBackend _cache;
    private readonly string _key;
    private readonly byte[] _owner;
    private readonly CancellationTokenSource _done = new();
    private readonly Task _renewal;

    public RefreshLease(ICacheBackend cache, string key, byte[] owner, TimeSpan ttl, TimeProvider time)
    {
        _cache = cache;
        _key = key;
        _owner = owner;
        _renewal = RenewAsync(ttl, time);
    }

    /// <summary>False once a renewal found the lease gone or taken (the store lost it); the holder should not write then.</summary>
    public bool Held { get; private set; } = true;

    private async Task RenewAsync(TimeSpan ttl, TimeProvider time)
    {
        try
        {
            while (Held)
            {
                await Task.Delay(ttl / 3, time, _done.Token).ConfigureAwait(false);
                Held = await _cache.RenewIfValueAsync(_key, _owner, ttl, _done.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _done.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
        _done.Dispose();
        // While Redis is unreachable this releases the replica's own lease; Redis's copy expires on its own.
        await _cache.DeleteIfValueAsync(_key, _owner).ConfigureAwait(false);
    }
}
