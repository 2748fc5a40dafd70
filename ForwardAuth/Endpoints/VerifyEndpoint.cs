using System.Diagnostics;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>/auth</c>, the forwardAuth address: parse the forwarded request, let <see cref="AuthExchange"/> produce the
/// complete outcome, write it as HTTP, count the decision and explain it at Debug.
/// </summary>
internal static class VerifyEndpoint
{
    public static Task HandleAsync(
        HttpContext context,
        [FromServices] ForwardAuthOptions options,
        [FromServices] AuthExchange exchange,
        [FromServices] ForwardAuthMetrics metrics,
        [FromServices] EndpointLogger log) =>
        DecideAsync(
            context,
            "/auth",
            ForwardedRequest.TryParseForwarded,
            (request, route, ct) => exchange.HandleAsync(request, route, ct),
            StatusCodes.Status200OK,
            options,
            metrics,
            log.Logger);

    /// <summary>
    /// One decision endpoint: parse (400 when malformed), refuse identity-header look-alikes, decide, answer (an allow
    /// with <paramref name="allowStatus"/>), count it in the decision metrics and write its Debug line.
    /// </summary>
    internal static async Task DecideAsync(
        HttpContext context,
        string endpoint,
        ParseRequest parse,
        Func<AuthRequest, PolicyRules, CancellationToken, Task<AuthOutcome>> decide,
        int allowStatus,
        ForwardAuthOptions options,
        ForwardAuthMetrics metrics,
        ILogger logger,
        int bannedStatus = StatusCodes.Status429TooManyRequests)
    {
        var started = Stopwatch.GetTimestamp();
        string? label = "error";
        ForwardedRequest? request = null;
        AuthOutcome? outcome = null;
        try
        {
            request = parse(context.Request, options, out var error);
            if (request is null)
            {
                Log.ForwardedRequestRejected(logger, error!);
                outcome = new AuthOutcome.BadRequest(error!);
                await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
                label = "bad_request";
                return;
            }

            var route = PolicyRules.TryFromQuery(context.Request.Query, out var ruleError);
            if (route is null)
            {
                // The rule is the middleware's address (configuration), not the client's request: never the forwarded URI.
                Log.StepUpRuleInvalid(logger, endpoint, ruleError!);
                outcome = new AuthOutcome.BadRequest(ruleError!);
                await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", ruleError!);
                label = "bad_request";
                return;
            }

            outcome = Unforwardable(context, request, options, logger)
                ?? await decide(request.ForAuth(), route, context.RequestAborted);
            await AuthAnswers.WriteAsync(context, request, outcome, options, allowStatus, bannedStatus);
            label = outcome.DecisionLabel;
        }
        finally
        {
            // Callback, logout and login start are steps of a login, counted by their own metrics, not decisions.
            if (label is not null)
            {
                metrics.RecordDecision(label, Stopwatch.GetElapsedTime(started).TotalSeconds);
                DecisionLog.Write(logger, endpoint, context, request, outcome, label, started);
            }
        }
    }

    internal delegate ForwardedRequest? ParseRequest(HttpRequest request, ForwardAuthOptions options, out string? error);

    // A request whose headers imitate an identity header is refused before anything is judged.
    private static AuthOutcome.BadRequest? Unforwardable(HttpContext context, ForwardedRequest request, ForwardAuthOptions options, ILogger logger)
    {
        if (!request.FromTrustedProxy && context.Request.Headers.ContainsKey("X-Forwarded-Uri"))
        {
            Log.UntrustedPeer(logger, context.Connection.RemoteIpAddress?.ToString() ?? "?");
        }

        if (IdentityHeaders.FindSmuggled(request.Headers, options) is { } smuggled)
        {
            Log.ForwardedRequestRejected(logger, "identity header look-alike " + IdentityHeaders.Clean(smuggled));
            return new AuthOutcome.BadRequest("a request header imitates an identity header");
        }

        return null;
    }
}
