using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Endpoints;

/// <summary>
/// On ASP.NET health checks (<see cref="Observability.ProviderHealthCheck"/>, <see cref="Observability.CacheHealthCheck"/>):
/// <c>/healthz</c> runs none (the process answers; never touches Redis); <c>/readyz</c> runs both — not ready until
/// the provider's metadata is loaded, and a store outage is "degraded", still ready; <c>/health</c> is the reference
/// document's JSON built from the same report.
/// </summary>
internal static class HealthEndpoints
{
    public static Task WriteLiveAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new { status = "ok" });

    public static Task WriteReadyAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new
        {
            status = report.Status switch { HealthStatus.Healthy => "ready", HealthStatus.Degraded => "degraded", _ => "not_ready" },
            reason = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description).FirstOrDefault(),
        });

    public static async Task<IResult> DetailedAsync(
        [FromServices] HealthCheckService checks,
        [FromServices] ForwardAuthOptions options,
        [FromServices] IServiceProvider services,
        CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(cancellationToken);
        var health = report.Entries.TryGetValue("cache", out var entry) && entry.Data.TryGetValue("health", out var h) && h is CacheHealth ch
            ? ch
            : new CacheHealth(false, null, entry.Description);
        var memory = services.GetService<MemoryCacheBackend>();
        var resilient = services.GetService<ResilientCacheBackend>();
        var usesRedis = options.Redis.Enabled && options.Redis.CacheMode != CacheMode.Memory;
        var status = report.Status switch { HealthStatus.Healthy => "healthy", HealthStatus.Degraded => "degraded", _ => "unhealthy" };
        return Results.Json(new Dictionary<string, object?>
        {
            ["status"] = status,
            ["provider"] = new { loaded = report.Entries.TryGetValue("provider", out var provider) && provider.Status == HealthStatus.Healthy },
            ["cache"] = new Dictionary<string, object?>
            {
                ["mode"] = usesRedis ? options.Redis.CacheMode.ToString().ToLowerInvariant() : "memory",
                ["redis"] = usesRedis ? RedisSection(health, services.GetRequiredService<RedisConnection>()) : null,
                ["memory"] = memory is null ? null : new { entries = memory.Count, size = FormatBytes(memory.Bytes) },
                ["local"] = services.GetService<HybridCacheBackend>() is { } hybrid ? new { entries = hybrid.Local.Count, size = FormatBytes(hybrid.Local.Bytes) } : null,
                ["circuit_breaker"] = resilient is null ? null : new
                {
                    state = resilient.Breaker.State switch { CircuitState.Open => "open", CircuitState.HalfOpen => "half-open", _ => "closed" },
                    failures = resilient.Breaker.ConsecutiveFailures,
                },
                ["outage_journal"] = resilient is null ? null : new { entries = resilient.Journal.Count, dropped = resilient.Journal.Dropped },
            },
        }, statusCode: status == "unhealthy" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    // StackExchange.Redis multiplexes one connection per node: the "pool" is those connections — active = connected,
    // idle is always 0 (nothing waits in a pool), total = every known node.
    private static object RedisSection(CacheHealth health, RedisConnection connection)
    {
        var (connected, disconnected) = connection.ServerCounts();
        return new
        {
            connected = health.Healthy,
            latency = health.Latency is { } l ? $"{l.TotalMilliseconds:0.###}ms" : null,
            pool = new { active = connected, idle = 0, total = connected + disconnected },
            error = health.Problem,
        };
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes}B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#}KB",
        _ => $"{bytes / (1024.0 * 1024):0.#}MB",
    };
}
