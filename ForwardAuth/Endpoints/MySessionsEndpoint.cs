using System.Text.Json;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>/oauth2/sessions</c>, served by ForwardAuth itself (the proxy routes the path to it on each protected host):
/// GET lists the user's sessions (HTML, or JSON for <c>Accept: application/json</c>); POST
/// <c>?revoke=&lt;id|all&gt;&amp;csrf=&lt;token&gt;</c> ends one or all but the current one — 303 back to the page for a
/// form, 200 JSON for a JSON client. <see cref="MySessions"/> decides; this only writes its outcomes.
/// </summary>
internal static class MySessionsEndpoint
{
    public const string Path = "/oauth2/sessions";

    public static Task ListAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] MySessions flow) =>
        AnswerAsync(context, options, flow.ListAsync);

    public static Task RevokeAsync(HttpContext context, [FromServices] ForwardAuthOptions options, [FromServices] MySessions flow) =>
        AnswerAsync(context, options, flow.RevokeAsync);

    private static async Task AnswerAsync(HttpContext context, ForwardAuthOptions options, Func<AuthRequest, CancellationToken, Task<AuthOutcome>> flow)
    {
        var request = ForwardedRequest.FromDirect(context.Request, options, out var error);
        if (request is null)
        {
            await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
            return;
        }

        var outcome = await flow(request.ForAuth(), context.RequestAborted);
        var response = context.Response;
        var json = WantsJson(context.Request);
        switch (outcome)
        {
            case AuthOutcome.SessionsListed listed when json:
                await WriteJsonAsync(response, StatusCodes.Status200OK, new SessionsJson(listed.Sessions.Select(SessionJson.Of).ToList(), listed.CsrfToken));
                break;

            case AuthOutcome.SessionsListed listed:
                SessionsPage.Secure(response);
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "text/html; charset=utf-8";
                await response.WriteAsync(SessionsPage.Render(listed, Path, options.LogoutPath, EndedNotice(context.Request)));
                break;

            case AuthOutcome.SessionsEnded ended when json:
                await WriteJsonAsync(response, StatusCodes.Status200OK, new EndedJson(ended.Ended, ended.Kind));
                break;

            case AuthOutcome.SessionsEnded ended:
                Responses.Redirect(response, StatusCodes.Status303SeeOther, Path + "?ended=" + ended.Ended.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;

            case AuthOutcome.SessionsRefused refused when json:
                await Responses.Json(response, refused.Status, refused.Error, refused.Reason);
                break;

            case AuthOutcome.SessionsRefused refused:
                SessionsPage.Secure(response);
                await Responses.Page(response, refused.Status, "My sessions", refused.Reason, Path);
                break;

            default:
                await AuthAnswers.WriteAsync(context, request, outcome, options);
                break;
        }
    }

    // JSON for a client that asks for it and not for HTML (a browser's Accept names text/html).
    private static bool WantsJson(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        return accept.Contains("application/json", StringComparison.OrdinalIgnoreCase) && !accept.Contains("text/html", StringComparison.OrdinalIgnoreCase);
    }

    // The notice after a form post (?ended=<n>): a number only, never text from the query.
    private static int? EndedNotice(HttpRequest request) =>
        request.Query["ended"] is { Count: 1 } values && int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 10_000
            ? n
            : null;

    private static Task WriteJsonAsync<T>(HttpResponse response, int status, T body)
    {
        response.StatusCode = status;
        Responses.NoStore(response);
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions));
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private sealed record SessionsJson(IReadOnlyList<SessionJson> Sessions, string Csrf);

    private sealed record EndedJson(int Ended, string Kind);

    /// <summary>One session in the JSON answer: what the page shows; null where an older session did not record it.</summary>
    private sealed record SessionJson(string Id, bool Current, DateTimeOffset Created, DateTimeOffset? LastSeen, string? Browser, string? Ip)
    {
        public static SessionJson Of(SessionSummary s) => new(s.Id, s.Current, s.CreatedAt, s.LastSeenAt, s.Browser, s.Address);
    }
}
