using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Oidc;

namespace ForwardAuth;

/// <summary>
/// Loads the provider metadata (readiness) and, with dynamic client registration, the client, in the background,
/// retrying until it works; it never blocks start-up: the
/// process never exits or crash-loops because a dependency is late. (The store's own background work — the Redis
/// connection, pub/sub, the breaker's monitor — is the store composition's hosted service.)
/// </summary>
internal sealed class StartupWarmup(
    ProviderMetadata metadata,
    RequestedScopes scopes,
    ClientCredentials credentials,
    ForwardAuthOptions options,
    IStoreDiagnostics store,
    TimeProvider time,
    ILogger<StartupWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Snapshot().UsesRedis)
        {
            Log.ReplayProtectionMode(logger, options.ReplayProtection.ToString().ToLowerInvariant());
        }

        var delay = TimeSpan.FromMilliseconds(500);
        var discovered = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!discovered)
                {
                    var configuration = await metadata.GetAsync(stoppingToken);
                    Log.DiscoveryLoaded(logger, configuration.Issuer);
                    scopes.For(configuration); // a scope the provider does not list is reported now, not at the first login
                    discovered = true;
                }

                // With dynamicClientRegistration: registered (or read from the store) now, not at the first login.
                // The registrar logs its own failures.
                await credentials.GetAsync(stoppingToken);
                return;
            }
            catch (HttpRequestException) when (discovered)
            {
                // Registration failed; ClientRegistrar logged why. Tried again after the delay.
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
            {
                Log.DiscoveryFailed(logger, options.ProviderUrl.AbsoluteUri, e.GetBaseException().Message);
            }

            await Task.Delay(delay, time, stoppingToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }
}
