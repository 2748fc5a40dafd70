using ForwardAuth.Auth;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>backchannelLogoutURL</c>: the provider POSTs a signed <c>logout_token</c> in a form body; <see cref="LogoutFlow"/>
/// ends the sessions. 200 on success, 400 with an OAuth error otherwise (the specification's answers).
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    public static async Task HandleAsync(HttpContext context, [FromServices] LogoutFlow logout)
    {
        var logoutToken = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted))["logout_token"].ToString()
            : "";
        await AuthAnswers.WriteAsync(context.Response, await logout.BackchannelAsync(logoutToken, context.RequestAborted));
    }
}
