using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Observability;

/// <summary>
/// Readiness only (tag <see cref="Tag"/>; <c>/health</c> leaves it out): not ready while the first connection attempt
/// to Redis runs, bounded (twice <c>redis.dialTimeout</c>) — so no traffic arrives before the store could be used,
/// and a Redis that is really down still leaves the replica ready, and degraded.
/// </summary>
internal sealed class StoreStartupHealthCheck(IStoreDiagnostics store) : IHealthCheck
{
    public const string Tag = "startup";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.AwaitingFirstConnect
            ? HealthCheckResult.Unhealthy("the first connection to Redis is still being made")
            : HealthCheckResult.Healthy("the store's first connection attempt has finished"));
}

/// <summary>
/// The shared store: a PING to Redis, and what the circuit breaker believes. Unreachable, or the breaker open or
/// half-open, is <em>degraded</em>, never unhealthy — the service still decides (memory fallback, sealed cookies), so
/// a Redis outage must not take replicas out of their Service. The probe and snapshot go into the result's data for
/// the health document.
/// </summary>
internal sealed class CacheHealthCheck(IStoreDiagnostics store) : IHealthCheck
{
    public const string ProbeKey = "probe";
    public const string SnapshotKey = "snapshot";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = await store.ProbeAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = store.Snapshot();
        var data = new Dictionary<string, object> { [ProbeKey] = probe, [SnapshotKey] = snapshot };
        if (!probe.Reachable)
        {
            return HealthCheckResult.Degraded(probe.Problem ?? "store unreachable", data: data);
        }

        return snapshot.BreakerClosed
            ? HealthCheckResult.Healthy("store reachable", data)
            : HealthCheckResult.Degraded(BreakerProblem(snapshot), data: data);
    }

    /// <summary>Why a reachable Redis is still not used: the breaker's state and what waits in the outage journal.</summary>
    public static string BreakerProblem(StoreSnapshot snapshot) =>
        $"circuit breaker {snapshot.Breaker!.State}: serving from memory, {snapshot.Journal?.Entries ?? 0} write(s) in the outage journal";
}
