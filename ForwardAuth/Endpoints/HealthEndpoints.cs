using ForwardAuth.Observability;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Endpoints;

/// <summary>
/// On ASP.NET health checks (<see cref="ProviderHealthCheck"/>, <see cref="CacheHealthCheck"/>): <c>/healthz</c> runs
/// none (the process answers; never touches Redis); <c>/readyz</c> runs them all — not ready until the provider's metadata
/// is loaded and the store's first connection attempt has finished (<see cref="StoreStartupHealthCheck"/>, bounded), and a store outage (or an open breaker) is "degraded", still ready; <c>/health</c> is the reference
/// document's JSON built from the same report and the store's diagnostics view.
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
        [FromServices] IStoreDiagnostics store,
        CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(r => !r.Tags.Contains(StoreStartupHealthCheck.Tag), cancellationToken);
        var cache = report.Entries.TryGetValue("cache", out var entry) ? entry : default;
        var probe = cache.Data?.GetValueOrDefault(CacheHealthCheck.ProbeKey) as StoreProbe ?? new StoreProbe(false, null, cache.Description);
        var snapshot = cache.Data?.GetValueOrDefault(CacheHealthCheck.SnapshotKey) as StoreSnapshot ?? store.Snapshot();
        var status = report.Status switch { HealthStatus.Healthy => "healthy", HealthStatus.Degraded => "degraded", _ => "unhealthy" };
        return Results.Json(new Dictionary<string, object?>
        {
            ["status"] = status,
            ["provider"] = new { loaded = report.Entries.TryGetValue("provider", out var provider) && provider.Status == HealthStatus.Healthy },
            ["cache"] = new Dictionary<string, object?>
            {
                ["mode"] = snapshot.Mode,
                ["redis"] = snapshot.Redis is { } redis ? RedisSection(probe, snapshot, redis) : null,
                ["memory"] = new { entries = snapshot.MemoryEntries, size = FormatBytes(snapshot.MemoryBytes) },
                ["local"] = snapshot.LocalEntries is { } local ? new { entries = local, size = FormatBytes(snapshot.LocalBytes ?? 0) } : null,
                ["circuit_breaker"] = snapshot.Breaker is { } breaker ? new { state = breaker.State, failures = breaker.ConsecutiveFailures } : null,
                ["outage_journal"] = snapshot.Journal is { } journal ? new { entries = journal.Entries, dropped = journal.Dropped } : null,
            },
        }, statusCode: status == "unhealthy" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    // "connected" is what the service acts on: Redis answers and the breaker lets calls through to it. StackExchange.Redis
    // multiplexes one connection per node: the "pool" is those connections — active = connected, idle is always 0
    // (nothing waits in a pool), total = every known node.
    private static object RedisSection(StoreProbe probe, StoreSnapshot snapshot, RedisLinkSnapshot redis) => new
    {
        connected = probe.Reachable && snapshot.BreakerClosed,
        latency = probe.Latency is { } l ? $"{l.TotalMilliseconds:0.###}ms" : null,
        pool = new { active = redis.ServersConnected, idle = 0, total = redis.ServersConnected + redis.ServersDisconnected },
        error = probe.Problem ?? (snapshot.BreakerClosed ? null : CacheHealthCheck.BreakerProblem(snapshot)),
    };

    private static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes}B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#}KB",
        _ => $"{bytes / (1024.0 * 1024):0.#}MB",
    };
}
