using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>What a single-use check found.</summary>
internal enum SingleUse
{
    /// <summary>The first use: go on.</summary>
    First,

    /// <summary>Used before: a replay.</summary>
    Replayed,

    /// <summary>
    /// The shared store is unreachable and <c>replayProtection: closed</c> refuses to decide from this replica's memory:
    /// answer "temporarily unavailable".
    /// </summary>
    CannotGuarantee,
}

/// <summary>
/// Single-use markers (login <c>state</c>, ID-token and logout-token <c>jti</c>): the first use across all replicas wins, every later one
/// is a replay. While the shared store is unreachable, <c>replayProtection: local</c> decides from this replica's
/// memory and <c>closed</c> answers <see cref="SingleUse.CannotGuarantee"/>.
/// </summary>
internal sealed class ReplayGuard(ICacheBackend cache, ForwardAuthOptions options, ILogger<ReplayGuard> logger)
{
    private static readonly byte[] Marker = "1"u8.ToArray();

    private readonly Guarantee _guarantee = options.ReplayProtection == ReplayProtection.Closed ? Guarantee.AcrossReplicas : Guarantee.BestEffort;

    /// <summary>Records the use of <paramref name="id"/> for <paramref name="ttl"/> and says whether it was the first.</summary>
    public Task<SingleUse> TryUseOnceAsync(string id, TimeSpan ttl, CancellationToken cancellationToken) =>
        TryUseOnceAsync(id, ttl, _guarantee, cancellationToken);

    /// <summary>
    /// Consumes a login's <c>state</c> (its marker is the one store write of a login before its session). As any marker
    /// under <c>replayProtection</c>, except with <c>disableReplayDetection</c>: then no ID-token marker follows, and the
    /// state stays single-use from this replica's memory during an outage, as the pending-login record did when it
    /// lived in the store (a replay elsewhere meets the provider's single-use code).
    /// </summary>
    public Task<SingleUse> TryUseStateOnceAsync(string state, TimeSpan ttl, CancellationToken cancellationToken) =>
        TryUseOnceAsync("state:" + state, ttl, options.DisableReplayDetection ? Guarantee.BestEffort : _guarantee, cancellationToken);

    private async Task<SingleUse> TryUseOnceAsync(string id, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken)
    {
        switch (await cache.AddIfAbsentAsync(StoreKeys.For(StoreKeys.Once, id), Marker, ttl, guarantee, cancellationToken).ConfigureAwait(false))
        {
            case AddResult.Added:
                return SingleUse.First;
            case AddResult.AlreadyPresent:
                return SingleUse.Replayed;
            default:
                Log.SingleUseRefusedWhileOpen(logger);
                return SingleUse.CannotGuarantee;
        }
    }
}
