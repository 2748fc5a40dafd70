namespace ForwardAuth.Observability;

/// <summary>
/// Every log line of the service, with stable event ids. Parameters are chosen so that no token, cookie, secret or
/// encryption key can reach a log: identifiers and reasons only.
/// </summary>
internal static partial class Log
{
    // 0xx: the process
    [LoggerMessage(1, LogLevel.Information, "ForwardAuth {Version} starting (commit {Commit}, {Framework})")]
    public static partial void Starting(ILogger logger, string version, string commit, string framework);

    [LoggerMessage(2, LogLevel.Information, "Thread pool: at least {MinWorkerThreads} worker threads (minWorkerThreads {Configured}, {Processors} processors)")]
    public static partial void ThreadPoolMinimumSet(ILogger logger, int minWorkerThreads, int configured, int processors);

    // 1xx: the store
    [LoggerMessage(100, LogLevel.Information, "Redis cache initialized (address {Address}, mode {CacheMode}, key prefix {KeyPrefix}, connected {Connected})")]
    public static partial void RedisCacheInitialized(ILogger logger, string address, string cacheMode, string keyPrefix, bool connected);

    [LoggerMessage(101, LogLevel.Warning, "Redis connection to {Endpoint} failed ({FailureType}): {Hint}")]
    public static partial void RedisConnectionFailed(ILogger logger, string endpoint, string failureType, string hint);

    [LoggerMessage(102, LogLevel.Information, "Redis connection restored ({Endpoint})")]
    public static partial void RedisConnectionRestored(ILogger logger, string endpoint);

    [LoggerMessage(103, LogLevel.Warning, "Shared store unavailable during {Operation}: {Hint}")]
    public static partial void StoreUnavailable(ILogger logger, string operation, string hint);

    [LoggerMessage(104, LogLevel.Warning, "redis.enabled is true but redis.cacheMode is memory: Redis is not used, single replica only")]
    public static partial void RedisEnabledButMemoryMode(ILogger logger);

    [LoggerMessage(105, LogLevel.Information, "Redis is disabled (redis.enabled=false): using the in-memory cache, single replica only")]
    public static partial void RedisDisabled(ILogger logger);

    [LoggerMessage(106, LogLevel.Warning, "Circuit breaker opened after {Failures} consecutive Redis failures; health probe every {ProbeSeconds}s, probing again in {TimeoutSeconds}s at the latest")]
    public static partial void CircuitBreakerOpened(ILogger logger, int failures, int probeSeconds, int timeoutSeconds);

    [LoggerMessage(107, LogLevel.Warning, "Falling back to memory cache: sessions are decided from memory and sealed cookies, writes are journalled for Redis")]
    public static partial void FallingBackToMemory(ILogger logger);

    [LoggerMessage(108, LogLevel.Information, "Circuit breaker half-open: probing Redis")]
    public static partial void CircuitBreakerHalfOpen(ILogger logger);

    [LoggerMessage(116, LogLevel.Information, "Circuit breaker half-open: Redis answered the health probe {OpenSeconds}s after the circuit opened (not waiting out circuitBreakerTimeout {TimeoutSeconds}s)")]
    public static partial void CircuitBreakerHalfOpenEarly(ILogger logger, int openSeconds, int timeoutSeconds);

    [LoggerMessage(109, LogLevel.Information, "Redis connection restored: circuit breaker closed (was {PreviousState})")]
    public static partial void RedisRestored(ILogger logger, string previousState);

    [LoggerMessage(117, LogLevel.Information, "Redis answers again once its topology was read again: {Reason}")]
    public static partial void RedisTopologyReread(ILogger logger, string reason);

    [LoggerMessage(110, LogLevel.Information, "Replayed {Count} outage writes to Redis")]
    public static partial void OutageJournalReplayed(ILogger logger, int count);

    [LoggerMessage(111, LogLevel.Warning, "Outage journal full: the oldest write was dropped")]
    public static partial void OutageJournalFull(ILogger logger);

