using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using Microsoft.Net.Http.Headers;

namespace ForwardAuth.Auth;

/// <summary>
/// The decision core for a protected request: bearer token or session cookie → identity → policy. Without valid
/// credentials a browser gets a login started (authorize URL and binding cookie), an API client the 401 with its login
/// URL. Every answer is a complete <see cref="AuthOutcome"/>; no HttpContext here.
/// </summary>
internal sealed class RequestVerifier(
    BearerTokens tokens,
    SessionStore sessions,
    SessionRefresher refresher,
    SessionChecks checks,
    LoginFlow login,
    SsoFlow sso,
    StepUpGate stepUp,
    Regulator regulation,
    ForwardAuthOptions options,
    ForwardAuthMetrics metrics,
    ILogger<RequestVerifier> logger)
{
    private readonly PolicyRules _configured = new(options.AllowedUsers, options.AllowedUserDomains, options.AllowedRolesAndGroups);

    private readonly string _storeKind = "cacheMode " + (!options.Redis.Enabled ? "memory" : options.Redis.CacheMode.ToString().ToLowerInvariant());

    /// <summary>A forwardAuth decision: without valid credentials a browser is sent to log in, an API client gets 401.</summary>
    public Task<AuthOutcome> VerifyAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken) =>
        VerifyAsync(request, route, startLogins: true, cancellationToken);

    /// <summary>
    /// A decision for a proxy that only understands 2xx/401/403 (nginx <c>auth_request</c>): every challenge is the 401
    /// (the proxy sends the browser to the sign-in URL itself); no login is started and nothing is written.
    /// </summary>
    public Task<AuthOutcome> VerifyWithoutRedirectAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken) =>
        VerifyAsync(request, route, startLogins: false, cancellationToken);

    private async Task<AuthOutcome> VerifyAsync(AuthRequest request, PolicyRules route, bool startLogins, CancellationToken cancellationToken)
    {
        if (options.AllowCorsPreflight && RequestClassifier.IsCorsPreflight(request.Method, request.Headers))
        {
            return new AuthOutcome.Allow(null, null) { Note = Note("CORS preflight let through", "none", route) };
        }

        if (PathRules.IsExcluded(request.Path, options.ExcludedUrls))
        {
            return new AuthOutcome.Allow(null, null) { Note = Note("excluded path", "none", route) };
        }

        var bearer = BearerToken(request.Headers);
        var cookie = request.Cookie(sessions.CookieName);
        // A banned client's credentials are not judged at all; a request without credentials is (its login redirect).
        if ((bearer is not null || !string.IsNullOrEmpty(cookie))
            && await regulation.RefusalAsync(request, cancellationToken).ConfigureAwait(false) is { } banned)
        {
            return banned with { Note = Note($"client {request.Client} banned by regulation ({banned.RetryAfterSeconds} s left)", bearer is not null ? "bearer token" : "session cookie", route) };
        }

        if (bearer is not null)
        {
            return await VerifyBearerAsync(request, bearer, route, cancellationToken).ConfigureAwait(false);
        }

        var lookup = await refresher.GetFreshAsync(cookie, cancellationToken).ConfigureAwait(false);
        if (lookup is SessionLookup.Missing { Detail: SessionStore.UnopenedCookie })
        {
            await regulation.FailedAsync(request, "cookie", cancellationToken).ConfigureAwait(false);
        }

        if (lookup is SessionLookup.Found current)
        {
            // sessionCheckInterval: a due check at the provider starts in the background; this answer does not wait.
            checks.Seen(current.Session, current.Record);
        }

        return lookup switch
        {
            SessionLookup.Found found => await DecideSessionAsync(request, found, route, startLogins, cancellationToken).ConfigureAwait(false),
            SessionLookup.Missing missing => (await ChallengeAsync(request, missing.Reason, route, startLogins, cancellationToken).ConfigureAwait(false))
                with { Note = Note(missing.Detail, missing.Detail == "no session cookie" ? "none" : "session cookie", route) },
            _ => (await ChallengeAsync(request, "session ended by the provider", route, startLogins, cancellationToken).ConfigureAwait(false))
                with { Note = Note("session ended by the provider (refresh refused)", "store record", route) },
        };
    }

    /// <summary>
    /// ForwardAuth's own pages (My sessions): the session of the browser's cookie, judged as <c>/auth</c> judges it
    /// (regulation, refresh, activity), or the answer <c>/auth</c> gives without one — a login for a browser (302, 303
    /// after a form post), 401 for an API client. A bearer token is not a session: it does not count here.
    /// </summary>
    public async Task<(SessionLookup.Found? Session, AuthOutcome? Refusal)> SessionOrChallengeAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var cookie = request.Cookie(sessions.CookieName);
        if (!string.IsNullOrEmpty(cookie) && await regulation.RefusalAsync(request, cancellationToken).ConfigureAwait(false) is { } banned)
        {
            return (null, banned);
        }

        var lookup = await refresher.GetFreshAsync(cookie, cancellationToken).ConfigureAwait(false);
        if (lookup is SessionLookup.Missing { Detail: SessionStore.UnopenedCookie })
        {
            await regulation.FailedAsync(request, "cookie", cancellationToken).ConfigureAwait(false);
        }

        var reason = lookup is SessionLookup.Missing missing ? missing.Reason : "session ended by the provider";
        return lookup is SessionLookup.Found found
            ? (found, null)
            : (null, await ChallengeAsync(request, reason, PolicyRules.None, startLogins: true, cancellationToken).ConfigureAwait(false));
    }

    private async Task<AuthOutcome> VerifyBearerAsync(AuthRequest request, string bearer, PolicyRules route, CancellationToken cancellationToken)
    {
        var check = await tokens.CheckAsync(bearer, cancellationToken).ConfigureAwait(false);
        if (check.ProviderUnreachable)
        {
            // Introspection could not answer: not judged, so neither allowed nor refused (503, Retry-After).
            Log.BearerRejected(logger, check.Error!);
            return new AuthOutcome.TryAgainLater("the token could not be checked at the provider: " + check.Error)
            {
                Note = Note("bearer token not judged: " + check.Error, "bearer token", route),
            };
        }

        if (!check.IsValid)
        {
            if (check.IsForgedOrMalformed)
            {
                await regulation.FailedAsync(request, "bearer", cancellationToken).ConfigureAwait(false);
            }

            return RefuseBearer(request, check.Error!, check.Error!) with { Note = Note("bearer token refused: " + check.Error, "bearer token", route) };
        }

        if (await sessions.IsAccessTokenRevokedAsync(bearer, cancellationToken).ConfigureAwait(false))
        {
            return RefuseBearer(request, "revoked by a logout", "token revoked") with { Note = Note("bearer token revoked by a logout", "bearer token", route) };
        }

        var decided = Decide(check.Identity!, bearer, route, "bearer token");
        return decided is AuthOutcome.Allow && stepUp.ForBearer(request, check, route.StepUp) is { } needed
            ? needed.Outcome with { Note = Note(needed.Reason, "bearer token", route) }
            : decided;
    }

    // The policy first (stepping up cannot make a refused user allowed), then the route's step-up rule.
    private async Task<AuthOutcome> DecideSessionAsync(
        AuthRequest request, SessionLookup.Found found, PolicyRules route, bool startLogins, CancellationToken cancellationToken)
    {
        var source = SourceOf(found.Session);
        // A decision reads the hot record only; the token record only when a token is forwarded.
        var tokens = sessions.DecisionsForwardTokens
            ? await sessions.WithTokensAsync(StoreKeys.Hash(found.Session.Handle), found.Record, cancellationToken).ConfigureAwait(false)
            : found.Record;
        var decided = Decide(found.Record.Identity, tokens.AccessToken, route, source, found.Session.ReissuedCookie, tokens.IdToken);
        if (decided is not AuthOutcome.Allow || route.StepUp.IsEmpty)
        {
            return decided;
        }

        return await stepUp.ForSessionAsync(request, found.Record, route.StepUp, startLogins, cancellationToken).ConfigureAwait(false) is { } needed
            ? needed.Outcome with { Note = Note(needed.Reason, source, route) }
            : decided;
    }

    private AuthOutcome.LoginRequired RefuseBearer(AuthRequest request, string logged, string reason)
    {
        Log.BearerRejected(logger, logged);
        metrics.BearerRejections.Inc();
        return new AuthOutcome.LoginRequired(reason, InvalidToken: true, login.LoginUrlFor(request));
    }

    // No valid credentials: a browser is sent to log in (302, or 303 after a form post), an API client gets 401 — and
    // so does every client when logins are not started here (nginx sends the browser to the sign-in URL on a 401).
    // A route with a step-up rule asks for its acr_values/max_age in this first login already (no second round trip).
    private async Task<AuthOutcome> ChallengeAsync(
        AuthRequest request, string reason, PolicyRules route, bool startLogins, CancellationToken cancellationToken) =>
        (startLogins ? RequestClassifier.ChallengeFor(request.Method, request.Headers) : ChallengeKind.Unauthorized) switch
        {
            ChallengeKind.Unauthorized => new AuthOutcome.LoginRequired(reason, InvalidToken: false, login.LoginUrlFor(request)),
            // Single sign-on: a joining host asks the auth host first, which may hold the login already.
            var kind when sso.Joins(request) => sso.RedirectToAuthHost(request, seeOther: kind == ChallengeKind.RedirectSeeOther),
            var kind => await login.StartAsync(
                request.Origin,
                ReturnUrl.For(request.Origin, request.PathAndQuery),
                seeOther: kind == ChallengeKind.RedirectSeeOther,
                challenged: true,
                cancellationToken,
                requestHeaders: request.Headers,
                stepUp: route.StepUp.IsEmpty ? null : route.StepUp).ConfigureAwait(false),
        };

    private AuthOutcome Decide(
        UserIdentity identity, string? accessToken, PolicyRules route, string source, string? reissuedCookie = null, string? idToken = null) =>
        AccessPolicy.RefusedBy(identity, _configured, route) is { } refusedBy
            ? new AuthOutcome.Deny(identity) { Note = Note("policy denied by " + refusedBy, source, route) }
            : new AuthOutcome.Allow(identity, accessToken, reissuedCookie, idToken) { Note = Note("allowed", source, route) };

    private string SourceOf(ResolvedSession session) => session.Source switch
    {
        SessionSource.StoreRecord => "store record (" + StoreNow() + ")",
        SessionSource.AdoptedCookie => "sealed cookie adopted into the store (" + StoreNow() + ")",
        _ => "sealed cookie, store unreachable",
    };

    // Which store answered, as far as this layer can tell without reaching into the cache: the cache mode (hybrid
    // reads its L1 first), or the memory fallback while the breaker is open — read from the breaker gauge, which the
    // breaker sets on every transition (0 closed, 1 open, 2 half-open). For the Debug line only.
    private string StoreNow() => metrics.CircuitBreakerState.Value switch
    {
        1 => "memory fallback, breaker open",
        2 => "breaker half-open: Redis probed, else the memory fallback",
        _ => _storeKind,
    };

    private DecisionNote Note(string reason, string source, PolicyRules route) =>
        new(reason, source, route.IsEmpty ? "configured " + _configured.Summary() : "configured " + _configured.Summary() + "; route " + route.Summary());

    /// <summary>The token of an <c>Authorization: Bearer</c> header; other schemes are the application's business.</summary>
    internal static string? BearerToken(IHeaderDictionary headers)
    {
        var value = headers[HeaderNames.Authorization].ToString();
        const string scheme = "Bearer ";
        if (!value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return value[scheme.Length..].Trim();
    }
}
