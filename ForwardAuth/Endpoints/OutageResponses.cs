using ForwardAuth.Observability;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Outages of a dependency become a clear 502/503 instead of a 500: the provider unreachable (an exception from the
/// provider's HTTP client), or the shared store unable to guarantee single use (a value from Auth/Sessions, written by
/// <see cref="StoreUnavailableAsync"/>). Never a stack trace, never a secret.
/// </summary>
internal static class OutageResponses
{
    public static IApplicationBuilder UseOutageResponses(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && IsProviderOutage(e))
        {
            Log.ProviderUnavailable(Logger(context), e.GetType().Name);
            context.Response.Clear();
            await Responses.Json(context.Response, StatusCodes.Status502BadGateway, "provider_unavailable", "the OpenID provider could not be reached");
        }
    });

    /// <summary>503 with <c>Retry-After: 5</c>: the shared store cannot guarantee what this request needs right now.</summary>
    public static Task StoreUnavailableAsync(HttpContext context, string reason)
    {
        Log.StoreUnavailable(Logger(context), context.Request.Path, reason);
        context.Response.Clear();
        context.Response.Headers.RetryAfter = "5";
        return Responses.Json(context.Response, StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "the session store is unavailable; try again shortly");
    }

    // ConfigurationManager reports an unreachable discovery document as InvalidOperationException (IDX20803).
    private static bool IsProviderOutage(Exception e) =>
        e is HttpRequestException || (e is InvalidOperationException && e.Message.Contains("IDX20803", StringComparison.Ordinal))
        || (e is TaskCanceledException && e.InnerException is TimeoutException);

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ForwardAuth.Outages");
}
