using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ForwardAuth.Observability;
using Prometheus;

namespace ForwardAuth.Endpoints;

/// <summary>The route table, on one screen.</summary>
internal static class EndpointMappings
{
    public static WebApplication MapForwardAuth(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<ForwardAuthOptions>();

        // The forwardAuth address. Traefik always sends GET; any method is judged the same way.
        app.Map("/auth", VerifyEndpoint.HandleAsync);

        // nginx auth_request (ingress-nginx auth-url): 202/401/403, never a redirect; and the identity as JSON.
        app.Map(NginxEndpoints.AuthPath, NginxEndpoints.AuthAsync);
        app.MapGet(NginxEndpoints.UserInfoPath, NginxEndpoints.UserInfoAsync);

        // Served directly for auth-host deployments (and reachable through the forward-auth exchange as well).
        app.Map(options.CallbackPath, LoginEndpoints.CallbackAsync);
        app.Map(options.LogoutPath, LoginEndpoints.LogoutAsync);
        app.Map(options.LoginPath, LoginEndpoints.StartAsync);

        // My sessions: routed by the proxy to ForwardAuth itself on each protected host; it reads its own session cookie.
        app.MapMethods(MySessionsEndpoint.Path, ["GET", "HEAD"], MySessionsEndpoint.ListAsync);
        app.MapPost(MySessionsEndpoint.Path, MySessionsEndpoint.RevokeAsync).DisableAntiforgery();

        // Single sign-on across domains: the auth host's ticket issuer, and the ticket path of joining hosts.
        if (options.Sso is not null)
        {
            app.MapGet(SsoOptions.IssuePath, LoginEndpoints.SsoIssueAsync);
            app.MapGet(SsoOptions.TicketPath, LoginEndpoints.SsoTicketAsync);
        }

        // Called by the provider itself, server to server: route it to ForwardAuth directly, not through forwardAuth.
        app.MapPost(options.BackchannelLogoutPath, BackchannelLogoutEndpoint.HandleAsync).DisableAntiforgery();

        // Loaded by the provider's logout page in an iframe (OIDC Front-Channel Logout 1.0): route it to ForwardAuth directly.
        if (options.EnableFrontchannelLogout)
        {
            app.MapGet(options.FrontchannelLogoutPath, FrontchannelLogoutEndpoint.HandleAsync);
        }

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthEndpoints.WriteLiveAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            ResponseWriter = HealthEndpoints.WriteReadyAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        app.MapGet("/health", HealthEndpoints.DetailedAsync);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ForwardAuthMetrics>().Registry);
        return app;
    }
}
