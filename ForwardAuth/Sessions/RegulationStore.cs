using System.Globalization;
using System.Text;
using ForwardAuth.Cache;

namespace ForwardAuth.Sessions;

/// <summary>
/// Regulation's state in the shared store, per client address (hashed into the key like every id): a failure counter
/// (<c>failures:</c>, an atomic increment whose window starts with the first failure) and a ban (<c>ban:</c>, its end
/// as Unix milliseconds, added once). Every replica reads and counts the same keys; while the breaker is open each
/// replica counts in its own memory.
/// </summary>
internal sealed class RegulationStore(ICacheBackend cache, TimeProvider time)
{
    /// <summary>How long the client's ban still runs, or null when it is not banned.</summary>
    public async Task<TimeSpan?> BanLeftAsync(string client, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Ban, client);
        // The existence answer may come from a hybrid L1 (a ban added anywhere is announced and drops it), so a client
        // that is not banned costs no Redis round trip there; the value is read only for a ban.
        if (!await cache.ExistsAsync(key, cancellationToken).ConfigureAwait(false)
            || await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } value
            || !long.TryParse(Encoding.ASCII.GetString(value), NumberStyles.None, CultureInfo.InvariantCulture, out var endsAt))
        {
            return null;
        }

        var left = DateTimeOffset.FromUnixTimeMilliseconds(endsAt) - time.GetUtcNow();
        return left > TimeSpan.Zero ? left : null;
    }

    /// <summary>Counts one failure of the client; returns the failures within the current window.</summary>
    public Task<long> CountFailureAsync(string client, TimeSpan window, CancellationToken cancellationToken) =>
        cache.IncrementAsync(StoreKeys.For(StoreKeys.Failures, client), window, cancellationToken);

    /// <summary>
    /// Bans the client for <paramref name="banTime"/> unless it is already banned; true for the one call (of all
    /// replicas) that added the ban. The failure counter starts again afterwards.
    /// </summary>
    public async Task<bool> BanAsync(string client, TimeSpan banTime, CancellationToken cancellationToken)
    {
        var endsAt = (time.GetUtcNow() + banTime).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var added = await cache.AddIfAbsentAsync(StoreKeys.For(StoreKeys.Ban, client), Encoding.ASCII.GetBytes(endsAt), banTime, Guarantee.BestEffort, cancellationToken)
            .ConfigureAwait(false) == AddResult.Added;
        if (added)
        {
            await cache.DeleteAsync(StoreKeys.For(StoreKeys.Failures, client), cancellationToken).ConfigureAwait(false);
        }

        return added;
    }
}
