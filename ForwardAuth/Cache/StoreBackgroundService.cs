using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Cache;

/// <summary>
/// The store's background work, started with the host and stopped with it: opens the Redis connection at start (without
/// waiting for Redis: <c>AbortOnConnectFail=false</c>), subscribes hybrid mode's invalidation channel, and runs the
/// resilient layer's health monitor. Nothing of this starts in a constructor.
/// </summary>
internal sealed class StoreBackgroundService(
    RedisOptions redis,
    RedisConnection? connection,
    ResilientCacheBackend? resilient,
    HybridCacheBackend? hybrid,
    ILogger<StoreBackgroundService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (resilient is null)
        {
            if (redis.Enabled)
            {
                Log.RedisEnabledButMemoryMode(logger);
            }
            else
            {
                Log.RedisDisabled(logger);
            }

            return Task.CompletedTask;
        }

        // Starts connecting now, so the first request does not pay for it; its outcome is logged by the connection.
        var work = new List<Task> { resilient.RunMonitorAsync(stoppingToken) };
        if (connection is not null)
        {
            work.Add(FirstConnectAsync(connection, resilient));
        }

        if (hybrid is not null)
        {
            work.Add(hybrid.SubscribeAsync(stoppingToken));
        }

        return Task.WhenAll(work);
    }

    // Writes that fell back to memory while the first connection was being made are replayed once it is made.
    private static async Task FirstConnectAsync(RedisConnection connection, ResilientCacheBackend resilient)
    {
        try
        {
            await connection.GetAsync().ConfigureAwait(false);
        }
        catch (StackExchange.Redis.RedisException)
        {
            return; // Logged by the connection; the breaker's probes take over.
        }

        resilient.OnFirstConnected();
    }
}
