using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>Runs wrk and redis-benchmark and reads what surrounds a run: Redis command counts, the server's RSS.</summary>
internal static class Measure
{
    private static readonly string LuaScript = Path.Combine(AppContext.BaseDirectory, "auth.lua");

    // Commands that are no work of a request: the client library's own housekeeping and the monitors' PINGs.
    private static readonly HashSet<string> Housekeeping = new(StringComparer.Ordinal)
    {
        "ping", "echo", "info", "hello", "select", "auth", "subscribe", "unsubscribe", "psubscribe", "command", "command|docs",
        "command|count", "client|setname", "client|setinfo", "client|id", "client|list", "client|info", "cluster|nodes",
        "config|get", "role", "sentinel", "exists-housekeeping", "dbsize", "quit", "cluster|slots",
    };

    /// <summary>
    /// <c>wrk</c>: an optional warm-up run (not recorded), then the measured run with <c>--latency</c>, 2 threads and
    /// <c>--connections</c> (50). Around the measured run: Redis <c>INFO commandstats</c> deltas and the server's RSS.
    /// </summary>
    public static async Task<int> WrkAsync(Args args)
    {
        var url = args.Get("url");
        var wrkArgs = new List<string> { "-t2", "-c" + args.Int("connections", 50), "--latency", "-s", LuaScript, url, "--",
            args.Get("kind"), args.Optional("file") ?? "-", args.Optional("expect") ?? "200", args.Optional("query") ?? "" };
        var warmup = args.Int("warmup", 0);
        if (warmup > 0)
        {
            await RunWrkAsync(wrkArgs, warmup);
        }

        // One port, or the primaries of a Cluster (comma-separated): their commands are summed.
        var redisPorts = args.Optional("redis-port")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var before = redisPorts is null ? null : await CommandStatsAsync(redisPorts);
        var result = await RunWrkAsync(wrkArgs, args.Int("duration"));
        var after = redisPorts is null ? null : await CommandStatsAsync(redisPorts);
        var requests = (long)result["requests"]!;
        var commands = before is null ? null : Delta(before, after!);
        Raw.Append(args.Get("raw"), new Measurement
        {
            Name = args.Get("name"),
            Role = args.Optional("role") ?? "scenario",
            Pair = args.Optional("pair"),
            Tool = "wrk",
            Requests = requests,
            DurationSeconds = (double)result["duration_us"]! / 1e6,
            Rps = (double)result["rps"]!,
            P50Ms = (double)result["p50_us"]! / 1000,
            P99Ms = (double)result["p99_us"]! / 1000,
            P999Ms = (double)result["p999_us"]! / 1000,
            MaxMs = (double)result["max_us"]! / 1000,
            Errors = (long)result["socket_errors"]! + (long)result["timeouts"]! + (long)result["unexpected_status"]!,
            RedisCommands = commands,
            RedisCommandsPerRequest = commands is null || requests == 0 ? null : Math.Round(commands.Values.Sum() / (double)requests, 4),
            RssMiB = RssMiB(args.Optional("pid")),
            Extra = new()
            {
                ["socket_errors"] = (long)result["socket_errors"]!,
                ["timeouts"] = (long)result["timeouts"]!,
                ["unexpected_status"] = (long)result["unexpected_status"]!,
                ["expected_status"] = int.Parse(args.Optional("expect") ?? "200", CultureInfo.InvariantCulture),
                ["connections"] = args.Int("connections", 50),
                ["warmup_s"] = warmup,
                ["sessions"] = args.Optional("sessions") is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : null,
                ["working_set"] = args.Optional("working-set") is { } w ? long.Parse(w, CultureInfo.InvariantCulture) : null,
                ["mode"] = args.Optional("mode"),
                ["topology"] = args.Optional("topology"),
            },
        });
        return 0;
    }

    public static async Task<Dictionary<string, long>> CommandStatsAsync(string[] ports)
    {
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var port in ports)
        {
            foreach (var (name, calls) in await CommandStatsAsync(port))
            {
                sum[name] = sum.GetValueOrDefault(name) + calls;
            }
        }

