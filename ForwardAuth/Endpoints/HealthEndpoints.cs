using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using Microsoft.AspNetCore.Mvc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// <c>/healthz</c>: the process answers (never touches Redis). <c>/readyz</c>: the service can decide — provider
/// metadata loaded; Redis down is "degraded", still ready. <c>/health</c>: the reference document's JSON.
/// </summary>
internal static class HealthEndpoints
{
    public static IResult Live() => Results.Json(new { status = "ok" });

    public static async Task<IResult> ReadyAsync([FromServices] ProviderMetadata metadata, [FromServices] ICacheBackend cache, CancellationToken cancellationToken)
    {
        if (!metadata.IsLoaded)
        {
            return Results.Json(new { status = "not_ready", reason = "OpenID provider metadata not loaded yet" }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var health = await cache.HealthAsync(cancellationToken);
        return Results.Json(new { status = health.Healthy ? "ready" : "degraded" });
    }

    public static async Task<IResult> DetailedAsync(
        [FromServices] ProviderMetadata metadata,
        [FromServices] ICacheBackend cache,
        [FromServices] ForwardAuthOptions options,
        [FromServices] IServiceProvider services,
        CancellationToken cancellationToken)
    {
        var health = await cache.HealthAsync(cancellationToken);
        var memory = services.GetService<MemoryCacheBackend>();
        var resilient = services.GetService<ResilientCacheBackend>();
        var usesRedis = options.Redis.Enabled && options.Redis.CacheMode != CacheMode.Memory;
        var status = !metadata.IsLoaded ? "unhealthy" : health.Healthy ? "healthy" : "degraded";
        return Results.Json(new Dictionary<string, object?>
        {
            ["status"] = status,
            ["provider"] = new { loaded = metadata.IsLoaded },
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
