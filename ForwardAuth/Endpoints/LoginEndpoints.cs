using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Login start, callback and logout. Each answers both through the forward-auth exchange (the protected host's path in
/// <c>X-Forwarded-Uri</c>) and when called on ForwardAuth directly (an auth-host deployment).
/// </summary>
internal static class LoginEndpoints
{
    public static Task CallbackDirectAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] LoginFlow login) =>
        Direct(context, options, request => CallbackAsync(context, request, options, login));

    public static Task LogoutDirectAsync(HttpContext context, [FromServices] ForwardAuthOptions options) =>
        Direct(context, options, request => LogoutAsync(context, request));

    public static Task StartDirectAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] LoginFlow login) =>
        Direct(context, options, request => StartAsync(context, request, options, login));

    public static async Task CallbackAsync(HttpContext context, ForwardedRequest request, ForwardAuthOptions options, LoginFlow login)
    {
        var query = QueryHelpers(request.Query);
        var outcome = await login.CompleteAsync(
            query.GetValueOrDefault("state"),
            query.GetValueOrDefault("code"),
            query.GetValueOrDefault("error"),
            name => AuthCookies.Read(request.Headers, name),
            context.RequestAborted);

        var response = context.Response;
        switch (outcome)
        {
            case LoginOutcome.Success success:
                AuthCookies.Clear(response, request, options, success.BindingCookieName);
                AuthCookies.Set(response, request, options, options.CookiePrefix + "session", success.SessionCookie, options.SessionMaxAge);
                Responses.Redirect(response, StatusCodes.Status302Found, success.ReturnUrl);
                break;
            case LoginOutcome.Failure failure:
                if (failure.BindingCookieName is not null)
                {
                    AuthCookies.Clear(response, request, options, failure.BindingCookieName);
                }

                await Responses.Page(response, failure.Status, "Sign-in failed", failure.Reason, request.Origin + "/");
                break;
            case LoginOutcome.TryAgainLater unavailable:
                await OutageResponses.StoreUnavailableAsync(context, unavailable.Reason);
                break;
        }
    }

    public static async Task StartAsync(HttpContext context, ForwardedRequest request, ForwardAuthOptions options, LoginFlow login)
    {
        var rd = QueryHelpers(request.Query).GetValueOrDefault("rd");
        await RedirectToProviderAsync(context, request, options, login, ReturnUrl.FromRd(request.Origin, rd, options.CookieDomain), StatusCodes.Status302Found);
    }

    public static async Task RedirectToProviderAsync(
        HttpContext context, ForwardedRequest request, ForwardAuthOptions options, LoginFlow login, string returnUrl, int status)
    {
        var start = await login.StartAsync(request.Origin, returnUrl, context.RequestAborted);
        AuthCookies.Set(context.Response, request, options, start.BindingCookieName, start.BindingValue, LoginStore.Lifetime);
        Responses.Redirect(context.Response, status, start.AuthorizeUrl);
    }

    /// <summary>
    /// Ends the session in the store (every replica refuses it at once), revokes the refresh token, clears the cookie
    /// and sends the browser to the provider's end-session endpoint.
    /// </summary>
    public static async Task LogoutAsync(HttpContext context, ForwardedRequest request)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<ForwardAuthOptions>();
        var sessions = services.GetRequiredService<SessionStore>();
        var protocol = services.GetRequiredService<OidcProtocol>();
        var logger = services.GetRequiredService<ILogger<SessionStore>>();
        var cancellationToken = context.RequestAborted;

        var session = await sessions.ResolveAsync(AuthCookies.Read(request.Headers, sessions.CookieName), cancellationToken);
        string? idToken = null;
        if (session is not null)
        {
            idToken = session.Record.IdToken;
            // The composed store never throws for an outage: while Redis is unreachable the revocation is journalled.
            await sessions.EndAsync(session.Handle, session.Record, cancellationToken);

            if (session.Record.RefreshToken is { } refreshToken && await protocol.RevokeRefreshTokenAsync(refreshToken, cancellationToken) is { } revokeError)
            {
                Log.RevocationFailed(logger, revokeError);
            }

            Log.LoggedOut(logger, session.Record.Identifier);
            services.GetRequiredService<ForwardAuthMetrics>().Logouts.WithLabels("rp").Inc();
        }

        AuthCookies.Clear(context.Response, request, options, sessions.CookieName);
        var afterLogout = options.PostLogoutRedirectUri.Length > 0 ? options.PostLogoutRedirectUri : request.Origin + "/";
        var endSession = await protocol.EndSessionUrlAsync(idToken, afterLogout, cancellationToken);
        Responses.Redirect(context.Response, StatusCodes.Status302Found, endSession ?? afterLogout);
    }

    private static async Task Direct(HttpContext context, ForwardAuthOptions options, Func<ForwardedRequest, Task> handler)
    {
        var request = ForwardedRequest.FromDirect(context.Request, options, out var error);
        if (request is null)
        {
            await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
            return;
        }

        await handler(request);
    }

    private static Dictionary<string, string> QueryHelpers(string query)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query);
        // A repeated parameter is ambiguous: treat it as absent rather than pick one.
        return parsed.Where(p => p.Value.Count == 1).ToDictionary(p => p.Key, p => p.Value[0] ?? "", StringComparer.Ordinal);
    }
}
