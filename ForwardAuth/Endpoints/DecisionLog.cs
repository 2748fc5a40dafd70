using System.Diagnostics;
using ForwardAuth.Auth;
using ForwardAuth.Observability;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The Debug line that explains one decision (<c>/auth</c>, <c>/oauth2/auth</c>): outcome and status, why, where the
/// session came from, the rules applied, elapsed time and the replica. Only identifiers and reasons: the path without
/// its query, never a token, cookie value or secret.
/// </summary>
internal static class DecisionLog
{
    /// <summary>This replica: the machine (a pod's name) and the process.</summary>
    public static readonly string Replica = Environment.MachineName + "/" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static void Write(ILogger logger, string endpoint, HttpContext context, ForwardedRequest? request, AuthOutcome? outcome, string label, long started)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var note = outcome?.Note;
        var reason = note?.Reason ?? outcome switch
        {
            AuthOutcome.BadRequest bad => bad.Reason,
            null => "the request failed before a decision (see the error logged with it)",
            _ => outcome.GetType().Name,
        };
        var user = outcome switch
        {
            AuthOutcome.Allow { Identity: { } identity } => identity.Identifier,
            AuthOutcome.Deny deny => deny.Identity.Identifier,
            _ => "-",
        };
        Log.Decision(
            logger,
            label,
            context.Response.StatusCode,
            endpoint,
            request?.Method ?? context.Request.Method,
            request is null ? "-" : IdentityHeaders.Clean(request.Host + request.Path),
            Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2),
            IdentityHeaders.Clean(reason),
            note?.Source ?? "none",
            IdentityHeaders.Clean(user),
            note?.Rules ?? "-",
            Replica);
    }
}
