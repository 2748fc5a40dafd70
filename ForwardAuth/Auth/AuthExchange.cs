using ForwardAuth.Configuration;

namespace ForwardAuth.Auth;

/// <summary>
/// One forward-auth exchange, top to bottom: the login callback, the logout and the login start live on the protected
/// host's own paths (the proxy sends them through <c>/auth</c> like any request); everything else is a decision.
/// </summary>
internal sealed class AuthExchange(RequestVerifier verifier, LoginFlow login, LogoutFlow logout, SsoFlow sso, ForwardAuthOptions options)
{
    public Task<AuthOutcome> HandleAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken)
    {
        // With an absolute callbackURL the callback is served on the auth host, never on a protected host's path.
        if (request.Path == options.CallbackPath && options.AbsoluteCallbackUrl is null)
        {
            return login.CompleteAsync(request, cancellationToken);
        }

        if (request.Path == options.LogoutPath)
        {
            return logout.LogoutAsync(request, cancellationToken);
        }

        // Single sign-on: the ticket from the auth host is redeemed on the joining host's own path.
        if (options.Sso is not null && request.Path == SsoOptions.TicketPath)
        {
            return sso.RedeemAsync(request, cancellationToken);
        }

        if (request.Path == options.LoginPath)
        {
            return login.StartFromRdAsync(request, cancellationToken);
        }

        return verifier.VerifyAsync(request, route, cancellationToken);
    }

    /// <summary>
    /// nginx <c>auth_request</c> (<c>/oauth2/auth</c>): only a decision — allow, 401 or 403, never a login started. The
    /// sign-in, callback and logout paths reach ForwardAuth directly through the proxy's <c>/oauth2/</c> location.
    /// </summary>
    public Task<AuthOutcome> DecideWithoutRedirectAsync(AuthRequest request, PolicyRules route, CancellationToken cancellationToken) =>
        verifier.VerifyWithoutRedirectAsync(request, route, cancellationToken);

    /// <summary><c>/oauth2/userinfo</c>: who the session or bearer token is (the configured rules apply, no route's).</summary>
    public Task<AuthOutcome> WhoAmIAsync(AuthRequest request, CancellationToken cancellationToken) =>
        verifier.VerifyWithoutRedirectAsync(request, PolicyRules.None, cancellationToken);
}