    [LoggerMessage(112, LogLevel.Warning, "Single-use check refused: Redis is unreachable and replayProtection is closed")]
    public static partial void SingleUseRefusedWhileOpen(ILogger logger);

    [LoggerMessage(113, LogLevel.Information, "Replay protection while Redis is unreachable: {Mode} (local = per replica memory, closed = refuse logins)")]
    public static partial void ReplayProtectionMode(ILogger logger, string mode);

    [LoggerMessage(114, LogLevel.Warning, "Local cache flushed: {Reason}")]
    public static partial void LocalCacheFlushed(ILogger logger, string reason);

    [LoggerMessage(115, LogLevel.Information, "Redis server {Endpoint} ({Role}) runs version {Version}; supported (5.0 or later): {Supported}")]
    public static partial void RedisServerVersion(ILogger logger, string endpoint, string version, string role, bool supported);

    // 2xx: login, sessions, logout
    [LoggerMessage(200, LogLevel.Information, "Login started for host {Host} (login {LoginId})")]
    public static partial void LoginStarted(ILogger logger, string host, string loginId);

    [LoggerMessage(201, LogLevel.Information, "Login completed for {User} (login {LoginId})")]
    public static partial void LoginCompleted(ILogger logger, string user, string loginId);

    [LoggerMessage(202, LogLevel.Warning, "Login failed: {Reason}")]
    public static partial void LoginFailed(ILogger logger, string reason);

    [LoggerMessage(203, LogLevel.Information, "Logout of {User}")]
    public static partial void LoggedOut(ILogger logger, string user);

    [LoggerMessage(204, LogLevel.Information, "Session of {User} adopted into the store from its sealed cookie")]
    public static partial void SessionAdopted(ILogger logger, string user);

    [LoggerMessage(207, LogLevel.Information, "Session of {User} ended after its idle timeout")]
    public static partial void SessionIdleExpired(ILogger logger, string user);

    [LoggerMessage(208, LogLevel.Information, "Tokens of {User} refreshed")]
    public static partial void SessionRefreshed(ILogger logger, string user);

    [LoggerMessage(209, LogLevel.Warning, "Refresh of {User} refused by the provider ({Error}): the session ends")]
    public static partial void RefreshRefused(ILogger logger, string user, string error);

    [LoggerMessage(210, LogLevel.Warning, "Refresh of {User} failed ({Error}): the current tokens are kept")]
    public static partial void RefreshFailed(ILogger logger, string user, string error);

    [LoggerMessage(211, LogLevel.Information, "Back-channel logout ended {Count} session(s)")]
    public static partial void BackchannelLogout(ILogger logger, int count);

    [LoggerMessage(212, LogLevel.Warning, "Back-channel logout token refused: {Reason}")]
    public static partial void BackchannelLogoutRefused(ILogger logger, string reason);

    [LoggerMessage(217, LogLevel.Information, "Front-channel logout ended {Count} session(s)")]
    public static partial void FrontchannelLogout(ILogger logger, int count);

    [LoggerMessage(218, LogLevel.Warning, "Front-channel logout refused: {Reason}")]
    public static partial void FrontchannelLogoutRefused(ILogger logger, string reason);

    // My sessions: the user ended some of their own sessions (never a session id, handle or token).
    [LoggerMessage(240, LogLevel.Information, "My sessions: {User} ended {Count} session(s) ({Kind})")]
    public static partial void SessionsRevoked(ILogger logger, string user, int count, string kind);

    [LoggerMessage(241, LogLevel.Warning, "My sessions: a request of {User} to end a session was refused: {Reason}")]
    public static partial void SessionRevocationRefused(ILogger logger, string user, string reason);

    [LoggerMessage(205, LogLevel.Warning, "Token endpoint refused the code: {Error}")]
    public static partial void TokenExchangeFailed(ILogger logger, string error);