        return sum;
    }

    private static async Task<JsonObject> RunWrkAsync(List<string> wrkArgs, int seconds)
    {
        var output = await RunAsync("wrk", ["-d" + seconds + "s", .. wrkArgs], TimeSpan.FromSeconds(seconds + 60));
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRKJSON ", StringComparison.Ordinal))
            ?? throw new HarnessException("wrk printed no result:\n" + output);
        return JsonNode.Parse(line["WRKJSON ".Length..])!.AsObject();
    }

    /// <summary>
    /// <c>redis-bench</c>: <c>redis-benchmark -t get</c> at the same concurrency, values of the session records' size,
    /// keys spread over a keyspace (<c>-r</c>). It reports p50/p99 but no p99.9.
    /// </summary>
    public static async Task<int> RedisBenchmarkAsync(Args args)
    {
        var requests = args.Int("requests");
        var port = args.Get("port");
        // Fill the keyspace first so GETs find values of the size asked for.
        await RunAsync("redis-benchmark", ["-h", "127.0.0.1", "-p", port, "-t", "set", "-c", "50", "-n", "100000", "-r", "10000",
            "-d", args.Get("size"), "-q"], TimeSpan.FromMinutes(5));
        var output = await RunAsync("redis-benchmark", ["-h", "127.0.0.1", "-p", port, "-t", "get", "-c", args.Get("clients"),
            "-n", requests.ToString(CultureInfo.InvariantCulture), "-r", "10000", "-d", args.Get("size"), "--csv"], TimeSpan.FromMinutes(10));
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        var row = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("\"GET\"", StringComparison.Ordinal))
            ?? throw new HarnessException("redis-benchmark printed no GET result:\n" + output);
        var f = row.Split(',').Select(v => v.Trim('"')).ToArray();
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        Raw.Append(args.Get("raw"), new Measurement
        {
            Name = args.Get("name"),
            Role = "redis",
            Pair = args.Optional("pair"),
            Tool = "redis-benchmark",
            Requests = requests,
            DurationSeconds = requests / D(1),
            Rps = D(1),
            P50Ms = D(4),
            P99Ms = D(6),
            MaxMs = D(7),
            Extra = new() { ["clients"] = int.Parse(args.Get("clients"), CultureInfo.InvariantCulture), ["value_bytes"] = int.Parse(args.Get("size"), CultureInfo.InvariantCulture) },
        });
        return 0;
    }

    /// <summary><c>open-breaker</c>: with Redis stopped, sends session requests until <c>/health</c> reports the breaker open.</summary>
    public static async Task<int> OpenBreakerAsync(Args args)
    {
        var forwardAuth = args.Get("fa");
        var cookie = File.ReadLines(args.Get("file")).First();
        using var browser = new Browser();
        browser.Cookies[Browser.SessionCookie] = cookie;
        using var http = new HttpClient();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            using (await browser.AuthAsync(forwardAuth, "/"))
            {
            }

            using var health = JsonDocument.Parse(await http.GetStringAsync(forwardAuth + "/health"));
            var state = health.RootElement.GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString();
            if (state == "open")
            {
                Console.WriteLine($"  circuit breaker open after {deadline.Elapsed.TotalSeconds:0.0}s");
                return 0;
            }

            await Task.Delay(50);
        }

        throw new HarnessException("the circuit breaker did not open within 30 s");
    }

    public static double? RssMiB(string? pid)
    {
        if (pid is null)
        {
            return null;
        }

        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024, 1);
    }

    /// <summary><c>INFO commandstats</c>: calls per command.</summary>
    public static async Task<Dictionary<string, long>> CommandStatsAsync(string port)
    {
        var output = await RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", port, "INFO", "commandstats"], TimeSpan.FromSeconds(10));
        var stats = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("cmdstat_", StringComparison.Ordinal)))
        {
            // cmdstat_get:calls=12,usec=...,rejected_calls=0,failed_calls=0
            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var calls = line.Split(':')[1].Split(',').First(p => p.StartsWith("calls=", StringComparison.Ordinal))["calls=".Length..];
            stats[name] = long.Parse(calls, CultureInfo.InvariantCulture);
        }

        return stats;
    }

    public static Dictionary<string, long> Delta(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Where(p => !Housekeeping.Contains(p.Key))
            .Select(p => (p.Key, Count: p.Value - before.GetValueOrDefault(p.Key)))
            .Where(p => p.Count > 0)
            .ToDictionary(p => p.Key, p => p.Count, StringComparer.Ordinal);

    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new HarnessException("cannot start " + file);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new HarnessException($"{file} did not finish within {timeout.TotalSeconds}s");
        }

        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new HarnessException($"{file} exited {process.ExitCode}:\n{output}");
        }

        return output;
    }
}
