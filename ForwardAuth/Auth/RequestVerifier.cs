using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using Microsoft.Net.Http.Headers;

namespace ForwardAuth.Auth;

/// <summary>The original request, as far as the decision needs it.</summary>
internal sealed record AuthRequest(string Method, string Path, IHeaderDictionary Headers, string? SessionCookie);

/// <summary>
/// The decision core: bearer token or session cookie → identity → policy. No HttpContext here; the endpoint turns the
/// <see cref="AuthDecision"/> into HTTP.
/// </summary>
internal sealed class RequestVerifier(
    TokenValidator tokens,
    SessionStore sessions,
    SessionRefresher refresher,
    ForwardAuthOptions options,
    ForwardAuthMetrics metrics,
    ILogger<RequestVerifier> logger)
{
    private readonly PolicyRules _configured = new(options.AllowedUsers, options.AllowedUserDomains, options.AllowedRolesAndGroups);

    // Shared by every identity without claim headers (read-only), instead of a new dictionary per request.
    private static readonly IReadOnlyDictionary<string, string> NoClaimValues = new Dictionary<string, string>();

    public async Task<AuthDecision> VerifyAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken)
    {
        if (options.AllowCorsPreflight && RequestClassifier.IsCorsPreflight(request.Method, request.Headers))
        {
            return new AuthDecision.Allow(null, null);
        }

        if (PathRules.IsExcluded(request.Path, options.ExcludedUrls))
        {
            return new AuthDecision.Allow(null, null);
        }

        if (BearerToken(request.Headers) is { } bearer)
        {
            var check = await tokens.ValidateAccessTokenAsync(bearer, cancellationToken).ConfigureAwait(false);
            if (!check.IsValid)
            {
                Log.BearerRejected(logger, check.Error!);
                metrics.BearerRejections.Inc();
                return new AuthDecision.Challenge(ChallengeKind.Unauthorized, check.Error!, InvalidToken: true);
            }

            if (await sessions.IsAccessTokenRevokedAsync(bearer, cancellationToken).ConfigureAwait(false))
            {
                Log.BearerRejected(logger, "revoked by a logout");
                metrics.BearerRejections.Inc();
                return new AuthDecision.Challenge(ChallengeKind.Unauthorized, "token revoked", InvalidToken: true);
            }

            return Decide(check.Identity!, bearer, route);
        }

        var session = await sessions.ResolveAsync(request.SessionCookie, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            var reason = string.IsNullOrEmpty(request.SessionCookie) ? "no session" : "session invalid or ended";
            return new AuthDecision.Challenge(RequestClassifier.ChallengeFor(request.Method, request.Headers), reason, InvalidToken: false);
        }

        var record = await refresher.EnsureFreshAsync(session, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new AuthDecision.Challenge(RequestClassifier.ChallengeFor(request.Method, request.Headers), "session ended by the provider", InvalidToken: false);
        }

        var identity = new UserIdentity(
            record.Subject,
            record.Identifier,
            record.Email,
            record.PreferredUsername,
            record.Groups,
            record.ClaimValues ?? NoClaimValues);
        return Decide(identity, record.AccessToken, route, session.ReissuedCookie);
    }

    private AuthDecision Decide(UserIdentity identity, string? accessToken, PolicyRules route, string? reissuedCookie = null) =>
        AccessPolicy.Allows(identity, _configured, route)
            ? new AuthDecision.Allow(identity, accessToken, reissuedCookie)
            : new AuthDecision.Deny(identity);

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
