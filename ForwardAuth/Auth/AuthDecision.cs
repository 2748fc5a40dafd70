using ForwardAuth.Oidc;

namespace ForwardAuth.Auth;

/// <summary>What <c>/auth</c> answers; the endpoint maps it to HTTP.</summary>
internal abstract record AuthDecision
{
    private AuthDecision()
    {
    }

    /// <summary>
    /// 200 with identity headers (all empty for an excluded path or a preflight). <paramref name="ReissuedSessionCookie"/>
    /// is the session cookie sealed again under the current key after a key rotation.
    /// </summary>
    public sealed record Allow(UserIdentity? Identity, string? AccessToken, string? ReissuedSessionCookie = null) : AuthDecision;

    /// <summary>No valid credentials: log in (302/303) for a browser, 401 for an API client.</summary>
    public sealed record Challenge(ChallengeKind Kind, string Reason, bool InvalidToken) : AuthDecision;

    /// <summary>Authenticated but not allowed here: 403, never a redirect.</summary>
    public sealed record Deny(UserIdentity Identity) : AuthDecision;
}

internal enum ChallengeKind
{
    /// <summary>Browser navigation with GET/HEAD: 302 to the provider.</summary>
    Redirect,

    /// <summary>Browser form or other method: 303 to the provider.</summary>
    RedirectSeeOther,

    /// <summary>API or XHR: 401 with <c>WWW-Authenticate</c> and the login URL in <c>X-Auth-Redirect</c>.</summary>
    Unauthorized,
}