    [LoggerMessage(213, LogLevel.Warning, "Login {LoginId}: the provider did not grant the scope {Scope} that was asked for (partial consent); the claims it carries are missing from the identity")]
    public static partial void ScopeNotGranted(ILogger logger, string loginId, string scope);

    [LoggerMessage(215, LogLevel.Warning, "Login {LoginId}: the provider left the groups out of the ID token because the user has too many (Entra ID group overage: _claim_names.groups or hasgroups); ForwardAuth does not fetch them from Microsoft Graph, so this session has no groups from {GroupClaim} and group rules will deny. At the provider: emit only the groups assigned to the application (app registration, Token configuration, groups claim: \"Groups assigned to the application\"), or use app roles (roleClaimName: roles)")]
    public static partial void GroupOverageDetected(ILogger logger, string loginId, string groupClaim);

    [LoggerMessage(220, LogLevel.Information, "Client registered at the provider (client_id {ClientId}, registration endpoint {Endpoint}, secret expires {SecretExpires}); kept in the shared store for every replica")]
    public static partial void ClientRegistered(ILogger logger, string clientId, string endpoint, string secretExpires);

    [LoggerMessage(221, LogLevel.Information, "Client registration found in the shared store (client_id {ClientId})")]
    public static partial void ClientRegistrationLoaded(ILogger logger, string clientId);

