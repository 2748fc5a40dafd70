using System.Buffers.Text;
using System.Security.Cryptography;
using Duende.IdentityModel.OidcClient;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// The authorization code flow with PKCE S256, <c>state</c> and <c>nonce</c>. Each attempt travels sealed in its own
/// per-login cookie (<see cref="LoginCookie"/>): starting a login writes nothing to the shared store. The callback opens
/// the cookie of its <c>state</c> and consumes the state exactly once across all replicas with a single-use marker.
/// </summary>
internal sealed class LoginFlow(
    LoginCookie loginCookies,
    LoginSessions sessions,
    ReplayGuard replay,
    Regulator regulation,
    OidcProtocol protocol,
    TokenValidator tokens,
    UserinfoClaims userinfo,
    RequestedScopes requestedScopes,
    ForwardAuthOptions options,
    TimeProvider time,
    ForwardAuthMetrics metrics,
    ILogger<LoginFlow> logger)
{
    public string BindingCookiePrefix => loginCookies.NamePrefix;

    public string RedirectUriFor(string origin) => options.AbsoluteCallbackUrl?.AbsoluteUri ?? origin + options.CallbackPath;

    /// <summary>Where a browser would start a login and come back to this request (the 401's <c>X-Auth-Redirect</c>).</summary>
    public string LoginUrlFor(AuthRequest request) =>
        request.Origin + options.LoginPath + "?rd=" + Uri.EscapeDataString(request.PathAndQuery);

    /// <summary>The login path (<c>/oauth2/start?rd=</c>): a login whose return URL obeys the open-redirect rules.</summary>
    public Task<AuthOutcome> StartFromRdAsync(AuthRequest request, CancellationToken cancellationToken) =>
        StartAsync(request.Origin, ReturnUrl.FromRd(request.Origin, request.QueryValue("rd"), options.CookieDomain), seeOther: false, challenged: false, cancellationToken, request.Headers);

    /// <param name="requestHeaders">
    /// The starting request's headers: the login cookies it already carries, of which the oldest are expired so that a
    /// browser holds at most <see cref="PendingLoginCookies.Max"/>.
    /// </param>
    /// <param name="stepUp">A route's step-up rule: the login asks for its <c>acr_values</c>/<c>max_age</c> and is marked as a step-up.</param>
    public async Task<AuthOutcome> StartAsync(
        string origin, string returnUrl, bool seeOther, bool challenged, CancellationToken cancellationToken,
        IHeaderDictionary? requestHeaders = null, StepUpRule? stepUp = null) =>
        await BeginAsync(
            RedirectUriFor(origin), returnUrl, seeOther, challenged, retried: false, requestHeaders,
            stepUp is { Acr.Count: > 0 } ? stepUp.Acr : null, stepUp?.MaxAgeSeconds, cancellationToken).ConfigureAwait(false);

    private async Task<AuthOutcome.LoginRedirect> BeginAsync(
        string redirectUri, string returnUrl, bool seeOther, bool challenged, bool retried, IHeaderDictionary? requestHeaders,
        IReadOnlyList<string>? acr, long? maxAge, CancellationToken cancellationToken)
    {
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var authorize = await protocol.PrepareLoginAsync(redirectUri, nonce, acr, maxAge, cancellationToken).ConfigureAwait(false);
        var state = authorize.State;
        var now = time.GetUtcNow();
        var sealedLogin = loginCookies.Seal(new PendingLogin(state, nonce, authorize.CodeVerifier, returnUrl, authorize.RedirectUri, now.ToUnixTimeMilliseconds(), retried, acr, maxAge));
        var loginId = LoginCookie.IdOf(state);
        var stale = requestHeaders is null ? [] : PendingLoginCookies.Stale(requestHeaders, loginCookies, now);
        if (stale.Count > 0)
        {
            Log.PendingLoginCookiesExpired(logger, stale.Count, loginId);
        }

        Log.LoginStarted(logger, new Uri(redirectUri).Authority, loginId);
        metrics.LoginsStarted.Inc();
        return new AuthOutcome.LoginRedirect(authorize.StartUrl, loginCookies.NameFor(state), sealedLogin, LoginCookie.Lifetime, seeOther, challenged)
        {
            StaleBindingCookies = stale,
        };
    }

    /// <summary>The callback: the provider's answer to one login, on whichever replica it lands.</summary>
    public async Task<AuthOutcome> CompleteAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var state = request.QueryValue("state");
        if (string.IsNullOrEmpty(state) || state.Length > 200)
        {
            return Fail(400, "missing_state", "the callback has no state");
        }

        // A state is a credential: a banned client's is not looked at; an unknown or used one counts against it.
        if (await regulation.RefusalAsync(request, cancellationToken).ConfigureAwait(false) is { } banned)
        {
            metrics.LoginsFailed.WithLabels("too_many_attempts").Inc();
            return banned with { Note = new DecisionNote($"client {request.Client} banned by regulation ({banned.RetryAfterSeconds} s left)", "login state", "-") };
        }

        var device = new LoginDevice(UserAgents.Describe(request.Headers.UserAgent.ToString()), request.Client.Length is > 0 and <= 64 ? request.Client : null);
        var outcome = await CompleteAsync(state, request.QueryValue("code"), request.QueryValue("error"), request.Cookie, device, cancellationToken).ConfigureAwait(false);
        if (outcome is AuthOutcome.SignInFailed { Code: "unknown_state" or "state_replay" })
        {
            await regulation.FailedAsync(request, "state", cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<AuthOutcome> CompleteAsync(
        string state, string? code, string? providerError, Func<string, string?> readCookie, LoginDevice device, CancellationToken cancellationToken)
    {
        var loginId = LoginCookie.IdOf(state);
        var bindingCookieName = loginCookies.NameFor(state);

        // The login lives only in the cookie of the browser that started it: without it, this browser never started
        // it, or it expired (the browser dropped the cookie), or it was used (the callback cleared the cookie).
        var value = readCookie(bindingCookieName);
        if (string.IsNullOrEmpty(value))
        {
            return Fail(403, "unknown_state", "this login has expired or was already used, or was started in another browser", bindingCookieName);
        }

        // Tampered, sealed by another deployment's key, or past its 10 minutes: as a state nobody issued.
        var record = loginCookies.TryOpen(value);
        var now = time.GetUtcNow();
        var age = record is null ? TimeSpan.MaxValue : now - DateTimeOffset.FromUnixTimeMilliseconds(record.CreatedAt);
        if (record is null || age > LoginCookie.Lifetime || age < -TokenValidator.ClockSkew)
        {
            return Fail(403, "unknown_state", "this login has expired or was already used", bindingCookieName);
        }

        // A cookie of another login of ours under this login's name: checked before the state is consumed, so a stolen
        // state cannot burn the login of the browser that started it.
        if (!LoginCookie.IsFor(record, state))
        {
            return Fail(403, "other_browser", "this login was started in another browser", bindingCookieName);
        }

        // Exactly once across all replicas: the only store write of a login, and only now, for what is left of its life.
        var remaining = LoginCookie.Lifetime - age;
        switch (await replay.TryUseStateOnceAsync(state, remaining > TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false))
        {
            case SingleUse.Replayed:
                metrics.ReplayRejections.WithLabels("state").Inc();
                return Fail(403, "state_replay", "this login was already used", bindingCookieName);
            case SingleUse.CannotGuarantee:
                const string reason = "the login state's single use cannot be guaranteed while the shared store is unreachable (replayProtection: closed)";
                Log.StoreUnavailable(logger, "callback", reason);
                metrics.LoginsFailed.WithLabels("store_unavailable").Inc();
                return new AuthOutcome.TryAgainLater(reason);
        }

        if (!string.IsNullOrEmpty(providerError))
        {
            return Fail(403, "provider_error", "the provider refused the login: " + Printable(providerError), bindingCookieName);
        }

        if (string.IsNullOrEmpty(code))
        {
            return Fail(400, "missing_code", "the callback has no code", bindingCookieName);
        }

        return await FinishAsync(code, record, loginId, bindingCookieName, readCookie, device, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AuthOutcome> FinishAsync(
        string code, PendingLogin record, string loginId, string bindingCookieName, Func<string, string?> readCookie, LoginDevice device,
        CancellationToken cancellationToken)
    {
        // OidcClient exchanges the code and has our validator check the ID token (with this login's nonce).
        var login = new AuthorizeState { State = record.State, CodeVerifier = record.CodeVerifier, RedirectUri = record.RedirectUri };
        var exchange = await protocol.ExchangeCodeAsync(code, login, record.Nonce, cancellationToken).ConfigureAwait(false);
        var response = exchange.Answer;
        if (response is { IsError: true, Error: "invalid_grant" } && !record.Retried)
        {
            // The provider voided the code (e.g. another login of the same browser finished at the same moment): a
            // fresh login usually succeeds where a 403 would be a dead end. Once only: the new record says so.
            Log.LoginRetriedAfterRefusedCode(logger, loginId);
            metrics.LoginsFailed.WithLabels("code_refused_retried").Inc();
            var restarted = await BeginAsync(
                record.RedirectUri, record.ReturnTo, seeOther: false, challenged: false, retried: true, requestHeaders: null, record.StepUpAcr, record.StepUpMaxAge, cancellationToken)
                .ConfigureAwait(false);
            return restarted with { StaleBindingCookies = [bindingCookieName] };
        }

        if (response is null || response.IsError || string.IsNullOrEmpty(response.IdentityToken))
        {
            var error = response is null ? Printable(exchange.Refusal ?? "error") : response.IsError ? Printable(response.Error ?? "error") : "no id_token in the response";
            // 401 from the token endpoint: this service's client credentials are wrong, not the user's login.
            Log.TokenExchangeFailed(logger, response?.HttpStatusCode == System.Net.HttpStatusCode.Unauthorized
                ? error + ": the provider refused the client; check clientID, clientSecret and tokenEndpointAuthMethod"
                : error);
            var status = response is null || response.ErrorType == Duende.IdentityModel.Client.ResponseErrorType.Protocol || !response.IsError ? 403 : 502;
            return Fail(status, "code_exchange", "the provider did not accept the login (" + error + ")", bindingCookieName);
        }

        if (exchange.IdTokenVerdict is not { IsValid: true } check)
        {
            return Fail(403, "id_token_invalid", "the ID token is not valid: " + exchange.IdTokenVerdict.Error, bindingCookieName);
        }

        var idToken = check.Token!;
        if (!options.DisableReplayDetection)
        {
            var jti = idToken.TryGetPayloadValue<string>("jti", out var j) && !string.IsNullOrEmpty(j) ? j : response.IdentityToken;
            var ttl = idToken.ValidTo - time.GetUtcNow().UtcDateTime + TokenValidator.ClockSkew;
            ttl = ttl > options.JtiCacheTtl ? options.JtiCacheTtl : ttl;
            switch (await replay.TryUseOnceAsync("id_token:" + jti, ttl > TimeSpan.Zero ? ttl : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false))
            {
                case SingleUse.Replayed:
                    metrics.ReplayRejections.WithLabels("id_token").Inc();
                    return Fail(403, "id_token_replay", "this ID token was already used (replay)", bindingCookieName);
                case SingleUse.CannotGuarantee:
                    const string reason = "the ID token's single use cannot be guaranteed while the shared store is unreachable (replayProtection: closed)";
                    Log.StoreUnavailable(logger, "callback", reason);
                    metrics.LoginsFailed.WithLabels("store_unavailable").Inc();
                    return new AuthOutcome.TryAgainLater(reason);
            }
        }

        // strictAudienceValidation (the plugin's meaning): a JWT access token issued for another audience (another API)
        // refuses the session instead of being carried along on the strength of the ID token. Opaque tokens pass.
        if (options.StrictAudienceValidation && response.AccessToken is { } accessToken
            && (await tokens.ValidateAccessTokenAsync(accessToken, cancellationToken).ConfigureAwait(false)).Error == TokenErrors.WrongAudience)
        {
            return Fail(403, "access_token_audience", "the access token is for another audience than " + await tokens.AccessTokenAudienceAsync(cancellationToken).ConfigureAwait(false) + " (strictAudienceValidation)", bindingCookieName);
        }

        LogScopesNotGranted(response.Scope, loginId);
        if (GroupOverage.In(idToken))
        {
            Log.GroupOverageDetected(logger, loginId, options.GroupClaimName);
        }

        var identity = check.Identity!;
        if (options.ClaimsFromUserinfo)
        {
            var merged = await userinfo.ForLoginAsync(idToken, response.AccessToken, cancellationToken).ConfigureAwait(false);
            if (merged.Identity is null)
            {
                return merged.SubjectMismatch
                    ? Fail(403, "userinfo_subject", "the provider's userinfo answer is about another user (sub)", bindingCookieName)
                    : Fail(502, "userinfo", "the provider's userinfo endpoint did not answer (" + Printable(merged.Error ?? "error") + ")", bindingCookieName);
            }

            identity = merged.Identity;
        }

        var cookie = await sessions.SignInAsync(record, loginId, identity, idToken, response, readCookie, device, cancellationToken).ConfigureAwait(false);
        Log.LoginCompleted(logger, identity.Identifier, loginId);
        metrics.LoginsCompleted.Inc();
        return new AuthOutcome.SignedIn(cookie, record.ReturnTo, bindingCookieName);
    }

    /// <summary>
    /// Partial consent: each scope asked for but absent from the token response's <c>scope</c>, logged once for this
    /// login. No <c>scope</c> in the response means all were granted (RFC 6749 §5.1).
    /// </summary>
    private void LogScopesNotGranted(string? grantedScope, string loginId)
    {
        if (string.IsNullOrWhiteSpace(grantedScope))
        {
            return;
        }

        var granted = grantedScope.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var scope in requestedScopes.Current.Where(s => !granted.Contains(s)).Distinct(StringComparer.Ordinal))
        {
            Log.ScopeNotGranted(logger, loginId, scope);
        }
    }

    private AuthOutcome.SignInFailed Fail(int status, string code, string reason, string? bindingCookieName = null)
    {
        Log.LoginFailed(logger, reason);
        metrics.LoginsFailed.WithLabels(code).Inc();
        return new AuthOutcome.SignInFailed(status, reason, bindingCookieName) { Code = code };
    }

    // Provider error codes are echoed to the user: keep them short and printable.
    private static string Printable(string s) => new(s.Where(c => c is >= ' ' and < (char)127 and not '<' and not '>' and not '&').Take(100).ToArray());
}

/// <summary>What a session records of the browser that logged in, for My sessions: a short description and the client's address.</summary>
internal readonly record struct LoginDevice(string? Browser, string? Address);
