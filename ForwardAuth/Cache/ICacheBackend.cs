namespace ForwardAuth.Cache;

/// <summary>
/// The storage seam. Plain operations (get, set, delete, exists, sets) may be answered by a local L1 in hybrid mode.
/// Atomic operations (add-if-absent, get-and-delete, renew/delete-if-value) always go to the store that decides for
/// every replica — never to an L1 — or, while the circuit breaker is open, to this replica's memory, unless the caller
/// asked for <see cref="Guarantee.AcrossReplicas"/>. Keys are <c>&lt;kind&gt;:&lt;id&gt;</c> chosen by the caller; a
/// backend adds its own <c>keyPrefix</c> and gives no kind a meaning. A missing key is a null or false, never an
/// exception. Single layers throw <see cref="CacheUnavailableException"/> when the store cannot be reached; the composed
/// store (<see cref="StoreServiceCollectionExtensions.AddForwardAuthStore"/>) absorbs those in its resilient layer.
/// </summary>
internal interface ICacheBackend
{
    /// <summary>What the backend is, for logs (<c>memory</c>, <c>redis</c>, <c>hybrid</c>).</summary>
    string Name { get; }

    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Returns true when the key existed.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key under this backend's prefix, and nothing else.</summary>
    Task ClearAsync(CancellationToken cancellationToken = default);

    Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores the value only if the key is absent, atomically. With <see cref="Guarantee.AcrossReplicas"/> the answer is
    /// <see cref="AddResult.CannotGuarantee"/> (and nothing is written) when only this replica's memory could decide.
    /// </summary>
    Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default);

    /// <summary>Returns the value and deletes the key in one atomic step; of concurrent callers only one gets it.</summary>
    Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Resets the TTL only while the key still holds <paramref name="expected"/> (compare-and-renew).</summary>
    Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Deletes the key only while it still holds <paramref name="expected"/> (compare-and-delete).</summary>
    Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds one to the counter at <paramref name="key"/> atomically and returns the new count. The counter that this call
    /// creates (count 1) lives <paramref name="window"/>; later increments keep that expiry (a fixed window). Never
    /// answered from L1; while the breaker is open it counts in this replica's memory (not journalled).
    /// </summary>
    Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default);

    /// <summary>Adds a member to the set at <paramref name="key"/> and (re)sets the set's TTL.</summary>
    Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>The members of the set at <paramref name="key"/> (empty when absent).</summary>
    Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>How far an atomic add must hold for its answer to count.</summary>
internal enum Guarantee
{
    /// <summary>Across replicas while the shared store answers; this replica's memory (journalled) while it does not.</summary>
    BestEffort,

    /// <summary>Across replicas or not at all: while only this replica's memory could decide, nothing is written.</summary>
    AcrossReplicas,
}

/// <summary>What an add-if-absent did.</summary>
internal enum AddResult
{
    Added,
    AlreadyPresent,

    /// <summary>The shared store cannot be reached and the caller required <see cref="Guarantee.AcrossReplicas"/>.</summary>
    CannotGuarantee,
}

/// <summary>
/// The store could not be reached or did not answer in time. The operation's outcome is unknown.
/// <see cref="FirstConnectPending"/>: the process's first connection to Redis was still being made — not an outage,
/// so the circuit breaker does not count it.
/// </summary>
internal sealed class CacheUnavailableException(string message, Exception? inner = null, bool firstConnectPending = false) : Exception(message, inner)
{
    public bool FirstConnectPending { get; } = firstConnectPending;
}

/// <summary>A health probe's answer; <see cref="FirstConnectPending"/> as on <see cref="CacheUnavailableException"/>.</summary>
internal sealed record CacheHealth(bool Healthy, TimeSpan? Latency, string? Problem, bool FirstConnectPending = false);
