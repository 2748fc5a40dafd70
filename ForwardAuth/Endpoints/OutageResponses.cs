using ForwardAuth.Observability;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The provider unreachable (an exception from its HTTP client or the discovery manager) becomes a clear 502 instead of
/// a 500. Never a stack trace, never a secret. (The shared store never throws for an outage: what it cannot guarantee
/// comes back from Auth as <c>AuthOutcome.TryAgainLater</c>, a 503.)
/// </summary>
internal static class OutageResponses
{
    public static IApplicationBuilder UseOutageResponses(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("ForwardAuth.Outages");
        return app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted && IsProviderOutage(e))
            {
                Log.ProviderUnavailable(logger, e.GetType().Name);
                context.Response.Clear();
                await Responses.Json(context.Response, StatusCodes.Status502BadGateway, "provider_unavailable", "the OpenID provider could not be reached");
            }
        });
    }

    // ConfigurationManager reports an unreachable discovery document as InvalidOperationException (IDX20803).
    private static bool IsProviderOutage(Exception e) =>
        e is HttpRequestException || (e is InvalidOperationException && e.Message.Contains("IDX20803", StringComparison.Ordinal))
        || (e is TaskCanceledException && e.InnerException is TimeoutException);
}
