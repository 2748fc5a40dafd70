using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>backchannelLogoutURL</c>: the provider POSTs a signed <c>logout_token</c> in a form body; <see cref="LogoutFlow"/>
/// ends the sessions. 200 on success, 400 with an OAuth error otherwise (the specification's answers).
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    public static async Task HandleAsync(HttpContext context, [FromServices] LogoutFlow logout, [FromServices] ForwardAuthOptions options)
    {
        var logoutToken = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted))["logout_token"].ToString()
            : "";
        var outcome = await logout.BackchannelAsync(logoutToken, context.RequestAborted);
        if (outcome is AuthOutcome.BackchannelLoggedOut)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            Responses.NoStore(context.Response);
        }
        else if (outcome is AuthOutcome.BadRequest bad)
        {
            await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", bad.Reason);
        }
    }
}
