using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Login start, callback and logout served by ForwardAuth itself (an auth-host deployment). The same flows answer
/// through <c>/auth</c> when the proxy forwards the protected host's own paths (<see cref="AuthExchange"/>).
/// </summary>
internal static class LoginEndpoints
{
    public static Task CallbackAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] LoginFlow login) =>
        AnswerAsync(context, options, login.CompleteAsync);

    public static Task LogoutAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] LogoutFlow logout) =>
        AnswerAsync(context, options, logout.LogoutAsync);

    public static Task StartAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] LoginFlow login) =>
        AnswerAsync(context, options, login.StartFromRdAsync);

    /// <summary>Single sign-on on the auth host: a ticket for <c>?rd=</c>, or a login here first.</summary>
    public static Task SsoIssueAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] SsoFlow sso) =>
        AnswerAsync(context, options, sso.IssueAsync);

    /// <summary>Single sign-on on a joining host routed straight to ForwardAuth: redeems a ticket.</summary>
    public static Task SsoTicketAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] SsoFlow sso) =>
        AnswerAsync(context, options, sso.RedeemAsync);

    private static async Task AnswerAsync(HttpContext context, ForwardAuthOptions options, Func<AuthRequest, CancellationToken, Task<AuthOutcome>> flow)
    {
        var request = ForwardedRequest.FromDirect(context.Request, options, out var error);
        if (request is null)
        {
            await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
            return;
        }

        await AuthAnswers.WriteAsync(context, request, await flow(request.ForAuth(), context.RequestAborted), options);
    }
}
