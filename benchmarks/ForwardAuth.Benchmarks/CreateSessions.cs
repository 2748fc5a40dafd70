using System.Diagnostics;
using System.Text.Json;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Benchmarks;

/// <summary>
/// <c>sessions</c>: creates <c>--count</c> sessions directly through the product's own <see cref="SessionStore"/>
/// (its sealing, its record and index keys, its TTLs) in redis mode, with the session encryption key of the running
/// ForwardAuth (<c>SESSION_ENCRYPTION_KEY</c> from the environment, never an argument) and its key prefix, so that
/// that ForwardAuth opens the cookies written here. <c>--concurrency</c> creations are in flight at once over the one
/// multiplexed connection (StackExchange.Redis pipelines them). An evenly spaced sample of <c>--sample</c> cookies is
/// written to <c>--cookies</c>, one a line: the working set the load generator rotates through.
/// <para>
/// With <c>--like COOKIE-FILE --like-redis HOST:PORT</c> the records are copies of a real login's record (the first
/// cookie's, read through the store of that Redis with the same key and prefix): the same tokens and claims, each with
/// its own subject, identifier, <c>sid</c> and login id, so that a record and its indexes have a real login's size.
/// Without, <see cref="Stack.RealisticRecord"/> makes them.
/// </para>
/// </summary>
internal static class CreateSessions
{
    public static async Task<int> RunAsync(Func<string, string> opt, Func<string, string?> optional)
    {
        var count = int.Parse(opt("count"), System.Globalization.CultureInfo.InvariantCulture);
        var sample = Math.Min(count, int.Parse(optional("sample") ?? "10000", System.Globalization.CultureInfo.InvariantCulture));
        var concurrency = int.Parse(optional("concurrency") ?? "256", System.Globalization.CultureInfo.InvariantCulture);
        var cluster = optional("cluster") == "true";
        var key = Environment.GetEnvironmentVariable("SESSION_ENCRYPTION_KEY");
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("SESSION_ENCRYPTION_KEY (the running ForwardAuth's key) must be set in the environment");
        }

        var settings = new Dictionary<string, string>
        {
            ["SESSION_ENCRYPTION_KEY"] = key,
            ["REDIS_KEY_PREFIX"] = opt("prefix"),
            ["REDIS_CLUSTER_MODE"] = cluster ? "true" : "false",
        };
        var template = optional("like") is { } like ? await TemplateAsync(File.ReadLines(like).First(), opt("like-redis"), settings) : null;
        await using var stack = new Stack("redis", opt("redis"), settings);
        var store = stack.Get<SessionStore>();
        var stride = count / sample;
        var cookies = new string[sample];
        var stopwatch = Stopwatch.StartNew();
        var done = 0;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var cookie = await store.CreateAsync(template is null ? Stack.RealisticRecord(i) : Like(template, i), ct);
            if (i % stride == 0 && i / stride < sample)
            {
                cookies[i / stride] = cookie;
            }

            if (Interlocked.Increment(ref done) % 100_000 == 0)
            {
                Console.WriteLine($"  {done} sessions in {stopwatch.Elapsed.TotalSeconds:0.0}s");
            }
        });
        stopwatch.Stop();

        // A write the breaker kept from Redis (timeouts under the load) would land in the memory fallback and its
        // journal: then these sessions are not in Redis, and the measurement would be wrong.
        var snapshot = stack.Get<IStoreDiagnostics>().Snapshot();
        if (!snapshot.BreakerClosed || snapshot.Journal is { Entries: > 0 } || snapshot.Journal is { Dropped: > 0 })
        {
            throw new InvalidOperationException($"the store did not write everything to Redis: breaker {snapshot.Breaker?.State}, " +
                $"journal {snapshot.Journal?.Entries} entries ({snapshot.Journal?.Dropped} dropped)");
        }

        await File.WriteAllLinesAsync(opt("cookies"), cookies);
        var rate = count / stopwatch.Elapsed.TotalSeconds;
        var line = JsonSerializer.Serialize(new
        {
            name = opt("name"),
            role = "creation",
            tool = "session-store",
            at = DateTimeOffset.UtcNow,
            requests = count,
            durationSeconds = stopwatch.Elapsed.TotalSeconds,
            rps = rate,
            errors = 0,
            extra = new { sessions = count, concurrency, cluster, working_set = sample, records = template is null ? "synthetic" : "copies of a real login's record" },
        });
        File.AppendAllText(opt("raw"), line + "\n");
        Console.WriteLine($"  created {count} sessions through SessionStore in {stopwatch.Elapsed.TotalSeconds:0.0}s ({rate:0}/s, {concurrency} in flight); " +
            $"{sample} of their cookies written");
        return 0;
    }

    private static async Task<SessionRecord> TemplateAsync(string cookie, string redis, Dictionary<string, string> settings)
    {
        await using var source = new Stack("redis", redis, new Dictionary<string, string>(settings) { ["REDIS_CLUSTER_MODE"] = "false" });
        var store = source.Get<SessionStore>();
        var found = await store.ResolveAsync(cookie, CancellationToken.None)
            ?? throw new InvalidOperationException("the --like cookie has no session in " + redis);
        // A decision reads the hot record only: the copies must carry the login's tokens too (its token record), so
        // that each created session keeps what a real one keeps under the creator's (default) configuration.
        return await store.ReloadAsync(found.Handle, CancellationToken.None)
            ?? throw new InvalidOperationException("the --like cookie's session ended in " + redis);
    }

    private static SessionRecord Like(SessionRecord template, int i)
    {
        var now = DateTimeOffset.UtcNow;
        var identity = template.Identity with
        {
            Subject = template.Identity.Subject + "-scale-" + i,
            Identifier = template.Identity.Identifier + "-scale-" + i,
        };
        return template with
        {
            Identity = identity,
            Sid = template.Sid is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(11)),
            LoginId = template.LoginId is null ? null : SessionStore.NewLoginId(),
            IssuedAt = now,
            ExpiresAt = now + (template.ExpiresAt - template.IssuedAt),
            LastSeenAt = now,
        };
    }
}
