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
    TokenValidator tokens,
    SessionStore sessions,
    SessionRefresher refresher,
    LoginFlow login,
    ForwardAuthOptions options,
    ForwardAuthMetrics metrics,
    ILogger<RequestVerifier> logger)
{
    private readonly PolicyRules _configured = new(options.AllowedUsers, options.AllowedUserDomains, options.AllowedRolesAndGroups);

    public async Task<AuthOutcome> VerifyAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken)
    {
        if (options.AllowCorsPreflight && RequestClassifier.IsCorsPreflight(request.Method, request.Headers))
        {
            return new AuthOutcome.Allow(null, null);
        }

        if (PathRules.IsExcluded(request.Path, options.ExcludedUrls))
        {
            return new AuthOutcome.Allow(null, null);
        }

        if (BearerToken(request.Headers) is { } bearer)
        {
            return await VerifyBearerAsync(request, bearer, route, cancellationToken).ConfigureAwait(false);
        }

        return await refresher.GetFreshAsync(request.Cookie(sessions.CookieName), cancellationToken).ConfigureAwait(false) switch
        {
            SessionLookup.Found found => Decide(found.Record.Identity, found.Record.AccessToken, route, found.Session.ReissuedCookie, found.Record.IdToken),
            SessionLookup.Missing missing => await ChallengeAsync(request, missing.Reason, cancellationToken).ConfigureAwait(false),
            _ => await ChallengeAsync(request, "session ended by the provider", cancellationToken).ConfigureAwait(false),
        };
    }

    private async Task<AuthOutcome> VerifyBearerAsync(AuthRequest request, string bearer, PolicyRules route, CancellationToken cancellationToken)
    {
        var check = await tokens.ValidateAccessTokenAsync(bearer, cancellationToken).ConfigureAwait(false);
        if (!check.IsValid)
        {
            return RefuseBearer(request, check.Error!, check.Error!);
        }

        if (await sessions.IsAccessTokenRevokedAsync(bearer, cancellationToken).ConfigureAwait(false))
        {
            return RefuseBearer(request, "revoked by a logout", "token revoked");
        }

        return Decide(check.Identity!, bearer, route);
    }

    private AuthOutcome.LoginRequired RefuseBearer(AuthRequest request, string logged, string reason)
    {
        Log.BearerRejected(logger, logged);
        metrics.BearerRejections.Inc();
        return new AuthOutcome.LoginRequired(reason, InvalidToken: true, login.LoginUrlFor(request));
    }

    // No valid credentials: a browser is sent to log in (302, or 303 after a form post), an API client gets 401.
    private async Task<AuthOutcome> ChallengeAsync(AuthRequest request, string reason, CancellationToken cancellationToken) =>
        RequestClassifier.ChallengeFor(request.Method, request.Headers) switch
        {
            ChallengeKind.Unauthorized => new AuthOutcome.LoginRequired(reason, InvalidToken: false, login.LoginUrlFor(request)),
            var kind => await login.StartAsync(
                request.Origin,
                ReturnUrl.For(request.Origin, request.PathAndQuery),
                seeOther: kind == ChallengeKind.RedirectSeeOther,
                challenged: true,
                cancellationToken).ConfigureAwait(false),
        };

    private AuthOutcome Decide(UserIdentity identity, string? accessToken, PolicyRules route, string? reissuedCookie = null, string? idToken = null) =>
        AccessPolicy.Allows(identity, _configured, route)
            ? new AuthOutcome.Allow(identity, accessToken, reissuedCookie, idToken)
            : new AuthOutcome.Deny(identity);

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
