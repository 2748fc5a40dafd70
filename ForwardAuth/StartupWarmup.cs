using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Oidc;

namespace ForwardAuth;

/// <summary>
/// Loads the provider metadata (readiness) and opens the Redis connection in the background, retrying until both
/// work. Neither blocks start-up: the process never exits or crash-loops because a dependency is late.
/// </summary>
internal sealed class StartupWarmup(
    ProviderMetadata metadata,
    ForwardAuthOptions options,
    IServiceProvider services,
    TimeProvider time,
    ILogger<StartupWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (services.GetService<RedisConnection>() is { } redis)
        {
            _ = redis.GetAsync();
            _ = services.GetService<HybridCacheBackend>();
            Log.ReplayProtectionMode(logger, options.ReplayProtection.ToString().ToLowerInvariant());
        }
        else if (options.Redis.Enabled)
        {
            Log.RedisEnabledButMemoryMode(logger);
        }
        else
        {
            Log.RedisDisabled(logger);
        }

        var delay = TimeSpan.FromMilliseconds(500);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var configuration = await metadata.GetAsync(stoppingToken);
                Log.DiscoveryLoaded(logger, configuration.Issuer);
                return;
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
