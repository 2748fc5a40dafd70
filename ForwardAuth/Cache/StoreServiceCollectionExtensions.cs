using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ForwardAuth.Cache;

/// <summary>
/// The one composition of the store, used by the host and the tests alike. The mode is decided here and nowhere else:
/// <list type="bullet">
/// <item><c>memory</c> (Redis disabled, or <c>cacheMode: memory</c>): metered → memory.</item>
/// <item><c>redis</c>: metered → resilient (breaker, memory fallback, outage journal) → Redis.</item>
/// <item><c>hybrid</c>: metered → L1 + pub/sub invalidation → resilient → Redis (L1 hits never touch the breaker).</item>
/// </list>
/// Also registers the store's background work (<see cref="StoreBackgroundService"/>) and its diagnostics view
/// (<see cref="IStoreDiagnostics"/>) for health and metrics.
/// </summary>
internal static class StoreServiceCollectionExtensions
{
    /// <summary>
    /// The key of the shared store below the resilient layer (Redis). A test may register its own (a failing fake) under
    /// this key to run the production stack over it.
    /// </summary>
    public const string SharedStoreKey = "forwardauth.shared-store";

    /// <summary>The store's mode: <see cref="CacheMode.Memory"/> whenever Redis is disabled.</summary>
    public static CacheMode EffectiveMode(RedisOptions redis) => redis.Enabled ? redis.CacheMode : CacheMode.Memory;

    public static IServiceCollection AddForwardAuthStore(this IServiceCollection services, RedisOptions redis)
    {
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new ForwardAuthMetrics(Prometheus.Metrics.NewCustomRegistry()));
        services.AddSingleton(redis);
        var mode = EffectiveMode(redis);

        // The whole store in memory mode, the fallback behind the breaker otherwise.
        services.AddSingleton(sp => new MemoryCacheBackend(sp.GetRequiredService<TimeProvider>()));
        if (mode == CacheMode.Memory)
        {
            services.AddSingleton<ICacheBackend>(sp => Metered(sp, sp.GetRequiredService<MemoryCacheBackend>()));
            services.AddSingleton<IStoreDiagnostics>(sp => new ComposedStoreDiagnostics(mode, sp.GetRequiredService<ICacheBackend>(), sp.GetRequiredService<MemoryCacheBackend>()));
            services.AddHostedService(sp => new StoreBackgroundService(redis, null, null, null, sp.GetRequiredService<ILogger<StoreBackgroundService>>()));
            return services;
        }

        var hybrid = mode == CacheMode.Hybrid;
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<InvalidationChannel>();
        services.TryAddKeyedSingleton<ICacheBackend>(SharedStoreKey, (sp, _) => new RedisCacheBackend(
            sp.GetRequiredService<RedisConnection>(),
            redis.CommandTimeout,
            hybrid ? sp.GetRequiredService<InvalidationChannel>() : null,
            readFromReplicas: redis.ReadOnly || redis.RouteByLatency || redis.RouteRandomly,
            sp.GetRequiredService<ForwardAuthMetrics>()));
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return new ResilientCacheBackend(
                sp.GetRequiredKeyedService<ICacheBackend>(SharedStoreKey),
                sp.GetRequiredService<MemoryCacheBackend>(),
                new CircuitBreaker(redis.CircuitBreakerThreshold, redis.CircuitBreakerTimeout, time),
                new OutageJournal(redis.OutageJournalSize, time),
                redis.CircuitBreakerTimeout,
                redis.HealthCheckInterval,
                time,
                sp.GetRequiredService<ILogger<ResilientCacheBackend>>(),
                sp.GetRequiredService<ForwardAuthMetrics>());
        });
        if (hybrid)
        {
            services.AddSingleton(sp =>
            {
                var resilient = sp.GetRequiredService<ResilientCacheBackend>();
                return new HybridCacheBackend(
                    resilient,
                    sp.GetRequiredService<RedisConnection>(),
                    sp.GetRequiredService<InvalidationChannel>(),
                    new MemoryCacheBackend(sp.GetRequiredService<TimeProvider>(), redis.LocalCacheMaxEntries),
                    redis.LocalCacheTtl,
                    resilient.Breaker,
                    sp.GetRequiredService<ILogger<HybridCacheBackend>>(),
                    sp.GetRequiredService<ForwardAuthMetrics>(),
                    sp.GetService<LocalCacheBypass>());
            });
        }

        services.AddSingleton<ICacheBackend>(sp => Metered(sp, hybrid ? sp.GetRequiredService<HybridCacheBackend>() : sp.GetRequiredService<ResilientCacheBackend>()));
        services.AddSingleton<IStoreDiagnostics>(sp => new ComposedStoreDiagnostics(
            mode,
            sp.GetRequiredService<ICacheBackend>(),
            sp.GetRequiredService<MemoryCacheBackend>(),
            sp.GetRequiredService<ResilientCacheBackend>(),
            hybrid ? sp.GetRequiredService<HybridCacheBackend>() : null,
            SharedIsRedis(sp) ? sp.GetRequiredService<RedisConnection>() : null));
        services.AddHostedService(sp => new StoreBackgroundService(
            redis,
            SharedIsRedis(sp) ? sp.GetRequiredService<RedisConnection>() : null,
            sp.GetRequiredService<ResilientCacheBackend>(),
            hybrid ? sp.GetRequiredService<HybridCacheBackend>() : null,
            sp.GetRequiredService<ILogger<StoreBackgroundService>>()));
        return services;
    }

    private static MeteredCacheBackend Metered(IServiceProvider sp, ICacheBackend store) => new(store, sp.GetRequiredService<ForwardAuthMetrics>());

    // Only a real Redis below the breaker has a connection to open (a test may put a fake there).
    private static bool SharedIsRedis(IServiceProvider sp) => sp.GetRequiredKeyedService<ICacheBackend>(SharedStoreKey) is RedisCacheBackend;
}
