namespace ForwardAuth.Cache;

/// <summary>
/// The storage seam: the reference document's operations plus the atomic ones the product needs (add-if-absent,
/// get-and-delete, compare-and-renew/delete for leases, set-add for the session indexes of back-channel logout). Keys are
/// <c>&lt;kind&gt;:&lt;id&gt;</c>; a backend adds its own <c>keyPrefix</c>. Implementations throw
/// <see cref="CacheUnavailableException"/> when the store cannot be reached (connection, timeout) and nothing else for
/// an outage; a missing key is a null or false, never an exception. The backend knows nothing of sessions or tokens.
/// </summary>
internal interface ICacheBackend
{
    /// <summary>What the backend is, for logs and the health document (<c>memory</c>, <c>redis</c>, <c>hybrid</c>).</summary>
    string Name { get; }

    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Returns true when the key existed.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key under this backend's prefix, and nothing else.</summary>
    Task ClearAsync(CancellationToken cancellationToken = default);

    Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores the value only if the key is absent; true when this call stored it (single-use markers, leases).</summary>
    Task<bool> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Returns the value and deletes the key in one atomic step; of concurrent callers only one gets it.</summary>
    Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Resets the TTL only while the key still holds <paramref name="expected"/> (a lease its holder renews).</summary>
    Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Deletes the key only while it still holds <paramref name="expected"/> (a lease released by its holder).</summary>
    Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default);

    /// <summary>Adds a member to the set at <paramref name="key"/> and (re)sets the set's TTL.</summary>
    Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>The members of the set at <paramref name="key"/> (empty when absent).</summary>
    Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>The store could not be reached or did not answer in time. The operation's outcome is unknown.</summary>
internal sealed class CacheUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

internal sealed record CacheHealth(bool Healthy, TimeSpan? Latency, string? Problem, long Entries = -1);
