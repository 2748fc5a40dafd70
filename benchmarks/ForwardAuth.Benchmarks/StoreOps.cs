using System.Diagnostics;
using ForwardAuth.Cache;
using ForwardAuth.Sessions;

namespace ForwardAuth.Benchmarks;

/// <summary>
/// <c>store-ops</c>: the figures of the reference design's table (read and write p50/p99 per cache mode), measured on
/// the store as the service composes it (metered → hybrid L1 → breaker → Redis) with values of a real session record's
/// size: <c>--concurrency</c> callers (1: each operation's own latency) reading, then writing, for <c>--seconds</c>
/// each, over 1,000 keys. A hybrid read is an L1 hit (the keys were read once before); a hybrid write writes Redis,
/// the L1 and announces the change to the other replicas.
/// </summary>
internal static class StoreOps
{
    public static async Task<int> RunAsync(string redis, int concurrency, int seconds, int size, string raw)
    {
        foreach (var mode in new[] { "memory", "redis", "hybrid" })
        {
            await using var stack = new Stack(mode, mode == "memory" ? null : redis);
            await stack.ReadyAsync();
            var cache = stack.Cache;
            const int keys = 1_000;
            var value = new byte[size];
            Random.Shared.NextBytes(value);
            for (var i = 0; i < keys; i++)
            {
                await cache.SetAsync(KeyOf(i), value, TimeSpan.FromMinutes(10));
                await cache.GetAsync(KeyOf(i));
            }

            await Run(mode, "read", TimeSpan.FromSeconds(1), record: false);
            await Run(mode, "read", TimeSpan.FromSeconds(seconds), record: true);
            await Run(mode, "write", TimeSpan.FromSeconds(1), record: false);
            await Run(mode, "write", TimeSpan.FromSeconds(seconds), record: true);

            async Task Run(string mode, string op, TimeSpan duration, bool record)
            {
                var stopwatch = Stopwatch.StartNew();
                var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
                var perCaller = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
                {
                    var mine = new List<double>(1 << 16);
                    var i = w;
                    while (Stopwatch.GetTimestamp() < until)
                    {
                        var started = Stopwatch.GetTimestamp();
                        if (op == "read")
                        {
                            if (await cache.GetAsync(KeyOf(i++ % keys)) is null)
                            {
                                throw new InvalidOperationException("a read found nothing");
                            }
                        }
                        else
                        {
                            await cache.SetAsync(KeyOf(i++ % keys), value, TimeSpan.FromMinutes(10));
                        }

                        mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }

                    return mine;
                })));
                stopwatch.Stop();
                if (!record)
                {
                    return;
                }

                var all = perCaller.SelectMany(l => l).ToArray();
                Array.Sort(all);
                LatencyLine.Append(raw, $"store-{op}-{mode}", "store-op", all, stopwatch.Elapsed.TotalSeconds, new { concurrency, value_bytes = size, mode, op });
            }
        }

        return 0;
    }

    private static string KeyOf(int i) => StoreKeys.For(StoreKeys.Session, "ops-" + i);
}
