using System.Net;
using ForwardAuth.Configuration.HeaderTemplates;

namespace ForwardAuth.Configuration;

/// <summary>The validated configuration, bound once at start (see <see cref="SettingsCatalogue"/>).</summary>
internal sealed record ForwardAuthOptions
{
    public required Uri ProviderUrl { get; init; }
    public required string ClientId { get; init; }
    public required string ClientSecret { get; init; }
    public required TokenEndpointAuth TokenEndpointAuth { get; init; }

    /// <summary><c>dynamicClientRegistration</c>: in use when enabled and <see cref="ClientId"/> is empty.</summary>
    public ClientRegistrationOptions ClientRegistration { get; init; } = ClientRegistrationOptions.Disabled;

    /// <summary>The client registers itself at the provider (RFC 7591) instead of using clientID/clientSecret.</summary>
    public bool RegistersClient => ClientRegistration.Enabled && ClientId.Length == 0;
    public required IReadOnlyList<string> Scopes { get; init; }

    /// <summary><c>authorizeParams</c>: extra authorization request parameters (never a protocol parameter).</summary>
    public IReadOnlyDictionary<string, string> AuthorizeParams { get; init; } = new Dictionary<string, string>();
    public required string Audience { get; init; }
    public required string CaCertPath { get; init; }
    public required bool AllowHttpProvider { get; init; }
    public required string CallbackUrl
    {
        get;
        init
        {
            field = value;
            AbsoluteCallbackUrl = ConfigurationLoader.TryAbsoluteUri(value, out var u) && u.Scheme.StartsWith("http", StringComparison.Ordinal) ? u : null;
            CallbackPath = AbsoluteCallbackUrl?.AbsolutePath ?? value;
        }
    }
    public required string LogoutPath { get; init; }
    public required string LoginPath { get; init; }
    public required string PostLogoutRedirectUri { get; init; }
    public required string BackchannelLogoutPath { get; init; }
    public bool EnableFrontchannelLogout { get; init; }

    /// <summary>One login across domains (<c>authURL</c> + <c>ssoDomains</c>); null when off.</summary>
    public SsoOptions? Sso { get; init; }
    public required string FrontchannelLogoutPath { get; init; }

    public required IReadOnlyList<string> SessionEncryptionKeys { get; init; }
    public required string CookieDomain { get; init; }
    public required string CookiePrefix { get; init; }
    public required TimeSpan SessionMaxAge { get; init; }
    public required TimeSpan SessionIdleTimeout { get; init; }
    public required TimeSpan SessionActivityInterval { get; init; }
    public required bool ForceHttps { get; init; }
    public required TimeSpan RefreshGracePeriod { get; init; }
    public required TimeSpan RefreshLeaseTtl { get; init; }
    public required TimeSpan RefreshWait { get; init; }
    public required bool StripAuthCookies { get; init; }

    /// <summary>How often each active session is checked at the provider (refresh or userinfo); zero: never.</summary>
    public TimeSpan SessionCheckInterval { get; init; }

    public required string UserIdentifierClaim { get; init; }
    public required string RoleClaimName { get; init; }
    public required string GroupClaimName { get; init; }

    /// <summary>Separator of group/role claims sent as one delimited string; empty: such a string is one value.</summary>
    public string ClaimSeparator { get; init; } = "";

    /// <summary>Merge the userinfo endpoint's claims into the identity after the code exchange and each refresh.</summary>
    public bool ClaimsFromUserinfo { get; init; }
    public required IReadOnlyList<string> AllowedUsers { get; init; }
    public required IReadOnlyList<string> AllowedUserDomains { get; init; }
    public required IReadOnlyList<string> AllowedRolesAndGroups { get; init; }
    public required IReadOnlyList<string> ExcludedUrls { get; init; }
    public required bool PassAuthorizationHeader { get; init; }
    public required IReadOnlyList<ClaimHeader> ClaimHeaders { get; init; }
    public required bool AllowCorsPreflight { get; init; }

    /// <summary>The plugin's <c>minimalHeaders</c>: the identity headers that repeat <c>X-Forwarded-User</c> are sent empty.</summary>
    public bool MinimalHeaders { get; init; }

    /// <summary>The plugin's <c>strictAudienceValidation</c>: a login whose JWT access token is for another audience is refused.</summary>
    public bool StrictAudienceValidation { get; init; }

    /// <summary><c>allowOpaqueTokens</c>: bearer tokens that are not JWTs are introspected (RFC 7662).</summary>
    public bool AllowOpaqueTokens { get; init; }

    /// <summary><c>requireTokenIntrospection</c>: JWT bearer tokens are introspected too.</summary>
    public bool RequireTokenIntrospection { get; init; }

