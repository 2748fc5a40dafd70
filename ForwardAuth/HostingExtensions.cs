using System.Text;
using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Endpoints;
using ForwardAuth.Observability;
using Log = ForwardAuth.Observability.Log;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace ForwardAuth;

/// <summary>Every registration and the middleware order.</summary>
public static class HostingExtensions
{
    public const string DefaultUrls = "http://0.0.0.0:4181";

    /// <summary>
    /// Builds the application from command-line arguments and environment. Throws <see cref="ConfigurationException"/>
    /// naming every bad key. <paramref name="configureServices"/> lets tests replace a service (e.g. the clock).
    /// </summary>
    public static WebApplication Build(
        string[] args,
        Func<string, string?> getVariable,
        Action<IServiceCollection>? configureServices = null,
        Action<Serilog.LoggerConfiguration>? configureLogging = null)
    {
        var options = ConfigurationLoader.Load(args, getVariable, out var unknownKeys);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(getVariable("ASPNETCORE_URLS")))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // Names and groups may be non-ASCII; send them as UTF-8 rather than fail the response.
            k.ResponseHeaderEncodingSelector = _ => Encoding.UTF8;
        });
        Serilog.SerilogServiceCollectionExtensions.AddSerilog(builder.Services, (_, logger) =>
        {
            ConfigureLogging(logger, options.LogLevel);
            configureLogging?.Invoke(logger);
        });
        builder.Services.AddForwardAuth(options);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        var startupLogger = app.Services.GetRequiredService<ILogger<ForwardAuthOptions>>();
        Log.Starting(startupLogger, BuildInfo.Version, BuildInfo.Commit, BuildInfo.Framework);
        foreach (var key in unknownKeys)
        {
            Log.UnknownConfigurationKey(startupLogger, key);
        }

        app.UseOutageResponses();
        app.MapForwardAuth();
        MetricGauges.Register(app.Services);
        return app;
    }

    internal static IServiceCollection AddForwardAuth(this IServiceCollection services, ForwardAuthOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new ForwardAuthMetrics(Prometheus.Metrics.NewCustomRegistry()));
        services.AddProviderHttpClient(options);
        services.AddSingleton<ProviderMetadata>();
        services.AddSingleton<TokenValidator>();
        services.AddSingleton<OidcProtocol>();
        services.AddCacheBackend(options);
        services.AddSingleton<SessionCookie>();
        services.AddSingleton<SessionRecords>();
        services.AddSingleton<Revocations>();
        services.AddSingleton<SessionIndexes>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<LoginStore>();
        services.AddSingleton<ReplayGuard>();
        services.AddSingleton<LoginFlow>();
        services.AddSingleton<RefreshLeases>();
        services.AddSingleton<SessionRefresher>();
        services.AddSingleton<RequestVerifier>();
        services.AddSingleton<LogoutFlow>();
        services.AddSingleton<AuthExchange>();
        services.AddSingleton<EndpointLogger>();
        services.AddHostedService<StartupWarmup>();
        services.AddHealthChecks()
            .AddCheck<ProviderHealthCheck>("provider")
            .AddCheck<CacheHealthCheck>("cache");
        return services;
    }

    private static void AddCacheBackend(this IServiceCollection services, ForwardAuthOptions options)
    {
        var redis = options.Redis;
        services.AddSingleton(sp => new MemoryCacheBackend(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ICacheBackend>(sp => new MeteredCacheBackend(StoreFor(sp, options), sp.GetRequiredService<ForwardAuthMetrics>()));
        if (!redis.Enabled || redis.CacheMode == CacheMode.Memory)
        {
            return;
        }

        services.AddSingleton(redis);
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<InvalidationChannel>();
        var hybrid = redis.CacheMode == CacheMode.Hybrid;
        services.AddSingleton(sp => new RedisCacheBackend(
            sp.GetRequiredService<RedisConnection>(),
            redis.CommandTimeout,
            hybrid ? sp.GetRequiredService<InvalidationChannel>() : null,
            readFromReplicas: redis.ReadOnly || redis.RouteByLatency || redis.RouteRandomly,
            sp.GetRequiredService<ForwardAuthMetrics>()));
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return new ResilientCacheBackend(
                sp.GetRequiredService<RedisCacheBackend>(),
                sp.GetRequiredService<MemoryCacheBackend>(),
                new CircuitBreaker(redis.CircuitBreakerThreshold, redis.CircuitBreakerTimeout, time),
                new OutageJournal(redis.OutageJournalSize, time),
                options.ReplayProtection,
                redis.CircuitBreakerTimeout,
                redis.HealthCheckInterval,
                time,
                sp.GetRequiredService<ILogger<ResilientCacheBackend>>(),
                sp.GetRequiredService<ForwardAuthMetrics>());
        });
        if (!hybrid)
        {
            return;
        }

        // L1 above the breaker: its hits never touch Redis (see HybridCacheBackend).
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
                sp.GetRequiredService<ForwardAuthMetrics>());
        });
    }

    // memory → the in-process store; redis → Redis behind the breaker; hybrid → L1 above that.
    private static ICacheBackend StoreFor(IServiceProvider sp, ForwardAuthOptions options) =>
        !options.Redis.Enabled || options.Redis.CacheMode == CacheMode.Memory ? sp.GetRequiredService<MemoryCacheBackend>()
        : options.Redis.CacheMode == CacheMode.Hybrid ? sp.GetRequiredService<HybridCacheBackend>()
        : sp.GetRequiredService<ResilientCacheBackend>();

    private static void ConfigureLogging(Serilog.LoggerConfiguration logger, string level)
    {
        var minimum = level.ToLowerInvariant() switch
        {
            "debug" => LogEventLevel.Debug,
            "warn" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            _ => LogEventLevel.Information,
        };

        // Framework request logs would print callback URLs (code, state): keep them at Warning whatever the level.
        logger.MinimumLevel.Is(minimum)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Console(new RenderedCompactJsonFormatter());
    }
}
