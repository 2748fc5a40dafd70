using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>
/// <c>report</c>: turns one run's raw measurements, the machine facts and the BenchmarkDotNet results into
/// <c>docs/benchmarks.md</c> and <c>benchmarks/results/latest.json</c> (the same fields), and checks issue 7's targets.
/// The hand-written part of the document (what was changed and why a target is out of reach) is
/// <c>benchmarks/FINDINGS.md</c>, included as it is.
/// </summary>
internal static partial class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed record Scenario(string Name, string Title, string Setup);

    // The order and words of the document.
    private static readonly Scenario[] Scenarios =
    [
        new("cookie-memory", "/auth with a session cookie, memory mode", "`REDIS_ENABLED=false`: sessions in the process"),
        new("cookie-redis", "/auth with a session cookie, redis mode", "`REDIS_CACHE_MODE=redis`: every decision reads the session record from Redis"),
        new("cookie-hybrid", "/auth with a session cookie, hybrid mode (warm L1)", "`REDIS_CACHE_MODE=hybrid`: the record comes from the local L1 after the warm-up"),
        new("bearer-jwt", "/auth with a bearer JWT (warm JWKS)", "hybrid; `Authorization: Bearer <RS256 access token>`, `AUDIENCE` the provider's resource; every token seen in the warm-up"),
        new("denied-403", "/auth, signed in but denied (403)", "hybrid; session cookies of users in no group, forwardAuth address `/auth?allowedRolesAndGroups=admins`"),
        new("unauthenticated-302", "/auth without credentials, browser navigation (302, login sealed in its cookie)", "hybrid; each answer seals the pending login into its per-login cookie and writes nothing to Redis"),
        new("login-callback", "Login callback throughput", "hybrid; driver loop (not wrk): 16 callbacks in flight, each with its own pending login and authorization code"),
        new("redis-down-breaker-open", "Redis stopped, circuit breaker open", "redis mode; its Redis killed, the breaker opened, sessions decided from the memory fallback and sealed cookies"),
        new("refresh-single-flight", "100 parallel requests at token expiry (refresh single-flight)", "two replicas (redis mode), provider tokens living 4 s; 100 requests with one session sent at once after expiry"),
        new("backend-get-redis", "Storage backend get on Redis, 50 in flight", "the redis-mode store as composed by the service (metered → breaker → Redis), one multiplexed connection, 50 concurrent gets of session-sized values, beside `redis-benchmark -t get -c 50`"),
        new("l1-bytes-per-session", "Memory per cached session in the hybrid L1", "managed heap per entry (store key, sealed record, entry, dictionary node), 10,000 entries of the real record size"),
    ];

    public static int Write(Args args)
    {
        var raw = Raw.Read(args.Get("raw"));
        var machine = File.ReadAllLines(args.Get("machine")).Where(l => l.Contains('=', StringComparison.Ordinal))
            .Select(l => (Key: l[..l.IndexOf('=', StringComparison.Ordinal)], Value: l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]))
            .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        var lscpu = args.Optional("lscpu") is { } f && File.Exists(f) ? File.ReadAllText(f).TrimEnd() : "";
        var micro = ReadMicro(args.Optional("micro"));

        var scenarios = new JsonArray();
        foreach (var s in Scenarios)
        {
            var run = raw.FirstOrDefault(m => m.Name == s.Name && m.Role == "scenario");
            if (run is null)
            {
                continue;
            }

            var kestrel = raw.FirstOrDefault(m => m.Pair == s.Name && m.Role == "kestrel");
            var redis = raw.FirstOrDefault(m => m.Pair == s.Name && m.Role == "redis");
            var node = Node(run);
            node["title"] = s.Title;
            node["setup"] = s.Setup;
            node["kestrel_ceiling"] = kestrel is null ? null : Node(kestrel);
            node["ratio_to_kestrel"] = kestrel is null || kestrel.Rps == 0 ? null : Math.Round(run.Rps / kestrel.Rps, 3);
            node["redis_ceiling"] = redis is null ? null : Node(redis);
            node["ratio_to_redis_benchmark"] = redis is null || redis.Rps == 0 || run.Tool == "gc" ? null : Math.Round(run.Rps / redis.Rps, 3);
            scenarios.Add(node);
        }

        var targets = Targets(scenarios, micro);
        var scale = ScaleNode(raw);
        ScaleTargets(scale, (scenario, target, measured, met) =>
            targets.Add(new JsonObject { ["scenario"] = scenario, ["target"] = target, ["measured"] = measured, ["met"] = met }));
        var json = new JsonObject
        {
            ["generated"] = DateTimeOffset.UtcNow.ToString("O", Inv),
            ["run"] = new JsonObject
            {
                ["started"] = machine.GetValueOrDefault("started"),
                ["finished"] = machine.GetValueOrDefault("finished"),
                ["quick"] = machine.GetValueOrDefault("quick") == "yes",
                ["settings"] = machine.GetValueOrDefault("settings"),
                ["loadavg_before"] = machine.GetValueOrDefault("loadavg_before"),
                ["loadavg_after"] = machine.GetValueOrDefault("loadavg_after"),
                ["cpu_busy_before_percent"] = machine.GetValueOrDefault("cpu_busy_before_percent"),
                ["other_processes"] = machine.GetValueOrDefault("other_processes"),
                ["session_record_bytes"] = machine.GetValueOrDefault("record_bytes"),
                ["session_token_record_bytes"] = machine.GetValueOrDefault("token_record_bytes"),
            },
            ["machine"] = new JsonObject
            {
                ["cpu_model"] = machine.GetValueOrDefault("cpu_model"),
                ["cpus"] = machine.GetValueOrDefault("cpus"),
                ["memory"] = machine.GetValueOrDefault("memory"),
                ["os"] = machine.GetValueOrDefault("os"),
                ["kernel"] = machine.GetValueOrDefault("kernel"),
                ["dotnet_sdk"] = machine.GetValueOrDefault("dotnet"),
                ["node"] = machine.GetValueOrDefault("node"),
                ["redis"] = machine.GetValueOrDefault("redis"),
                ["wrk"] = machine.GetValueOrDefault("wrk"),
                ["lscpu"] = lscpu,
            },
            ["scenarios"] = scenarios,
            ["micro_benchmarks"] = new JsonArray(micro.Select(m => (JsonNode)new JsonObject
            {
                ["class"] = m.Class,
                ["benchmark"] = m.Name,
                ["median_ns"] = Math.Round(m.MedianNs, 1),
                ["mean_ns"] = Math.Round(m.MeanNs, 1),
                ["allocated_bytes"] = m.AllocatedBytes,
            }).ToArray()),
            ["scale"] = scale,
            ["open_loop"] = OpenLoopNode(raw),
            ["reference_comparison"] = ReferenceNode(raw, scenarios),
            ["login_cost"] = LoginNode(raw),
            ["targets"] = targets,
        };
        File.WriteAllText(args.Get("json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.WriteAllText(args.Get("md"), Markdown(json, args.Optional("findings")));
        foreach (var t in targets.Select(t => t!.AsObject()))
        {
            Console.WriteLine($"  target {((bool?)t["met"] == true ? "met  " : (bool?)t["met"] == false ? "UNMET" : "n/a  ")} {t["scenario"]}: {t["target"]} — {t["measured"]}");
        }

        return 0;
    }

    private static JsonObject Node(Measurement m) => new()
    {
        ["name"] = m.Name,
        ["tool"] = m.Tool,
        ["at"] = m.At.ToString("O", Inv),
        ["requests"] = m.Requests,
        ["duration_s"] = Math.Round(m.DurationSeconds, 2),
        ["rps"] = Math.Round(m.Rps, 1),
        ["p50_ms"] = R(m.P50Ms),
        ["p99_ms"] = R(m.P99Ms),
        ["p999_ms"] = R(m.P999Ms),
        ["max_ms"] = R(m.MaxMs),
        ["errors"] = m.Errors,
        ["redis_commands_per_request"] = m.RedisCommandsPerRequest,
        ["redis_commands"] = m.RedisCommands is null ? null : new JsonObject(m.RedisCommands.OrderByDescending(p => p.Value).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["rss_mib"] = m.RssMiB,
        ["extra"] = m.Extra?.DeepClone(),
    };

    private static double? D(JsonNode? n) => n is null ? null : double.Parse(n.ToJsonString(), Inv);

    private static double? R(double? v) => v is null || double.IsNaN(v.Value) ? null : Math.Round(v.Value, 3);

    private sealed record Micro(string Class, string Name, double MedianNs, double MeanNs, long? AllocatedBytes);

    private static List<Micro> ReadMicro(string? directory)
    {
        var list = new List<Micro>();
        if (directory is null || !Directory.Exists(directory))
        {
            return list;
        }

        foreach (var file in Directory.GetFiles(directory, "*-report-full.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var b in doc.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!b.TryGetProperty("Statistics", out var stats) || stats.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                long? allocated = b.TryGetProperty("Memory", out var memory) && memory.ValueKind == JsonValueKind.Object
                    && memory.TryGetProperty("BytesAllocatedPerOperation", out var bytes) && bytes.ValueKind == JsonValueKind.Number ? bytes.GetInt64() : null;
                var name = b.TryGetProperty("MethodTitle", out var title) ? title.GetString()! : b.GetProperty("Method").GetString()!;
                list.Add(new Micro(b.GetProperty("Type").GetString()!, name.Trim('\''), stats.GetProperty("Median").GetDouble(), stats.GetProperty("Mean").GetDouble(), allocated));
            }
        }

        return list;
    }

    private static JsonArray Targets(JsonArray scenarios, List<Micro> micro)
    {
        var byName = scenarios.Select(s => s!.AsObject()).ToDictionary(s => (string)s["name"]!, StringComparer.Ordinal);
        var targets = new JsonArray();

        void Add(string scenario, string target, string measured, bool? met) =>
            targets.Add(new JsonObject { ["scenario"] = scenario, ["target"] = target, ["measured"] = measured, ["met"] = met });

        double? Num(string scenario, string field) => byName.TryGetValue(scenario, out var s) ? D(s[field]) : null;
        string Pct(double? v) => v is null ? "—" : (v.Value * 100).ToString("0.#", Inv) + " %";
        string Ms(double? v) => v is null ? "—" : v.Value.ToString("0.###", Inv) + " ms";

        var hRatio = Num("cookie-hybrid", "ratio_to_kestrel");
        Add("cookie-hybrid", "≥ 70 % of bare-Kestrel rps", Pct(hRatio), hRatio is null ? null : hRatio >= 0.70);
        var hP99 = Num("cookie-hybrid", "p99_ms");
        Add("cookie-hybrid", "p99 ≤ 2 ms", Ms(hP99), hP99 is null ? null : hP99 <= 2);
        var hCmd = Num("cookie-hybrid", "redis_commands_per_request");
        Add("cookie-hybrid", "0 Redis commands per request", hCmd?.ToString("0.####", Inv) ?? "—", hCmd is null ? null : hCmd < 0.005);

        var rRatio = Num("cookie-redis", "ratio_to_kestrel");
        Add("cookie-redis", "≥ 45 % of bare-Kestrel rps", Pct(rRatio), rRatio is null ? null : rRatio >= 0.45);
        var rP99 = Num("cookie-redis", "p99_ms");
        Add("cookie-redis", "p99 ≤ 5 ms", Ms(rP99), rP99 is null ? null : rP99 <= 5);
        var rCmd = Num("cookie-redis", "redis_commands_per_request");
        Add("cookie-redis", "exactly 1 Redis command per request", rCmd?.ToString("0.####", Inv) ?? "—", rCmd is null ? null : Math.Abs(rCmd.Value - 1) < 0.005);

        var bRatio = Num("bearer-jwt", "ratio_to_kestrel");
        Add("bearer-jwt", "≥ 60 % of bare-Kestrel rps", Pct(bRatio), bRatio is null ? null : bRatio >= 0.60);

        var oP99 = Num("redis-down-breaker-open", "p99_ms");
        var oErrors = Num("redis-down-breaker-open", "errors");
        Add("redis-down-breaker-open", "p99 ≤ 2 ms", Ms(oP99), oP99 is null ? null : oP99 <= 2);
        Add("redis-down-breaker-open", "0 errors", oErrors?.ToString(Inv) ?? "—", oErrors is null ? null : oErrors == 0);

        foreach (var (label, method) in new[] { ("memory", "memory get"), ("hybrid L1 hit", "hybrid get, L1 hit") })
        {
            var m = micro.FirstOrDefault(x => x.Name == method);
            Add("backend-get-" + label.Replace(' ', '-'), "≤ 1 µs median (" + label + ")", m is null ? "—" : (m.MedianNs / 1000).ToString("0.###", Inv) + " µs", m is null ? null : m.MedianNs <= 1000);
        }

        if (byName.TryGetValue("backend-get-redis", out var get))
        {
            var p50 = D(get["p50_ms"]);
            var redisP50 = D(get["redis_ceiling"]?["p50_ms"]);
            Add("backend-get-redis", "p50 ≤ 1.3 × redis-benchmark's p50 (50 in flight)",
                $"{Ms(p50)} vs {Ms(redisP50)} ({(p50 / redisP50)?.ToString("0.##", Inv)} ×)", p50 is null || redisP50 is null ? null : p50 <= 1.3 * redisP50);
            var rps = D(get["rps"]);
            Add("backend-get-redis", "≥ 100k ops/s multiplexed", rps?.ToString("0", Inv) + " ops/s", rps is null ? null : rps >= 100_000);
        }

        if (byName.TryGetValue("l1-bytes-per-session", out var l1))
        {
            var bytes = D(l1["extra"]?["bytes_per_entry"]);
            Add("l1-bytes-per-session", "≤ 1 KiB per cached session in L1", bytes?.ToString("0", Inv) + " bytes", bytes is null ? null : bytes <= 1024);
        }

        if (byName.TryGetValue("refresh-single-flight", out var refresh))
        {
            var grants = (int?)refresh["extra"]?["refresh_grants"];
            Add("refresh-single-flight", "exactly 1 refresh grant at the provider", grants?.ToString(Inv) ?? "—", grants is null ? null : grants == 1);
        }

        return targets;
    }

    private static string Markdown(JsonObject json, string? findingsFile)
    {
        var md = new StringBuilder();
        var run = json["run"]!.AsObject();
        var m = json["machine"]!.AsObject();
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine("<!-- Generated by benchmarks/run.sh (benchmarks/Harness/Report.cs) from one run; edit benchmarks/FINDINGS.md, not this file. -->");
        md.AppendLine();
        md.AppendLine($"Run from **{run["started"]}** to **{run["finished"]}** (UTC){((bool)run["quick"]! ? ", **quick run** (`--quick`: short runs, indicative only)" : "")}. " +
            $"Settings: {run["settings"]}.");
        md.AppendLine();
        md.AppendLine($"**Load on the machine.** It was shared with other engineers' test suites during the run: load average " +
            $"{run["loadavg_before"]} (1/5/15 min) before the run and {run["loadavg_after"]} after it; {run["cpu_busy_before_percent"]} % of CPU time was busy " +
            $"in the second before the first measurement (nothing of this run was under load yet); {run["other_processes"]} other processes. Absolute numbers are " +
            "therefore noisy; the ratios, each against a ceiling measured right before it on the same machine, are what this document reports.");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| CPU | {m["cpu_model"]}, {m["cpus"]} logical CPUs (shared by load generator, service, Redis and the provider) |");
        md.AppendLine($"| Memory | {m["memory"]} |");
        md.AppendLine($"| OS | {m["os"]}, kernel {m["kernel"]} |");
        md.AppendLine($"| .NET | SDK {m["dotnet_sdk"]}, Release build, server GC (the Web SDK's default) |");
        md.AppendLine($"| Redis | {m["redis"]} on loopback (`--save \"\" --appendonly no`) |");
        md.AppendLine($"| Load generator | wrk {m["wrk"]}, 2 threads, 50 connections, `--latency` (closed loop); `Harness open-loop`, 256 connections (open loop) |");
        md.AppendLine($"| OpenID provider | examples/local/oidc-provider (oidc-provider 9.13.3) on Node {m["node"]}, `AUTO_LOGIN=hint`, RS256 JWT access tokens |");
        md.AppendLine();
        md.AppendLine("<details><summary><code>lscpu</code></summary>");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine((string?)m["lscpu"]);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("</details>");
        md.AppendLine();
        md.AppendLine("## Method");
        md.AppendLine();
        md.AppendLine("`benchmarks/run.sh` (`--quick` for a short run) does everything: installs what is missing, builds Release, starts two Redis servers, " +
            "two dev OpenID providers (one with hour-long tokens, one with 4-second tokens), the bare-Kestrel ceiling (`benchmarks/Baseline`: ForwardAuth's host, " +
            "one endpoint returning 200) and ForwardAuth in memory, redis and hybrid mode, each with `LOG_LEVEL=warn`, all on free loopback ports. " +
            "`benchmarks/Harness` logs users in through the real flow (the forward-auth 302, the provider's authorize endpoint with `login_hint`, the callback " +
            "through `/auth`), keeping their session cookies, and their JWT access tokens from an instance with `PASS_AUTHORIZATION_HEADER=true`. wrk " +
            "(`benchmarks/wrk/auth.lua`) sends Traefik's forward-auth request — `X-Forwarded-Method/-Proto/-Host/-Uri/-For`, browser headers — rotating " +
            "through the cookies or tokens, and counts every answer that is not the scenario's expected status as an error.");
        md.AppendLine();
        md.AppendLine("Each scenario is measured right after its **bare-Kestrel ceiling**, run with the very same requests; the Redis ones also beside " +
            "**`redis-benchmark -t get -c 50`** with values of a real session record's size (the store's ceiling). Scenario and ceiling runs alternate, so " +
            "drift of the shared machine hits both sides of each ratio. Every instance is warmed up first (the JIT's tiering takes several seconds to reach " +
            "steady state here), then each run has its own warm-up. Redis commands per request are `INFO commandstats` deltas around the measured run divided " +
            "by the requests wrk completed, without the client library's housekeeping and the background health PINGs. RSS is the ForwardAuth process's " +
            "`VmRSS` after the run. The storage backends and the session decrypt path are measured with BenchmarkDotNet (`benchmarks/ForwardAuth.Benchmarks`, " +
            "in-process toolchain, MemoryDiagnoser); the Redis get under 50 concurrent calls and the L1's bytes per session by the same project's `redis-load` " +
            "and `l1-memory` modes.");
        md.AppendLine();

        md.AppendLine("## Targets (issues 7 and 17)");
        md.AppendLine();
        md.AppendLine("| Scenario | Target | Measured | Met |");
        md.AppendLine("|---|---|---|---|");
        foreach (var t in json["targets"]!.AsArray().Select(t => t!.AsObject()))
        {
            var met = (bool?)t["met"] switch { true => "yes", false => "**no**", _ => "—" };
            md.AppendLine($"| {t["scenario"]} | {t["target"]} | {t["measured"]} | {met} |");
        }

        md.AppendLine();
        md.AppendLine("Why an unmet target is out of reach, and what was changed to get here: see [Findings](#findings).");
        md.AppendLine();
        md.AppendLine("## Scenarios");
        md.AppendLine();
        foreach (var s in json["scenarios"]!.AsArray().Select(s => s!.AsObject()))
        {
            md.AppendLine($"### {s["title"]}");
            md.AppendLine();
            md.AppendLine($"{s["setup"]}.");
            md.AppendLine();
            if ((string?)s["tool"] == "gc")
            {
                var e = s["extra"]!;
                md.AppendLine("| Entries | Bytes per entry | of which the sealed record | the store key | entry + dictionary |");
                md.AppendLine("|---:|---:|---:|---:|---:|");
                md.AppendLine($"| {e["entries"]} | {e["bytes_per_entry"]} | {e["value_object_bytes"]} | {e["key_bytes"]} | {e["structure_bytes"]} |");
                md.AppendLine();
                continue;
            }

            md.AppendLine("| Run | Tool | rps | p50 | p99 | p99.9 | errors | ratio to ceiling | Redis cmds/request | RSS |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            var ratio = D(s["ratio_to_kestrel"]) is { } k ? $"{k * 100:0.#} % of Kestrel" : "";
            if (D(s["ratio_to_redis_benchmark"]) is { } rr)
            {
                ratio += (ratio.Length > 0 ? ", " : "") + $"{rr * 100:0.#} % of redis-benchmark";
            }

            md.AppendLine(Row("**ForwardAuth**", s, ratio));
            if (s["kestrel_ceiling"] is JsonObject kc)
            {
                md.AppendLine(Row("bare Kestrel (ceiling)", kc, ""));
            }

            if (s["redis_ceiling"] is JsonObject rc)
            {
                md.AppendLine(Row("redis-benchmark GET (ceiling)", rc, ""));
            }

            md.AppendLine();
            var notes = new List<string>();
            if (s["redis_commands"] is JsonObject cmds && cmds.Count > 0)
            {
                notes.Add("Redis commands during the run: " + string.Join(", ", cmds.Select(p => $"`{p.Key}` {p.Value}")));
            }

            if (s["extra"] is JsonObject extra)
            {
                if (extra["refresh_grants"] is { } grants)
                {
                    notes.Add($"refresh grants at the provider: **{grants}** for {extra["sessions"]} session over {extra["replicas"]} replicas; latencies include the requests that waited for the refresh");
                }

                if (extra["prepared_in_s"] is { } prepared)
                {
                    notes.Add($"the pending logins were prepared beforehand in {prepared} s (not measured); the callback includes the code exchange at the provider's token endpoint (Node), which bounds it");
                }

                if ((long?)extra["unexpected_status"] is > 0 || (long?)extra["socket_errors"] is > 0 || (long?)extra["timeouts"] is > 0)
                {
                    notes.Add($"errors: {extra["unexpected_status"]} unexpected statuses, {extra["socket_errors"]} socket errors, {extra["timeouts"]} timeouts");
                }
            }

            foreach (var n in notes)
            {
                md.AppendLine("- " + n);
            }

            if (notes.Count > 0)
            {
                md.AppendLine();
            }
        }

        Issue17Markdown(md, json);
        md.AppendLine("## Micro-benchmarks (BenchmarkDotNet)");
        md.AppendLine();
        md.AppendLine("| Class | Benchmark | Median | Mean | Allocated per call |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var b in json["micro_benchmarks"]!.AsArray().Select(b => b!.AsObject()))
        {
            md.AppendLine($"| {b["class"]} | {b["benchmark"]} | {Ns(D(b["median_ns"])!.Value)} | {Ns(D(b["mean_ns"])!.Value)} | {b["allocated_bytes"]} B |");
        }

        md.AppendLine();
        md.AppendLine("## Findings");
        md.AppendLine();
        var findings = findingsFile ?? Path.Combine(AppContext.BaseDirectory, "FINDINGS.md");
        md.AppendLine(File.Exists(findings) ? File.ReadAllText(findings).Trim() : "(benchmarks/FINDINGS.md is missing)");
        md.AppendLine();
        md.AppendLine("## Reproduce");
        md.AppendLine();
        md.AppendLine("```bash");
        md.AppendLine("benchmarks/run.sh            # this document and benchmarks/results/latest.json (~30 min)");
        md.AppendLine("benchmarks/run.sh --quick    # a short run, to check the harness");
        md.AppendLine("benchmarks/run.sh --scale-only   # the scale scenario alone (BENCH_SCALE_SIZES, BENCH_WORKING_SET, BENCH_CLUSTER_SESSIONS); report in its work directory");
        md.AppendLine("benchmarks/key-cost.py           # Redis memory per key of each kind a session writes, and per session by layout (~30 s)");
        md.AppendLine("```");
        return md.ToString();

        static string Ns(double ns) => ns >= 1000 ? (ns / 1000).ToString("0.###", Inv) + " µs" : ns.ToString("0.#", Inv) + " ns";
    }

    private static string Row(string label, JsonObject m, string ratio)
    {
        static string Ms(JsonNode? v) => v is null ? "—" : ((double)v).ToString("0.###", Inv) + " ms";
        var cmds = m["redis_commands_per_request"] is { } c ? ((double)c).ToString("0.###", Inv) : "—";
        var rss = m["rss_mib"] is { } r ? ((double)r).ToString("0", Inv) + " MiB" : "—";
        var errors = m["tool"]?.GetValue<string>() == "redis-benchmark" ? "—" : ((long)m["errors"]!).ToString(Inv);
        return $"| {label} | {m["tool"]} | {D(m["rps"])!.Value:0} | {Ms(m["p50_ms"])} | {Ms(m["p99_ms"])} | {Ms(m["p999_ms"])} | {errors} | {ratio} | {cmds} | {rss} |";
    }
}
