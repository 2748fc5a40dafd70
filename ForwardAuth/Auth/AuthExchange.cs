using ForwardAuth.Configuration;

namespace ForwardAuth.Auth;

/// <summary>
/// One forward-auth exchange, top to bottom: the login callback, the logout and the login start live on the protected
/// host's own paths (the proxy sends them through <c>/auth</c> like any request); everything else is a decision.
/// </summary>
internal sealed class AuthExchange(RequestVerifier verifier, LoginFlow login, LogoutFlow logout, ForwardAuthOptions options)
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

        if (request.Path == options.LoginPath)
        {
            return login.StartFromRdAsync(request, cancellationToken);
        }

        return verifier.VerifyAsync(request, route, cancellationToken);
    }
}
