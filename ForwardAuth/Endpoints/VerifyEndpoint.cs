using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using System.Diagnostics;
using ForwardAuth.Observability;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>/auth</c>, the forwardAuth address: parses the forwarded request, hands callback/logout/login paths to their
/// handlers, and turns the verifier's decision into 200 + identity headers, 302/303 to the provider, 401 or 403.
/// </summary>
internal static class VerifyEndpoint
{
    public static async Task HandleAsync(
        HttpContext context,
        [FromServices] ForwardAuthOptions options,
        [FromServices] RequestVerifier verifier,
        [FromServices] LoginFlow login,
        [FromServices] ForwardAuthMetrics metrics,
        [FromServices] ILogger<RequestVerifier> logger)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        var decided = true;
        try
        {
            decided = await DecideAsync(context, options, verifier, login, logger);
            outcome = Outcome(context.Response.StatusCode);
        }
        finally
        {
            // Callback, logout and login start are steps of a login, counted by their own metrics, not decisions.
            if (decided)
            {
                metrics.RecordDecision(outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        }
    }

    // A bounded set of outcome labels (metric cardinality): the answer's class, not its details.
    private static string Outcome(int status) => status switch
    {
        200 => "allow",
        302 or 303 => "challenge",
        401 => "unauthorized",
        403 => "forbidden",
        400 => "bad_request",
        _ => "error",
    };

    /// <summary>Answers the forward-auth call; false when it was a login step (callback, logout, start), not a decision.</summary>
    private static async Task<bool> DecideAsync(
        HttpContext context, ForwardAuthOptions options, RequestVerifier verifier, LoginFlow login, ILogger logger)
    {
        var response = context.Response;
        var request = ForwardedRequest.TryParseForwarded(context.Request, options, out var error);
        if (request is null)
        {
            Log.ForwardedRequestRejected(logger, error!);
            await Responses.Json(response, StatusCodes.Status400BadRequest, "invalid_request", error!);
            return true;
        }

        if (!request.FromTrustedProxy && context.Request.Headers.ContainsKey("X-Forwarded-Uri"))
        {
            Log.UntrustedPeer(logger, context.Connection.RemoteIpAddress?.ToString() ?? "?");
        }

        if (IdentityHeaders.FindSmuggled(request.Headers, options) is { } smuggled)
        {
            Log.ForwardedRequestRejected(logger, "identity header look-alike " + IdentityHeaders.Clean(smuggled));
            await Responses.Json(response, StatusCodes.Status400BadRequest, "invalid_request", "a request header imitates an identity header");
            return true;
        }

        if (request.Path == options.CallbackPath && options.AbsoluteCallbackUrl is null)
        {
            await LoginEndpoints.CallbackAsync(context, request, options, login);
            return false;
        }

        if (request.Path == options.LogoutPath)
        {
            await LoginEndpoints.LogoutAsync(context, request);
            return false;
        }

        if (request.Path == options.LoginPath)
        {
            await LoginEndpoints.StartAsync(context, request, options, login);
            return false;
        }

        var authRequest = new AuthRequest(request.Method, request.Path, request.Headers, AuthCookies.Read(request.Headers, options.CookiePrefix + "session"));
        var decision = await verifier.VerifyAsync(authRequest, PolicyRules.FromQuery(context.Request.Query), context.RequestAborted);
        await WriteAsync(context, request, decision, options, login);
        return true;
    }

    private static async Task WriteAsync(HttpContext context, ForwardedRequest request, AuthDecision decision, ForwardAuthOptions options, LoginFlow login)
    {
        var response = context.Response;
        switch (decision)
        {
            case AuthDecision.Allow allow:
                response.StatusCode = StatusCodes.Status200OK;
                Responses.NoStore(response);
                IdentityHeaders.Write(response.Headers, allow.Identity, allow.AccessToken, options);
                if (allow.ReissuedSessionCookie is { } reissued)
                {
                    // Reaches the browser where the proxy passes auth cookies on (Traefik: addAuthCookiesToResponse).
                    AuthCookies.Set(response, request, options, options.CookiePrefix + "session", reissued, options.SessionMaxAge);
                }

                if (options.StripAuthCookies)
                {
                    response.Headers.Cookie = AuthCookies.WithoutOwnCookies(request.Headers, options.CookiePrefix);
                }

                break;

            case AuthDecision.Deny:
                await Responses.Json(response, StatusCodes.Status403Forbidden, "forbidden", "you are signed in but not allowed to access this resource");
                break;

            case AuthDecision.Challenge { Kind: ChallengeKind.Unauthorized } challenge:
                var loginUrl = request.Origin + options.LoginPath + "?rd=" + Uri.EscapeDataString(request.PathAndQuery);
                response.Headers["X-Auth-Redirect"] = loginUrl;
                response.Headers.WWWAuthenticate = challenge.InvalidToken
                    ? $"Bearer realm=\"forwardauth\", error=\"invalid_token\", error_description=\"{challenge.Reason}\""
                    : "Bearer realm=\"forwardauth\"";
                await Responses.Json(response, StatusCodes.Status401Unauthorized, challenge.InvalidToken ? "invalid_token" : "unauthorized", challenge.Reason);
                break;

            case AuthDecision.Challenge challenge:
                var status = challenge.Kind == ChallengeKind.Redirect ? StatusCodes.Status302Found : StatusCodes.Status303SeeOther;
                await LoginEndpoints.RedirectToProviderAsync(context, request, options, login, ReturnUrl.For(request.Origin, request.PathAndQuery), status);
                break;
        }
    }
}
