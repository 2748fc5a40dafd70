using ForwardAuth.Cache;
using ForwardAuth.Oidc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Observability;

/// <summary>The service can decide only once the provider's metadata (issuer, JWKS, endpoints) is loaded.</summary>
internal sealed class ProviderHealthCheck(ProviderMetadata metadata) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(metadata.IsLoaded
            ? HealthCheckResult.Healthy("OpenID provider metadata loaded")
            : HealthCheckResult.Unhealthy("OpenID provider metadata not loaded yet"));
}

/// <summary>
/// The shared store: a PING to Redis. Unreachable is <em>degraded</em>, never unhealthy — the service still decides
/// (memory fallback, sealed cookies), so a Redis outage must not take replicas out of their Service.
/// </summary>
internal sealed class CacheHealthCheck(ICacheBackend cache) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = await cache.HealthAsync(cancellationToken).ConfigureAwait(false);
        var data = new Dictionary<string, object> { ["health"] = health };
        return health.Healthy
            ? HealthCheckResult.Healthy("store reachable", data)
            : HealthCheckResult.Degraded(health.Problem ?? "store unreachable", data: data);
    }
}
