using System.Diagnostics;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>/auth</c>, the forwardAuth address: parse the forwarded request, let <see cref="AuthExchange"/> produce the
/// complete outcome, write it as HTTP, count the decision.
/// </summary>
internal static class VerifyEndpoint
{
    public static async Task HandleAsync(
        HttpContext context,
        [FromServices] ForwardAuthOptions options,
        [FromServices] AuthExchange exchange,
        [FromServices] ForwardAuthMetrics metrics,
        [FromServices] EndpointLogger log)
    {
        var started = Stopwatch.GetTimestamp();
        string? label = "error";
        try
        {
            var request = ForwardedRequest.TryParseForwarded(context.Request, options, out var error);
            if (request is null)
            {
                Log.ForwardedRequestRejected(log.Logger, error!);
                await Responses.Json(context.Response, StatusCodes.Status400BadRequest, "invalid_request", error!);
                label = "bad_request";
                return;
            }

            var outcome = Unforwardable(context, request, options, log.Logger)
                ?? await exchange.HandleAsync(request.ForAuth(), PolicyRules.FromQuery(context.Request.Query), context.RequestAborted);
            await AuthAnswers.WriteAsync(context, request, outcome, options);
            label = outcome.DecisionLabel;
        }
        finally
        {
            // Callback, logout and login start are steps of a login, counted by their own metrics, not decisions.
            if (label is not null)
            {
                metrics.RecordDecision(label, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        }
    }

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
