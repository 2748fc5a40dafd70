using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>backchannelLogoutURL</c>: the provider POSTs a signed <c>logout_token</c>; every session of its <c>sid</c> (or,
/// without one, of its <c>sub</c>) ends on every replica. The token's <c>jti</c> is accepted once. 200 on success,
/// 400 with an OAuth error otherwise (the specification's answers).
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    public static async Task HandleAsync(
        HttpContext context,
        [FromServices] TokenValidator tokens,
        [FromServices] ReplayGuard replay,
        [FromServices] SessionStore sessions,
        [FromServices] ForwardAuthOptions options,
        [FromServices] ForwardAuthMetrics metrics,
        [FromServices] ILogger<SessionStore> logger)
    {
        var response = context.Response;
        var logoutToken = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted))["logout_token"].ToString()
            : "";
        if (logoutToken.Length == 0)
        {
            await Refuse(response, logger, "no logout_token in a form body");
            return;
        }

        var check = await tokens.ValidateLogoutTokenAsync(logoutToken, context.RequestAborted);
        if (!check.IsValid)
        {
            await Refuse(response, logger, check.Error!);
            return;
        }

        var token = check.Token!;
        var jti = token.GetPayloadValue<string>("jti");
        switch (await replay.TryUseOnceAsync("logout_token:" + jti, options.JtiCacheTtl, context.RequestAborted))
        {
            case SingleUse.Replayed:
                metrics.ReplayRejections.WithLabels("logout_token").Inc();
                await Refuse(response, logger, "this logout_token was already used");
                return;
            case SingleUse.CannotGuarantee:
                await OutageResponses.StoreUnavailableAsync(context, "the logout_token's single use cannot be guaranteed while the shared store is unreachable (replayProtection: closed)");
                return;
        }

        var sid = token.TryGetPayloadValue<string>("sid", out var s) ? s : null;
        var sub = token.TryGetPayloadValue<string>("sub", out var u) ? u : null;
        var ended = await sessions.EndAllAsync(sid, sub, context.RequestAborted);
        Log.BackchannelLogout(logger, ended);
        metrics.Logouts.WithLabels("backchannel").Inc(ended);
        response.StatusCode = StatusCodes.Status200OK;
        Responses.NoStore(response);
    }

    private static Task Refuse(HttpResponse response, ILogger logger, string reason)
    {
        Log.BackchannelLogoutRefused(logger, reason);
        return Responses.Json(response, StatusCodes.Status400BadRequest, "invalid_request", reason);
    }
}