    [LoggerMessage(222, LogLevel.Error, "Client registration at {Endpoint} failed: {Reason}. Logins answer 502 until it succeeds (retried at the next login)")]
    public static partial void ClientRegistrationFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(223, LogLevel.Error, "Token introspection at {Endpoint} failed: {Reason}. Bearer tokens that need it are answered 503 until it works")]
    public static partial void IntrospectionFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(415, LogLevel.Warning, "dynamicClientRegistration.enabled is true but clientID is set: the configured client is used and nothing is registered (the plugin's rule); remove clientID and clientSecret to register")]
    public static partial void ClientRegistrationSkipped(ILogger logger);

    [LoggerMessage(216, LogLevel.Warning, "scopes: the provider's discovery does not list {Dropped} in scopes_supported ({Supported}); not requested (remove them from scopes, or check the provider)")]
    public static partial void ScopesNotSupported(ILogger logger, string dropped, string supported);

    [LoggerMessage(230, LogLevel.Debug, "Login {LoginId}: the browser carried too many pending logins; the {Count} oldest login cookie(s) expired with this answer")]
    public static partial void PendingLoginCookiesExpired(ILogger logger, int count, string loginId);

    [LoggerMessage(214, LogLevel.Information, "Login {LoginId}: the provider refused the code (invalid_grant); starting the login once more")]
    public static partial void LoginRetriedAfterRefusedCode(ILogger logger, string loginId);

    [LoggerMessage(206, LogLevel.Warning, "Refresh token revocation failed: {Error}")]
    public static partial void RevocationFailed(ILogger logger, string error);

    // 245–249: sessions checked at the provider (sessionCheckInterval). A user identifier and a reason, never a token.
    [LoggerMessage(245, LogLevel.Warning, "Session of {User} ended: the provider no longer honours it ({Reason})")]
    public static partial void SessionEndedByCheck(ILogger logger, string user, string reason);

    [LoggerMessage(246, LogLevel.Warning, "Session check of {User} skipped ({Reason}): the session is kept and checked again after {IntervalSeconds}s")]
    public static partial void SessionCheckSkipped(ILogger logger, string user, string reason, int intervalSeconds);

    [LoggerMessage(247, LogLevel.Debug, "Session of {User} checked at the provider ({Method}): still honoured")]
    public static partial void SessionCheckPassed(ILogger logger, string user, string method);

    [LoggerMessage(248, LogLevel.Debug, "Session check not run here: {Why}")]
    public static partial void SessionCheckNotRun(ILogger logger, string why);

    [LoggerMessage(249, LogLevel.Debug, "Session check sweep: {Due} of {Tracked} session(s) seen on this replica due, {Dropped} no longer tracked")]
    public static partial void SessionCheckSwept(ILogger logger, int due, int tracked, int dropped);

    // 260-266: single sign-on across domains (authURL, ssoDomains). Hosts, origins and login ids only: never a ticket.
    [LoggerMessage(260, LogLevel.Information, "Single sign-on: {Host} has no session; sent to the auth host {AuthOrigin}")]
    public static partial void SsoSentToAuthHost(ILogger logger, string host, string authOrigin);

    [LoggerMessage(261, LogLevel.Information, "Single sign-on: ticket issued for {TargetOrigin} to {User} (login {LoginId})")]
    public static partial void SsoTicketIssued(ILogger logger, string targetOrigin, string user, string loginId);

    [LoggerMessage(262, LogLevel.Warning, "Single sign-on: no ticket issued: {Reason}")]
    public static partial void SsoTicketNotIssued(ILogger logger, string reason);

    [LoggerMessage(263, LogLevel.Warning, "Single sign-on: ticket refused on {Origin}: {Reason}")]
    public static partial void SsoTicketRefused(ILogger logger, string origin, string reason);

    [LoggerMessage(264, LogLevel.Information, "Single sign-on: {User} joined {Origin} (login {LoginId})")]
    public static partial void SsoSessionJoined(ILogger logger, string user, string origin, string loginId);

    [LoggerMessage(265, LogLevel.Information, "Logout ended the whole login {LoginId}: {Count} sessions across domains")]
    public static partial void SsoLoginEnded(ILogger logger, string loginId, int count);

    [LoggerMessage(266, LogLevel.Information, "Single sign-on: the auth host has no session; login started there for {TargetOrigin}")]
    public static partial void SsoLoginOnAuthHost(ILogger logger, string targetOrigin);

    // 250–254: step-up (a route's acr / maxAge rule)
    [LoggerMessage(250, LogLevel.Information, "Step-up required for {User} ({Source}): {Need}")]
    public static partial void StepUpNeeded(ILogger logger, string user, string source, string need);

    [LoggerMessage(251, LogLevel.Information, "Step-up login {LoginId} completed for {User}: the same session now carries acr {Acr} and a new auth_time")]
    public static partial void StepUpSessionUpdated(ILogger logger, string user, string loginId, string acr);

    [LoggerMessage(252, LogLevel.Warning, "Step-up login {LoginId}: {Reason}; for {Minutes} minutes the routes that need it answer 403 instead of asking the provider again")]
    public static partial void StepUpNotSatisfied(ILogger logger, string loginId, string reason, int minutes);

    [LoggerMessage(253, LogLevel.Information, "Step-up refused for {User}: {Reason} (an earlier step-up login); answered 403")]
    public static partial void StepUpRefused(ILogger logger, string user, string reason);

    [LoggerMessage(254, LogLevel.Information, "Step-up login {LoginId} signed in another user than the browser's session: a new session, the other one untouched")]
    public static partial void StepUpOtherUser(ILogger logger, string loginId);

    // 3xx: requests
    [LoggerMessage(300, LogLevel.Debug, "Bearer token refused: {Reason}")]
    public static partial void BearerRejected(ILogger logger, string reason);

    [LoggerMessage(301, LogLevel.Information, "Malformed forwarded request refused: {Reason}")]
    public static partial void ForwardedRequestRejected(ILogger logger, string reason);

    [LoggerMessage(302, LogLevel.Debug, "Forwarded headers from untrusted peer {Peer} ignored")]
    public static partial void UntrustedPeer(ILogger logger, string peer);

    [LoggerMessage(303, LogLevel.Debug, "Session cookie refused: {Reason}")]
    public static partial void CookieRejected(ILogger logger, string reason);

    // One line per decision at Debug: why, from which session source, under which rules. Never a token or cookie value.
    [LoggerMessage(304, LogLevel.Debug, "Decision {Outcome} ({Status}) on {Endpoint} for {Method} {Target} in {ElapsedMs} ms: {Reason}; source {Source}; user {User}; rules {Rules}; replica {Replica}")]
    public static partial void Decision(
        ILogger logger, string outcome, int status, string endpoint, string method, string target, double elapsedMs,
        string reason, string source, string user, string rules, string replica);

    // One line per ban (the replica whose count reached the limit adds it): the client's address, never a credential.
    [LoggerMessage(305, LogLevel.Warning, "Client {Client} banned for {BanSeconds} s: {Failures} invalid credentials within {FindSeconds} s (last: {Kind}); its requests with credentials are answered 429 until then")]
    public static partial void ClientBanned(ILogger logger, string client, long banSeconds, long failures, long findSeconds, string kind);

    // 4xx: provider and configuration
    [LoggerMessage(400, LogLevel.Information, "OpenID provider metadata loaded from {Issuer}")]
    public static partial void DiscoveryLoaded(ILogger logger, string issuer);

    [LoggerMessage(401, LogLevel.Warning, "OpenID provider discovery failed at {ProviderUrl}: {Reason}")]
    public static partial void DiscoveryFailed(ILogger logger, string providerUrl, string reason);

    [LoggerMessage(403, LogLevel.Warning, "OpenID provider unreachable ({ErrorType}); the request was answered 502")]
    public static partial void ProviderUnavailable(ILogger logger, string errorType);

    [LoggerMessage(404, LogLevel.Warning, "rateLimit {RateLimit} (the traefikoidc plugin's limit of token verifications per second per Traefik instance) has no effect here: regulation.maxRetries ({MaxRetries}), regulation.findTime and regulation.banTime ban the client that presents invalid credentials instead (docs/migration-from-traefikoidc.md)")]
    public static partial void PluginRateLimitIgnored(ILogger logger, long rateLimit, int maxRetries);

    [LoggerMessage(412, LogLevel.Warning, "forwardAuth address {Endpoint} has an invalid step-up rule: {Error}; its requests are answered 400")]
    public static partial void StepUpRuleInvalid(ILogger logger, string endpoint, string error);

    [LoggerMessage(402, LogLevel.Warning, "Unknown configuration key ignored: {Key}")]
    public static partial void UnknownConfigurationKey(ILogger logger, string key);

    [LoggerMessage(405, LogLevel.Information, "enablePKCE is false: ignored, every login uses PKCE (S256)")]
    public static partial void PkceAlwaysOn(ILogger logger);

    [LoggerMessage(413, LogLevel.Information, "Single sign-on across domains: auth host {AuthOrigin}, domains {Domains}")]
    public static partial void SsoConfigured(ILogger logger, string authOrigin, string domains);

    [LoggerMessage(414, LogLevel.Warning, "Single sign-on: cookieDomain {CookieDomain} does not cover {Domains}; their cookies are host-only")]
    public static partial void SsoCookieDomainNarrow(ILogger logger, string cookieDomain, string domains);

    // A traefikoidc plugin key ForwardAuth does not implement: named with what to use instead (never its value).
    [LoggerMessage(406, LogLevel.Warning, "traefikoidc plugin key {Key} ({Source}) has no effect in ForwardAuth: {Instead}")]
    public static partial void PluginKeyNotImplemented(ILogger logger, string key, string source, string instead);

    [LoggerMessage(407, LogLevel.Warning, "insecureSkipVerify is true: the OpenID provider's TLS certificate is NOT verified (discovery, JWKS, token, userinfo, revocation). Anyone on the network path can impersonate the provider and sign users in. Development only: use caCertPath or caCertPEM instead")]
    public static partial void ProviderTlsNotVerified(ILogger logger);

    [LoggerMessage(411, LogLevel.Information, "sessionCheckInterval {IntervalSeconds}s: each active session is checked at the provider (refresh, else userinfo) at most once per interval across replicas, on its next request or by this replica's sweep of the sessions it saw in the last sessionMaxAge (at most {MaxTracked})")]
    public static partial void SessionCheckOn(ILogger logger, int intervalSeconds, int maxTracked);
}