    /// <summary>Inline PEM CA certificates for the provider's TLS (<c>caCertPEM</c>), added to <c>caCertPath</c>'s.</summary>
    public string CaCertPem { get; init; } = "";

    /// <summary>Accept any provider certificate (<c>insecureSkipVerify</c>; development only, a Warning at start).</summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary><c>revocationURL</c>: used instead of discovery's revocation endpoint when not empty.</summary>
    public string RevocationUrl { get; init; } = "";

    /// <summary><c>oidcEndSessionURL</c>: used instead of discovery's end-session endpoint when not empty.</summary>
    public string EndSessionUrl { get; init; } = "";

    /// <summary>The plugin's <c>enablePKCE</c> as configured: PKCE is always used; false is only reported at start.</summary>
    public bool EnablePkce { get; init; } = true;

    /// <summary>The plugin's <c>headers</c>: templates compiled at start, and the claims they read.</summary>
    internal HeaderTemplateSet HeaderTemplates { get; init; } = HeaderTemplateSet.None;

    public required bool DisableReplayDetection { get; init; }
    public required ReplayProtection ReplayProtection { get; init; }
    public required TimeSpan JtiCacheTtl { get; init; }
    public required TimeSpan TokenMetadataTtl { get; init; }

    public required IReadOnlyList<IPNetwork> TrustedProxies { get; init; }
    public required string LogLevel { get; init; }

    /// <summary>The thread pool's minimum of worker threads (0: the runtime's default); see <see cref="ThreadPoolMinimum"/>.</summary>
    public required int MinWorkerThreads { get; init; }
    public required RedisOptions Redis { get; init; }
    public required RegulationOptions Regulation { get; init; }

    /// <summary>The traefikoidc plugin's <c>rateLimit</c> when a source set it (accepted, no effect: a warning at start).</summary>
    public long? PluginRateLimit { get; init; }

    /// <summary>The absolute callback URL when ForwardAuth runs on its own auth host, else null.</summary>
    public Uri? AbsoluteCallbackUrl { get; private init; }

    /// <summary>The callback's path: compared with every forwarded request, so derived once here, not per request.</summary>
    public string CallbackPath { get; private init; } = "";
}

internal sealed record RedisOptions
{
    public required bool Enabled { get; init; }
    public required string Address { get; init; }
    public required string Password { get; init; }
    public required string Username { get; init; }
    public required int Db { get; init; }
    public required string KeyPrefix { get; init; }
    public required CacheMode CacheMode { get; init; }
    public required int MaxRetries { get; init; }
    public required int PoolSize { get; init; }
    public required int MinIdleConns { get; init; }
    public required TimeSpan MaxConnAge { get; init; }
    public required TimeSpan PoolTimeout { get; init; }
    public required TimeSpan IdleTimeout { get; init; }
    public required TimeSpan DialTimeout { get; init; }
    public required TimeSpan ReadTimeout { get; init; }
    public required TimeSpan WriteTimeout { get; init; }
    public required int CircuitBreakerThreshold { get; init; }
    public required TimeSpan CircuitBreakerTimeout { get; init; }
    public required RedisTlsOptions Tls { get; init; }
    public required bool ClusterMode { get; init; }
    public required int MaxRedirects { get; init; }
    public required bool ReadOnly { get; init; }
    public required bool RouteByLatency { get; init; }
    public required bool RouteRandomly { get; init; }
    public required string SentinelMasterName { get; init; }
    public required TimeSpan HealthCheckInterval { get; init; }
    public required int LocalCacheMaxEntries { get; init; }
    public required TimeSpan LocalCacheTtl { get; init; }
    public required int OutageJournalSize { get; init; }

    /// <summary>The bound of one command round trip: the longer of the read and write timeouts.</summary>
    public TimeSpan CommandTimeout => ReadTimeout > WriteTimeout ? ReadTimeout : WriteTimeout;
}

/// <summary>Regulation: <paramref name="MaxRetries"/> invalid credentials within <paramref name="FindTime"/> ban a client for <paramref name="BanTime"/>; 0 turns it off.</summary>
internal sealed record RegulationOptions(int MaxRetries, TimeSpan FindTime, TimeSpan BanTime)
{
    public bool Enabled => MaxRetries > 0;
}

internal sealed record RedisTlsOptions(bool Enabled, string CertFile, string KeyFile, string CaFile, bool InsecureSkipVerify);

internal sealed record ClaimHeader(string HeaderName, string ClaimPath);

internal enum CacheMode
{
    Memory,
    Redis,
    Hybrid,
}

internal enum TokenEndpointAuth
{
    ClientSecretBasic,
    ClientSecretPost,
}

internal enum ReplayProtection
{
    Local,
    Closed,
}
