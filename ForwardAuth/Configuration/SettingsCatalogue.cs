namespace ForwardAuth.Configuration;

/// <summary>
/// Every configuration key ForwardAuth reads. The configuration table of docs/configuration.md, the environment
/// names and the deployment checks are all derived from this one list.
/// </summary>
internal static class SettingsCatalogue
{
    public const string DefaultTrustedProxies =
        "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

    public static readonly IReadOnlyList<SettingKey> All =
    [
        // OpenID Connect
        new("providerURL", SettingKind.Text, null, "Issuer URL of the OpenID provider; discovery is read from `<providerURL>/.well-known/openid-configuration`. Must be https unless `allowHTTPProvider`."),
        new("clientID", SettingKind.Text, null, "OAuth client id registered at the provider. Not needed with `dynamicClientRegistration.enabled`."),
        new("clientSecret", SettingKind.Text, null, "OAuth client secret. Not needed with `dynamicClientRegistration.enabled`.", Secret: true),
        new("tokenEndpointAuthMethod", SettingKind.Text, "client_secret_basic", "How the client authenticates at the token endpoint: `client_secret_basic` or `client_secret_post`."),
        new("scopes", SettingKind.List, "openid,profile,email", "Scopes requested at login, added to `openid`, `profile` and `email` (the plugin's meaning) unless `overrideScopes`. Scopes the provider's discovery does not list in `scopes_supported` are left out with a warning (`openid` never)."),
        new("overrideScopes", SettingKind.Boolean, "false", "Request exactly `scopes` (`openid` is still always added) instead of adding them to `openid`, `profile` and `email`."),
        new("authorizeParams", SettingKind.Map, "", "Extra parameters of the authorization request, e.g. `prompt: consent`, `access_type: offline`, `resource`, `audience`, `hd`, `domain_hint`, `login_hint`. YAML: a mapping; environment: `k=v,k=v`. The protocol's own (`state`, `nonce`, `code_challenge*`, `redirect_uri`, `client_id`, `response_type`, `response_mode`, `scope`) cannot be set here (start-up error): use `scopes` for scopes."),
        new("enablePKCE", SettingKind.Boolean, "true", "Accepted for compatibility: PKCE (S256) is always used; `false` is logged once at start and ignored."),
        new("audience", SettingKind.Text, "", "Required `aud` of bearer access tokens (default: `clientID`)."),
        new("strictAudienceValidation", SettingKind.Boolean, "false", "Refuse a login whose access token is a JWT for another audience than `audience` (default `clientID`), the plugin's meaning; bearer tokens are always held to `audience`."),
        new("allowOpaqueTokens", SettingKind.Boolean, "false", "Accept bearer tokens that are not JWTs by asking the provider's `introspection_endpoint` (RFC 7662; the client authenticates as at the token endpoint). Active answers are cached by a hash of the token for at most `tokenMetadataTTL` and never past their `exp`, inactive ones for 5 s; the provider unreachable answers 503, never 200."),
        new("requireTokenIntrospection", SettingKind.Boolean, "false", "Introspect JWT bearer tokens too: a token that validates locally must also be active at the provider (revocation noticed within `tokenMetadataTTL`). Implies `allowOpaqueTokens`."),
        new("caCertPath", SettingKind.Text, "", "PEM file with extra CA certificates trusted for the provider's TLS."),
        new("caCertPEM", SettingKind.Text, "", "The same as `caCertPath`, the PEM text itself (both may be set: their certificates are combined)."),
        new("insecureSkipVerify", SettingKind.Boolean, "false", "Development only: accept any TLS certificate from the provider (discovery, JWKS, token, userinfo, revocation). Logged as a Warning at start."),
        new("allowPrivateIPAddresses", SettingKind.Boolean, "false", "Accepted for compatibility, no effect: ForwardAuth never refuses a provider for its address (the plugin refused private addresses unless `true`)."),
        new("revocationURL", SettingKind.Text, "", "Token revocation endpoint used at logout instead of discovery's `revocation_endpoint` (absolute https URL)."),
        new("oidcEndSessionURL", SettingKind.Text, "", "End-session endpoint the browser is sent to at logout instead of discovery's `end_session_endpoint` (absolute https URL)."),
        new("allowHTTPProvider", SettingKind.Boolean, "false", "Development only: permit an `http://` providerURL."),
        new("callbackURL", SettingKind.Text, "/oauth2/callback", "Login callback: a path on the protected host, or an absolute URL for an auth-host deployment."),
        new("logoutURL", SettingKind.Text, "/oauth2/logout", "Logout path on the protected host (also served on ForwardAuth directly)."),
        new("loginURL", SettingKind.Text, "/oauth2/start", "Path that starts a login explicitly (`?rd=<path>`); `X-Auth-Redirect` of a 401 points here."),
        new("postLogoutRedirectURI", SettingKind.Text, "", "Where the provider sends the browser after logout (default: `/` on the host that logged out)."),
        new("backchannelLogoutURL", SettingKind.Text, "/oauth2/backchannel-logout", "Path of the back-channel logout endpoint (POST from the provider)."),
        new("enableFrontchannelLogout", SettingKind.Boolean, "false", "Serve OIDC Front-Channel Logout 1.0 at `frontchannelLogoutURL`: the provider's logout page loads it with `iss` and `sid`, and every session of that `sid` ends (on every replica) when `iss` is the provider's issuer."),
        new("frontchannelLogoutURL", SettingKind.Text, "/oauth2/frontchannel-logout", "Path of the front-channel logout endpoint (GET in the provider's iframe), served when `enableFrontchannelLogout`."),

        // Dynamic client registration (RFC 7591), the traefikoidc plugin's block
        new("dynamicClientRegistration.enabled", SettingKind.Boolean, "false", "Register ForwardAuth at the provider's `registration_endpoint` instead of a pre-registered client, when `clientID` is empty. The registration is kept in the shared store, sealed with `sessionEncryptionKey`: every replica uses one client; it is registered again only when missing (or within 5 minutes of its secret's `client_secret_expires_at`)."),
        new("dynamicClientRegistration.initialAccessToken", SettingKind.Text, "", "Bearer token for a protected registration endpoint (RFC 7591 initial access token).", Secret: true),
        new("dynamicClientRegistration.registrationEndpoint", SettingKind.Text, "", "Registration endpoint instead of discovery's `registration_endpoint` (absolute https URL)."),
        new("dynamicClientRegistration.clientMetadata.redirect_uris", SettingKind.List, "", "Redirect URIs to register (default: `callbackURL` when it is absolute; required when it is a path, since the provider needs every protected host's callback)."),
        new("dynamicClientRegistration.clientMetadata.post_logout_redirect_uris", SettingKind.List, "", "Post-logout redirect URIs to register (default: `postLogoutRedirectURI` when it is absolute)."),
        new("dynamicClientRegistration.clientMetadata.client_name", SettingKind.Text, "ForwardAuth", "Client name shown on the provider's consent page."),
        new("dynamicClientRegistration.clientMetadata.application_type", SettingKind.Text, "web", "`web` or `native`."),
        new("dynamicClientRegistration.clientMetadata.grant_types", SettingKind.List, "authorization_code,refresh_token", "Grant types to register (`authorization_code` is required)."),
        new("dynamicClientRegistration.clientMetadata.response_types", SettingKind.List, "code", "Response types to register (`code` is required)."),
        new("dynamicClientRegistration.clientMetadata.token_endpoint_auth_method", SettingKind.Text, "", "`client_secret_basic` or `client_secret_post` (default: `tokenEndpointAuthMethod`; when both are set they must agree)."),
        new("dynamicClientRegistration.clientMetadata.scope", SettingKind.Text, "", "Space-separated scopes the client may request."),
        new("dynamicClientRegistration.clientMetadata.contacts", SettingKind.List, "", "Contacts (e-mail addresses) of the people responsible for the client."),
        new("dynamicClientRegistration.clientMetadata.logo_uri", SettingKind.Text, "", "Logo URL for the consent page."),
        new("dynamicClientRegistration.clientMetadata.client_uri", SettingKind.Text, "", "Home page of the client."),
        new("dynamicClientRegistration.clientMetadata.policy_uri", SettingKind.Text, "", "Privacy policy URL."),
        new("dynamicClientRegistration.clientMetadata.tos_uri", SettingKind.Text, "", "Terms of service URL."),
        new("dynamicClientRegistration.clientMetadata.jwks_uri", SettingKind.Text, "", "Client JWKS URL (registered as given; ForwardAuth authenticates with its client secret)."),
        new("dynamicClientRegistration.clientMetadata.subject_type", SettingKind.Text, "", "`public` or `pairwise`."),
        new("dynamicClientRegistration.clientMetadata.default_acr_values", SettingKind.List, "", "Default ACR values the provider applies to this client's logins."),
        new("dynamicClientRegistration.clientMetadata.default_max_age", SettingKind.Integer, "", "Default maximum authentication age (seconds) the provider applies.", Min: 0, Max: 31_536_000),
        new("dynamicClientRegistration.clientMetadata.require_auth_time", SettingKind.Boolean, "false", "Ask the provider to always put `auth_time` into ID tokens."),

        // One login across domains (README, "Single sign-on across domains")
        new("authURL", SettingKind.Text, "", "Absolute base URL of the auth host (e.g. `https://auth.example.net`) whose `/oauth2/sso` and callback the proxy routes to ForwardAuth. With `ssoDomains`: a browser without a session on a host under those domains is sent there and comes back with a one-time ticket (single use, 30 s, bound to the host) redeemed at `/oauth2/ticket`, without a provider round trip when the auth host holds a session. Set both or neither."),
        new("ssoDomains", SettingKind.List, "", "Domains whose hosts join the one login (`example.org,example.com`; a domain covers its subdomains). A target outside them never receives a ticket. Requires `authURL`."),

        // Sessions and cookies
        new("sessionEncryptionKey", SettingKind.List, null, "Session key(s), each at least 32 characters. Several (comma-separated): the first encrypts, all decrypt.", Secret: true),
        new("cookieDomain", SettingKind.Text, "", "Domain attribute of the session cookie (empty: host-only cookie)."),
        new("cookiePrefix", SettingKind.Text, "_forwardauth_", "Prefix of ForwardAuth's cookie names."),
        new("sessionMaxAge", SettingKind.Integer, "86400", "Absolute session lifetime in seconds; never extended by refresh.", Min: 60, Max: 31_536_000),
        new("sessionTTL", SettingKind.Integer, "", "`SESSION_TTL` of the reference document: alias of `sessionMaxAge` (seconds).", Min: 60, Max: 31_536_000),
        new("sessionIdleTimeout", SettingKind.Integer, "0", "End a session after this many seconds without a request (0: no idle timeout).", Min: 0, Max: 31_536_000),
        new("sessionActivityInterval", SettingKind.Integer, "60", "Activity bookkeeping (the idle timeout, My sessions' last seen): record activity in the store at most once per this many seconds.", Min: 1, Max: 86_400),
        new("forceHTTPS", SettingKind.Boolean, "false", "Treat every request as https (Secure cookies, https redirect URLs) whatever `X-Forwarded-Proto` says."),
        new("refreshGracePeriodSeconds", SettingKind.Integer, "60", "Refresh tokens this many seconds before they expire.", Min: 0, Max: 86_400),
        new("refreshLeaseTTL", SettingKind.Integer, "10", "Seconds a refresh lease lives; its holder renews it while the provider is slow, so one refresh per session runs at a time across replicas.", Min: 1, Max: 600),
        new("refreshWaitSeconds", SettingKind.Integer, "5", "How long a request whose access token has expired waits for another replica's refresh.", Min: 0, Max: 60),
        new("sessionCheckInterval", SettingKind.Integer, "0", "Check each active session at the provider at most once per this many seconds across all replicas (a refresh with its refresh token, else a userinfo call): a grant revoked or a session ended at the provider (`invalid_grant`, userinfo 401) ends it everywhere; a provider outage logs no one out. 0: off. Prefer back-channel logout where the provider has it (docs/sessions.md).", Min: 0, Max: 86_400),
        new("stripAuthCookies", SettingKind.Boolean, "false", "On 200, return a `Cookie` header without ForwardAuth's cookies (copy it with `authResponseHeaders`)."),

        // Identity and policy
        new("userIdentifierClaim", SettingKind.Text, "email", "Claim that identifies the user (falls back to `sub`)."),
        new("roleClaimName", SettingKind.Text, "roles", "Claim (dotted path allowed, e.g. `realm_access.roles`) holding roles."),
        new("groupClaimName", SettingKind.Text, "groups", "Claim (dotted path allowed) holding groups."),
        new("claimsFromUserinfo", SettingKind.Boolean, "false", "After the code exchange and after each refresh, merge the provider's userinfo answer into the identity (for providers whose ID tokens carry only `sub`). Its `sub` must be the ID token's: otherwise the login fails (403) and a refreshed session ends."),
        new("claimSeparator", SettingKind.Text, "", "Split string-valued group and role claims on this separator (e.g. `,` for providers such as Glewlwyd that send groups as one comma-joined string). Empty: a string claim is one group, and a group containing a comma is left out of the groups header."),
        new("allowedUsers", SettingKind.List, "", "Identifiers or emails allowed (case-insensitive). Empty: anyone the other rules allow."),
        new("allowedUserDomains", SettingKind.List, "", "Email domains allowed (exact, case-insensitive)."),
        new("allowedRolesAndGroups", SettingKind.List, "", "Roles or groups of which the user needs at least one."),
        new("excludedURLs", SettingKind.List, "", "Path prefixes (segment boundaries, normalised path only) served without authentication."),
        new("passAuthorizationHeader", SettingKind.Boolean, "false", "On 200, return `Authorization: Bearer <access token>` of the session."),
        new("claimHeaders", SettingKind.List, "", "Extra identity headers as `Header-Name=claim.path` pairs."),
        new("minimalHeaders", SettingKind.Boolean, "false", "The plugin's fewer headers: `X-Auth-Request-User`, `-Email` and `-Preferred-Username` are sent empty; `X-Forwarded-User`, `X-Auth-Request-Groups` and every configured header keep their values."),
        new("headers", SettingKind.Entries, "", "The plugin's templated headers: a list of `{name, value}`, each value a template (`{{.Claims.email}}`, `Bearer {{.AccessToken}}`), compiled at start; the language is below the table. Environment: the same list as JSON or YAML flow."),
        new("allowCorsPreflight", SettingKind.Boolean, "true", "Let CORS preflight requests (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) through without authentication."),

        // Tokens and replay
        new("disableReplayDetection", SettingKind.Boolean, "false", "Skip the single-use check of ID-token `jti` (login `state` stays single-use)."),
        new("replayProtection", SettingKind.Text, "local", "Single-use markers while Redis is unreachable: `local` (per replica memory) or `closed` (refuse logins)."),
        new("jtiCacheTTL", SettingKind.Integer, "3600", "`JTI_CACHE_TTL`: the longest a single-use marker is kept (seconds).", Min: 60, Max: 604_800),
        new("tokenMetadataTTL", SettingKind.Integer, "300", "`TOKEN_METADATA_TTL`: how long validated tokens and provider metadata are cached locally (seconds).", Min: 1, Max: 86_400),

        // Regulation (Authelia's name): clients that keep presenting invalid credentials are refused for a while
        new("regulation.maxRetries", SettingKind.Integer, "10", "Invalid credentials (forged or malformed bearer tokens, session cookies that do not open, callbacks with an unknown or used `state`) one client address may present within `regulation.findTime` before it is banned. 0 turns regulation off.", Min: 0, Max: 1_000_000),
        new("regulation.findTime", SettingKind.Integer, "60", "Seconds of the window in which `regulation.maxRetries` failures ban a client (the window starts with its first failure).", Min: 1, Max: 86_400),
        new("regulation.banTime", SettingKind.Integer, "300", "Seconds a banned client's requests that carry credentials are answered 429 with `Retry-After` (403 on nginx's `/oauth2/auth`).", Min: 1, Max: 604_800),
        new("rateLimit", SettingKind.Integer, "", "traefikoidc plugin key (its per-instance limit of first-time token verifications per second). Accepted, no effect, a warning at start: `regulation.*` protects per client instead (docs/migration-from-traefikoidc.md).", Min: 0, Max: 1_000_000),

        // Service
        new("trustedProxies", SettingKind.List, DefaultTrustedProxies, "CIDRs whose `X-Forwarded-*` headers are believed; other peers' forwarded headers are ignored."),
        new("logLevel", SettingKind.Text, "info", "`debug`, `info`, `warn` or `error`."),
        new("minWorkerThreads", SettingKind.Integer, "64", "Thread-pool worker threads started without delay (`ThreadPool.SetMinThreads`; never lowers the runtime's own minimum). StackExchange.Redis blocks pool threads while it reconfigures during a Sentinel or Cluster failover; below this many, requests would queue behind them (docs/operations.md). 0: the runtime's default.", Min: 0, Max: 1000),

        // Redis (reference document, "Configuration Reference")
        new("redis.enabled", SettingKind.Boolean, "false", "Use Redis for shared state."),
        new("redis.address", SettingKind.Text, "localhost:6379", "`host:port`, comma-separated for several nodes (Sentinel or Cluster)."),
        new("redis.password", SettingKind.Text, "", "Redis password (`requirepass` or the ACL user's).", Secret: true),
        new("redis.username", SettingKind.Text, "", "ACL user name (Redis 6+)."),
        new("redis.db", SettingKind.Integer, "0", "Database number (standalone and Sentinel).", Min: 0, Max: 15),
        new("redis.keyPrefix", SettingKind.Text, "traefikoidc", "Prefix of every key (`<keyPrefix>:<kind>:<id>`)."),
        new("redis.cacheMode", SettingKind.Text, "", "`memory`, `redis` or `hybrid` (default: `hybrid` when Redis is enabled, else `memory`)."),
        new("redis.maxRetries", SettingKind.Integer, "3", "Connection attempts of each (re)connect (`ConnectRetry`).", Min: 0, Max: 20),
        new("redis.poolSize", SettingKind.Integer, "10", "Accepted for compatibility, no effect: commands are multiplexed over one connection per node (docs/operations.md).", Min: 1, Max: 1000),
        new("redis.minIdleConns", SettingKind.Integer, "5", "Accepted for compatibility, no effect: no pool (docs/operations.md). Must not exceed poolSize.", Min: 0, Max: 1000),
        new("redis.maxConnAge", SettingKind.Integer, "3600", "Accepted for compatibility, no effect: connections are long-lived and re-established on failure (docs/operations.md).", Min: 0, Max: 604_800),
        new("redis.poolTimeout", SettingKind.Integer, "4", "Accepted for compatibility, no effect: commands never wait for a free connection (docs/operations.md).", Min: 1, Max: 600),
        new("redis.idleTimeout", SettingKind.Integer, "900", "Accepted for compatibility, no effect: connections stay open, kept alive by heartbeats (docs/operations.md).", Min: 0, Max: 86_400),
        new("redis.dialTimeout", SettingKind.Integer, "5", "Connect timeout in seconds (`ConnectTimeout`).", Min: 1, Max: 600),
        new("redis.readTimeout", SettingKind.Integer, "3", "Bound of one command round trip, with writeTimeout: the longer of the two (`SyncTimeout`/`AsyncTimeout` and our own bound).", Min: 1, Max: 600),
        new("redis.writeTimeout", SettingKind.Integer, "3", "See readTimeout.", Min: 1, Max: 600),
        new("redis.circuitBreakerThreshold", SettingKind.Integer, "5", "Consecutive connection/timeout failures that open the circuit breaker.", Min: 1, Max: 1000),
        new("redis.circuitBreakerTimeout", SettingKind.Integer, "60", "Longest the breaker stays open before probing Redis again (it probes as soon as Redis answers the health PING, every healthCheckInterval).", Min: 1, Max: 3600),
        new("redis.tls.enabled", SettingKind.Boolean, "false", "Connect with TLS."),
        new("redis.tls.certFile", SettingKind.Text, "", "Client certificate (PEM) for mutual TLS."),
        new("redis.tls.keyFile", SettingKind.Text, "", "Client private key (PEM) for mutual TLS."),
        new("redis.tls.caFile", SettingKind.Text, "", "CA certificate (PEM) that signed the server's certificate."),
        new("redis.tls.insecureSkipVerify", SettingKind.Boolean, "false", "Accept any server certificate (testing only)."),
        new("redis.clusterMode", SettingKind.Boolean, "false", "The addresses are Redis Cluster nodes."),
        new("redis.maxRedirects", SettingKind.Integer, "3", "Accepted for compatibility, no effect: StackExchange.Redis follows MOVED/ASK itself and keeps the slot map current (docs/operations.md).", Min: 0, Max: 100),
        new("redis.readOnly", SettingKind.Boolean, "false", "Plain reads (session lookups) may go to a replica (`CommandFlags.PreferReplica`); atomic operations always go to the primary."),
        new("redis.routeByLatency", SettingKind.Boolean, "false", "Same as readOnly: StackExchange.Redis picks among replicas itself; it has no latency- or random-routing switch (docs/operations.md)."),
        new("redis.routeRandomly", SettingKind.Boolean, "false", "Same as readOnly (docs/operations.md)."),
        new("redis.sentinelMasterName", SettingKind.Text, "", "Sentinel: name of the monitored master (the addresses are then Sentinels)."),
        new("redis.healthCheckInterval", SettingKind.Integer, "5", "Seconds between background PINGs through the circuit breaker (a hung Redis is noticed without traffic).", Min: 1, Max: 300),
        new("redis.localCacheMaxEntries", SettingKind.Integer, "10000", "Hybrid mode: entries kept in each replica's local L1.", Min: 100, Max: 10_000_000),
        new("redis.localCacheTTL", SettingKind.Integer, "30", "Hybrid mode: seconds an entry stays in L1 (changes elsewhere evict it at once through pub/sub).", Min: 1, Max: 3600),
        new("redis.outageJournalSize", SettingKind.Integer, "10000", "Writes kept while Redis is unreachable, replayed when it is back (oldest dropped first).", Min: 0, Max: 1_000_000),
    ];

    private static readonly Dictionary<string, SettingKey> ByPath =
        All.ToDictionary(k => k.Path, StringComparer.OrdinalIgnoreCase);

    public static SettingKey? Find(string path) => ByPath.GetValueOrDefault(path.Replace(':', '.'));
}
