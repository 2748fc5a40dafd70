using ForwardAuth.Observability;

namespace ForwardAuth.Cache;

/// <summary>
/// The outermost store the service talks to, counting reads and hits (<c>traefikoidc_cache_requests_total</c>,
/// <c>traefikoidc_cache_hits_total</c>, whose ratio is the reference document's hit rate). Everything else passes through.
/// </summary>
internal sealed class MeteredCacheBackend(ICacheBackend inner, ForwardAuthMetrics metrics) : ICacheBackend
{
    public string Name => inner.Name;

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var value = await inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
        Count(value is not null);
        return value;
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        var exists = await inner.ExistsAsync(key, cancellationToken).ConfigureAwait(false);
        Count(exists);
        return exists;
    }

    public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default) => inner.SetAsync(key, value, ttl, cancellationToken);

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public Task ClearAsync(CancellationToken cancellationToken = default) => inner.ClearAsync(cancellationToken);

    public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) => inner.HealthAsync(cancellationToken);

    public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) =>
        inner.AddIfAbsentAsync(key, value, ttl, guarantee, cancellationToken);

    public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default) => inner.GetAndDeleteAsync(key, cancellationToken);

    public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        inner.RenewIfValueAsync(key, expected, ttl, cancellationToken);

    public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default) =>
        inner.DeleteIfValueAsync(key, expected, cancellationToken);

    public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) =>
        inner.IncrementAsync(key, window, cancellationToken);

    public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        inner.SetAddAsync(key, member, ttl, cancellationToken);

    public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) =>
        inner.SetMembersAsync(key, cancellationToken);

    private void Count(bool hit)
    {
        metrics.CacheRequests.Inc();
        if (hit)
        {
            metrics.CacheHits.Inc();
        }
    }
}
