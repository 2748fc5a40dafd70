using ForwardAuth.Cache;

namespace ForwardAuth.Sessions;

/// <summary>Single-use markers (ID-token <c>jti</c>): the first use across all replicas wins, every later one is a replay.</summary>
internal sealed class ReplayGuard(ICacheBackend cache)
{
    private static readonly byte[] Marker = "1"u8.ToArray();

    /// <summary>True when this is the first use of <paramref name="id"/> within <paramref name="ttl"/>.</summary>
    public Task<bool> TryUseOnceAsync(string id, TimeSpan ttl, CancellationToken cancellationToken) =>
        cache.AddIfAbsentAsync(CacheKeys.For(CacheKeys.Once, id), Marker, ttl, cancellationToken);
}
