using System.Buffers.Binary;
using ForwardAuth.Cache;

namespace ForwardAuth.Sessions;

/// <summary>
/// "One provider check per session per interval, across all replicas": the refresh lease's pattern (a <c>lease:</c>
/// key set only if absent) with the interval as its TTL, neither renewed nor released — it is the record that the
/// session was checked until then. Its value is that moment, so a replica that finds it held knows when the session
/// is next due. While the circuit breaker is open the lease is per replica (best effort, like the refresh lease).
/// </summary>
internal sealed class CheckLeases(ICacheBackend cache, TimeProvider time)
{
    /// <summary>Null when this replica won the check of this interval; otherwise when the session is next due.</summary>
    public async Task<DateTimeOffset?> TryClaimAsync(string handle, TimeSpan interval, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Lease, "check:" + handle);
        var until = time.GetUtcNow() + interval;
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, until.ToUnixTimeMilliseconds());
        if (await cache.AddIfAbsentAsync(key, value, interval, Guarantee.BestEffort, cancellationToken).ConfigureAwait(false) != AddResult.AlreadyPresent)
        {
            return null;
        }

        var held = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return held is { Length: 8 } ? DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(held)) : until;
    }
}
