using System.Text.Json;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The nginx <c>auth_request</c> protocol (and so ingress-nginx's <c>auth-url</c>): <c>/oauth2/auth</c> answers 202
/// with the identity headers, 401 (nginx's <c>error_page 401</c> sends a browser to <c>/oauth2/start?rd=</c>) or 403 —
/// never a redirect, which nginx would turn into a 500. <c>/oauth2/userinfo</c> shows the identity as JSON.
/// </summary>
internal static class NginxEndpoints
{
    public const string AuthPath = "/oauth2/auth";
    public const string UserInfoPath = "/oauth2/userinfo";

    public static Task AuthAsync(
        HttpContext context,
        [FromServices] ForwardAuthOptions options,
        [FromServices] AuthExchange exchange,
        [FromServices] ForwardAuthMetrics metrics,
        [FromServices] EndpointLogger log) =>
        VerifyEndpoint.DecideAsync(
            context,
            AuthPath,
            ForwardedRequest.TryParseOriginal,
            exchange.DecideWithoutRedirectAsync,
            StatusCodes.Status202Accepted,
            options,
            metrics,
            log.Logger,
            bannedStatus: StatusCodes.Status403Forbidden);

    /// <summary>The identity of a valid session or bearer token as JSON; 401 JSON without one, 403 when the configured rules refuse it.</summary>
    public static async Task UserInfoAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] AuthExchange exchange)
    {
        var request = ForwardedRequest.FromDirect(context.Request, options, out var error);
        if (request is null)
        {
            await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
            return;
        }

        switch (await exchange.WhoAmIAsync(request.ForAuth(), context.RequestAborted))
        {
            case AuthOutcome.Allow { Identity: { } identity }:
                Responses.NoStore(context.Response);
                context.Response.ContentType = "application/json";
                var claims = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                foreach (var claim in options.ClaimHeaders)
                {
                    claims[claim.HeaderName] = identity.ClaimValues.GetValueOrDefault(claim.ClaimPath);
                }

                await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["user"] = identity.Identifier,
                    ["email"] = identity.Email,
                    ["groups"] = identity.Groups ?? [],
                    ["preferred_username"] = identity.PreferredUsername,
                    ["claims"] = claims,
                }));
                return;

            case AuthOutcome.Deny:
                await Responses.Json(context.Response, StatusCodes.Status403Forbidden, "forbidden", "you are signed in but not allowed to access this service");
                return;

            case AuthOutcome.TooManyAttempts banned:
                await AuthAnswers.WriteAsync(context.Response, banned);
                return;

            default:
                await Responses.Json(context.Response, StatusCodes.Status401Unauthorized, "unauthorized", "no valid session or bearer token");
                return;
        }
    }
}
