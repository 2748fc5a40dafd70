using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ForwardAuth.Benchmarks;
using ForwardAuth.Cache;
using ForwardAuth.Sessions;

// Modes:
//   bdn --job short|default --artifacts DIR     BenchmarkDotNet: StoreGet, SessionDecrypt (env FORWARDAUTH_BENCH_REDIS)
//   redis-load --name N --redis HOST:PORT --concurrency 50 --seconds S --size BYTES --raw FILE
//                                               the backend's get on Redis with 50 calls in flight (multiplexed)
//   l1-memory --name N --size BYTES --entries N --raw FILE
//                                               bytes of managed heap one cached session costs in the hybrid L1
//   sessions --name N --redis HOST:PORT[,…] [--cluster true] --prefix P --count N --sample N --concurrency N --cookies F --raw F
//                                               N sessions through SessionStore (SESSION_ENCRYPTION_KEY from the environment)
//   store-ops --redis HOST:PORT --concurrency N --seconds S --size BYTES --raw FILE
//                                               read and write latency per cache mode (the reference design's table)
var mode = args.Length > 0 ? args[0] : "";
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Opt(string name) => options.TryGetValue(name, out var v) ? v : throw new ArgumentException("--" + name + " is required");
int Int(string name) => int.Parse(Opt(name), CultureInfo.InvariantCulture);

switch (mode)
{
    case "bdn":
        var job = (options.GetValueOrDefault("job") == "short" ? Job.ShortRun : Job.Default.WithWarmupCount(5).WithIterationCount(15))
            .WithToolchain(InProcessEmitToolchain.Instance);
        var config = DefaultConfig.Instance
            .AddJob(job)
            .AddExporter(JsonExporter.Full)
            .WithArtifactsPath(options.GetValueOrDefault("artifacts") ?? "BenchmarkDotNet.Artifacts")
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        Type[] all = [typeof(StoreGet), typeof(SessionDecrypt), typeof(AuthEndpoint), typeof(BreakerOpen)];
        var only = options.GetValueOrDefault("only");
        var summaries = BenchmarkRunner.Run(only is null ? all : all.Where(t => t.Name == only).ToArray(), config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;

    case "redis-load":
        return await RedisLoad(Opt("name"), Opt("redis"), Int("concurrency"), Int("seconds"), Int("size"), Opt("raw"));

    case "sessions":
        return await CreateSessions.RunAsync(Opt, options.GetValueOrDefault);

    case "store-ops":
        return await StoreOps.RunAsync(Opt("redis"), Int("concurrency"), Int("seconds"), Int("size"), Opt("raw"));

    case "l1-memory":
        return L1Memory(Opt("name"), Int("size"), Int("entries"), Opt("raw"));

    default:
        Console.Error.WriteLine("usage: ForwardAuth.Benchmarks bdn|redis-load|l1-memory|sessions|store-ops --option value ... (see Program.cs)");
        return 2;
}

// The redis-mode store as the service composes it (metered → breaker → Redis), `concurrency` gets in flight at all
// times over the one multiplexed connection, for `seconds`; latency of every get.
static async Task<int> RedisLoad(string name, string redis, int concurrency, int seconds, int size, string raw)
{
    await using var stack = new Stack("redis", redis);
    var cache = stack.Cache;
    const int keys = 10_000;
    var value = new byte[size];
    Random.Shared.NextBytes(value);
    await Parallel.ForAsync(0, keys, async (i, ct) => await cache.SetAsync(KeyOf(i), value, TimeSpan.FromMinutes(10), ct));

    // Warm-up, then the measured run.
    await RunFor(TimeSpan.FromSeconds(2));
    var stopwatch = Stopwatch.StartNew();
    var latencies = await RunFor(TimeSpan.FromSeconds(seconds));
    stopwatch.Stop();
    var all = latencies.SelectMany(l => l).ToArray();
    Array.Sort(all);
    LatencyLine.Append(raw, name, "scenario", all, stopwatch.Elapsed.TotalSeconds, new { concurrency, value_bytes = size });
    return 0;

    async Task<List<double>[]> RunFor(TimeSpan duration)
    {
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        return await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = new List<double>(1 << 16);
            var i = w;
            while (Stopwatch.GetTimestamp() < until)
            {
                var started = Stopwatch.GetTimestamp();
                if (await cache.GetAsync(KeyOf(i++ % keys)) is null)
                {
                    throw new InvalidOperationException("a get found nothing");
                }

                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return mine;
        })));
    }

    static string KeyOf(int i) => StoreKeys.For(StoreKeys.Session, "load-" + i);
}

// The hybrid L1 is a MemoryCacheBackend holding, per session, its store key and the sealed record read from Redis.
static int L1Memory(string name, int size, int entries, string raw)
{
    var l1 = new MemoryCacheBackend(TimeProvider.System, entries + 1);
    var keysAndValues = Enumerable.Range(0, entries)
        .Select(i => (Key: StoreKeys.For(StoreKeys.Session, "handle-" + i), Value: new byte[size]))
        .ToList();
    var before = GC.GetTotalMemory(forceFullCollection: true);
    foreach (var (key, value) in keysAndValues)
    {
        l1.SetAsync(key, value, TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
    }

    var withEntries = GC.GetTotalMemory(forceFullCollection: true);
    // The keys and values existed before they were cached (read from Redis); count them too: the L1 keeps them alive.
    var keyBytes = keysAndValues.Sum(p => 22 + 2L * p.Key.Length);
    var valueBytes = keysAndValues.Sum(p => 24L + p.Value.Length);
    var overhead = (withEntries - before) / (double)entries;
    var perEntry = overhead + (keyBytes + valueBytes) / (double)entries;
    GC.KeepAlive(keysAndValues);
    Write(raw, new
    {
        name,
        role = "scenario",
        tool = "gc",
        at = DateTimeOffset.UtcNow,
        requests = entries,
        errors = 0,
        extra = new
        {
            bytes_per_entry = Math.Round(perEntry),
            value_bytes = size,
            key_bytes = keyBytes / entries,
            value_object_bytes = valueBytes / entries,
            structure_bytes = Math.Round(overhead),
            entries,
        },
    });
    Console.WriteLine($"  L1: {perEntry:0} bytes per cached session ({size} of them the sealed record)");
    GC.KeepAlive(l1);
    return 0;
}

static void Write(string raw, object measurement)
{
    var line = JsonSerializer.Serialize(measurement);
    File.AppendAllText(raw, line + "\n");
    Console.WriteLine("  " + line);
}
