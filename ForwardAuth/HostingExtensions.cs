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
internal static class HostingExtensions
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
        var options = ConfigurationLoader.Load(args, getVariable, out var unknownKeys, out var pluginKeys);
        var minWorkerThreads = ThreadPoolMinimum.Apply(options.MinWorkerThreads);
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
        // Each host logs through its own logger, not the static Log.Logger (which the last host built would own):
        // several hosts in one process (the tests' replicas) keep their own sinks and levels.
        Serilog.SerilogServiceCollectionExtensions.AddSerilog(
            builder.Services,
            (_, logger) =>
            {
                ConfigureLogging(logger, options.LogLevel);
                configureLogging?.Invoke(logger);
            },
            preserveStaticLogger: true);
        builder.Services.AddForwardAuth(options);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        var startupLogger = app.Services.GetRequiredService<ILogger<ForwardAuthOptions>>();
        Log.Starting(startupLogger, BuildInfo.Version, BuildInfo.Commit, BuildInfo.Framework);
        Log.ThreadPoolMinimumSet(startupLogger, minWorkerThreads, options.MinWorkerThreads, Environment.ProcessorCount);
        foreach (var key in unknownKeys)
        {
            Log.UnknownConfigurationKey(startupLogger, key);
        }

        foreach (var notice in pluginKeys)
        {
            Log.PluginKeyNotImplemented(startupLogger, notice.Key, notice.Source, notice.Instead);
        }

        if (options.InsecureSkipVerify)
        {
            Log.ProviderTlsNotVerified(startupLogger);
        }

        if (options.ClientRegistration.Enabled && !options.RegistersClient)
        {
            Log.ClientRegistrationSkipped(startupLogger);
        }

        if (!options.EnablePkce)
        {
            Log.PkceAlwaysOn(startupLogger);
        }

        if (options.Sso is { } sso)
        {
            Log.SsoConfigured(startupLogger, sso.AuthOrigin, string.Join(',', sso.Domains));
            var uncovered = sso.Domains.Where(d => options.CookieDomain.Length > 0 && !SsoOptions.IsUnder(d, options.CookieDomain)).ToList();
            if (uncovered.Count > 0)
            {
                Log.SsoCookieDomainNarrow(startupLogger, options.CookieDomain, string.Join(',', uncovered));
            }
        }

        if (options.PluginRateLimit is { } rateLimit)
        {
            Log.PluginRateLimitIgnored(startupLogger, rateLimit, options.Regulation.MaxRetries);
        }

        // Per request: once one store call met a Redis outage, the others go to the fallback at once (Cache/OutageScope.cs).
        app.Use(async (context, next) =>
        {
            using var scope = OutageScope.Begin();
            await next(context).ConfigureAwait(false);
        });
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
        services.AddSingleton<ClientRegistrar>();
        services.AddSingleton<IClientRegistrationStore, ClientRegistrations>();
        services.AddSingleton(sp => options.RegistersClient
            ? ClientCredentials.Registered(sp.GetRequiredService<ClientRegistrar>())
            : ClientCredentials.Configured(options));
        services.AddSingleton<TokenValidator>();
        services.AddSingleton<TokenIntrospection>();
        services.AddSingleton<BearerTokens>();
        services.AddSingleton<RequestedScopes>();
        services.AddSingleton<OidcClients>();
        services.AddSingleton<OidcProtocol>();
        services.AddSingleton<UserinfoClaims>();
        services.AddForwardAuthStore(options.Redis);
        services.AddSingleton<SessionCookie>();
        services.AddSingleton<SessionTokenPolicy>();

        // Hybrid mode: a token record is read by refresh and logout only, unless a decision forwards a token; then it is
        // read as often as the hot record and earns its L1 entry like it.
        services.AddSingleton(sp => sp.GetRequiredService<SessionTokenPolicy>().ForwardsTokens
            ? LocalCacheBypass.None
            : new LocalCacheBypass([StoreKeys.Tokens + ":"]));
        services.AddSingleton<SessionRecords>();
        services.AddSingleton<Revocations>();
        services.AddSingleton<SessionIndexes>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<LoginCookie>();
        services.AddSingleton<SsoTickets>();
        services.AddSingleton<ReplayGuard>();
        services.AddSingleton<RegulationStore>();
        services.AddSingleton<Regulator>();
        services.AddSingleton<LoginSessions>();
        services.AddSingleton<LoginFlow>();
        services.AddSingleton<SsoFlow>();
        services.AddSingleton<StepUpGate>();
        services.AddSingleton<RefreshLeases>();
        services.AddSingleton<SessionRefresher>();
        services.AddSingleton<CheckLeases>();
        services.AddSingleton<SessionChecker>();
        services.AddSingleton<SessionChecks>();
        services.AddHostedService<SessionCheckSweep>();
        services.AddSingleton<RequestVerifier>();
        services.AddSingleton<LogoutFlow>();
        services.AddSingleton<SessionIds>();
        services.AddSingleton<MySessions>();
        services.AddSingleton<AuthExchange>();
        services.AddSingleton<EndpointLogger>();
        services.AddHostedService<StartupWarmup>();
        services.AddHealthChecks()
            .AddCheck<ProviderHealthCheck>("provider")
            .AddCheck<CacheHealthCheck>("cache")
            .AddCheck<StoreStartupHealthCheck>("store-startup", tags: [StoreStartupHealthCheck.Tag]);
        return services;
    }

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
