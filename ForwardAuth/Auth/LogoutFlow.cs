using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// Every way a session ends at the user's or the provider's request. RP-initiated (<c>logoutURL</c>): the session is
/// deleted in the store (every replica refuses it at once), its refresh token revoked, and the browser sent to the
/// provider's end-session endpoint. Back-channel (<c>backchannelLogoutURL</c>): the provider's signed
/// <c>logout_token</c>, accepted once, ends every session of its <c>sid</c> (or, without one, of its <c>sub</c>).
/// Front-channel (<c>frontchannelLogoutURL</c>, when <c>enableFrontchannelLogout</c>): the provider's logout page loads
/// the URL in an iframe with <c>iss</c> and <c>sid</c>; when <c>iss</c> is the provider's issuer, every session of that
/// <c>sid</c> ends, on every replica (the same sid index as back-channel logout).
/// </summary>
internal sealed class LogoutFlow(
    SessionStore sessions,
    ReplayGuard replay,
    OidcProtocol protocol,
    TokenValidator tokens,
    ForwardAuthOptions options,
    ForwardAuthMetrics metrics,
    ILogger<LogoutFlow> logger)
{
    public async Task<AuthOutcome> LogoutAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var session = await sessions.ResolveAsync(request.Cookie(sessions.CookieName), cancellationToken).ConfigureAwait(false);
        string? idToken = null;
        if (session is not null)
        {
            var handleHash = StoreKeys.Hash(session.Handle);
            var record = await sessions.WithTokensAsync(handleHash, session.Record, cancellationToken).ConfigureAwait(false);
            idToken = record.IdToken;
            await EndSessionAsync(handleHash, record, cancellationToken).ConfigureAwait(false);
            if (session.Record.LoginId is { } loginId)
            {
                // Single sign-on: the whole login ends, on every domain it reached (markers on every replica).
                Log.SsoLoginEnded(logger, loginId, await sessions.EndLoginAsync(loginId, cancellationToken).ConfigureAwait(false));
            }

            Log.LoggedOut(logger, session.Record.Identity.Identifier);
            metrics.Logouts.WithLabels("rp").Inc();
        }

        var afterLogout = options.PostLogoutRedirectUri.Length > 0 ? options.PostLogoutRedirectUri : request.Origin + "/";
        var endSession = await protocol.EndSessionUrlAsync(idToken, afterLogout, cancellationToken).ConfigureAwait(false);
        return new AuthOutcome.SignedOut(endSession ?? afterLogout);
    }

    /// <summary>
    /// Ends one session as a logout does, on every replica at once: revocation marker and record delete (and its access
    /// token marked revoked), then its refresh token revoked at the provider where it has one. Also used by My sessions.
    /// </summary>
    public async Task EndSessionAsync(string handleHash, SessionRecord record, CancellationToken cancellationToken)
    {
        // The tokens (a decision and My sessions read none) before the records go: the refresh token is revoked below.
        record = await sessions.WithTokensAsync(handleHash, record, cancellationToken).ConfigureAwait(false);

        // While Redis is unreachable the revocation is journalled and reaches it when the circuit closes.
        await sessions.EndByHashAsync(handleHash, record, cancellationToken).ConfigureAwait(false);

        if (record.RefreshToken is { } refreshToken
            && await protocol.RevokeRefreshTokenAsync(refreshToken, cancellationToken).ConfigureAwait(false) is { } revokeError)
        {
            Log.RevocationFailed(logger, revokeError);
        }
    }

    /// <summary>200 when the token was accepted (however many sessions it ended), 400 with the reason otherwise.</summary>
    public async Task<AuthOutcome> BackchannelAsync(string logoutToken, CancellationToken cancellationToken)
    {
        if (logoutToken.Length == 0)
        {
            return Refuse("no logout_token in a form body");
        }

        var check = await tokens.ValidateLogoutTokenAsync(logoutToken, cancellationToken).ConfigureAwait(false);
        if (!check.IsValid)
        {
            return Refuse(check.Error!);
        }

        var token = check.Token!;
        var jti = token.GetPayloadValue<string>("jti");
        switch (await replay.TryUseOnceAsync("logout_token:" + jti, options.JtiCacheTtl, cancellationToken).ConfigureAwait(false))
        {
            case SingleUse.Replayed:
                metrics.ReplayRejections.WithLabels("logout_token").Inc();
                return Refuse("this logout_token was already used");
            case SingleUse.CannotGuarantee:
                const string reason = "the logout_token's single use cannot be guaranteed while the shared store is unreachable (replayProtection: closed)";
                Log.StoreUnavailable(logger, "back-channel logout", reason);
                return new AuthOutcome.TryAgainLater(reason);
        }

        var sid = token.TryGetPayloadValue<string>("sid", out var s) ? s : null;
        var sub = token.TryGetPayloadValue<string>("sub", out var u) ? u : null;
        var ended = await sessions.EndAllAsync(sid, sub, cancellationToken).ConfigureAwait(false);
        Log.BackchannelLogout(logger, ended);
        metrics.Logouts.WithLabels("backchannel").Inc(ended);
        return new AuthOutcome.BackchannelLoggedOut(ended);
    }

    /// <summary>200 when <paramref name="iss"/> is the provider's issuer and a <paramref name="sid"/> is given (however many sessions it ended), 400 otherwise.</summary>
    public async Task<AuthOutcome> FrontchannelAsync(string iss, string sid, CancellationToken cancellationToken)
    {
        if (sid.Length == 0)
        {
            return RefuseFrontchannel("no sid query parameter");
        }

        if (iss.Length == 0)
        {
            return RefuseFrontchannel("no iss query parameter");
        }

        var issuer = await protocol.IssuerAsync(cancellationToken).ConfigureAwait(false);
        if (issuer is null)
        {
            return RefuseFrontchannel("the provider's issuer cannot be checked: discovery is unavailable");
        }

        if (!string.Equals(iss, issuer, StringComparison.Ordinal))
        {
            return RefuseFrontchannel("iss is not the provider's issuer");
        }

        var ended = await sessions.EndAllAsync(sid, null, cancellationToken).ConfigureAwait(false);
        Log.FrontchannelLogout(logger, ended);
        metrics.Logouts.WithLabels("frontchannel").Inc(ended);
        return new AuthOutcome.FrontchannelLoggedOut(ended);
    }

    private AuthOutcome.BadRequest RefuseFrontchannel(string reason)
    {
        Log.FrontchannelLogoutRefused(logger, reason);
        return new AuthOutcome.BadRequest(reason);
    }

    private AuthOutcome.BadRequest Refuse(string reason)
    {
        Log.BackchannelLogoutRefused(logger, reason);
        return new AuthOutcome.BadRequest(reason);
    }
}
