using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Oidc;

/// <summary>The service can decide only once the provider's metadata (issuer, JWKS, endpoints) is loaded.</summary>
internal sealed class ProviderHealthCheck(ProviderMetadata metadata) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(metadata.IsLoaded
            ? HealthCheckResult.Healthy("OpenID provider metadata loaded")
            : HealthCheckResult.Unhealthy("OpenID provider metadata not loaded yet"));
}
