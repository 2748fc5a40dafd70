using ForwardAuth.Auth;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>frontchannelLogoutURL</c> (only mapped when <c>enableFrontchannelLogout</c>): the provider's logout page loads it
/// in an iframe with <c>iss</c> and <c>sid</c>; <see cref="LogoutFlow"/> ends the sessions of that sid. No session
/// cookie is needed (a third-party iframe often has none). 200 with a tiny page, 400 with the reason otherwise.
/// </summary>
internal static class FrontchannelLogoutEndpoint
{
    public static async Task HandleAsync(HttpContext context, [FromServices] LogoutFlow logout)
    {
        var query = context.Request.Query;
        var outcome = await logout.FrontchannelAsync(query["iss"].ToString(), query["sid"].ToString(), context.RequestAborted);
        await AuthAnswers.WriteAsync(context.Response, outcome);
    }
}
