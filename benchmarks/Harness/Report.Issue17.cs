using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>
/// The parts of the report issue 17 asked for: the scale scenario (10 k → 1 M sessions, and a Cluster), the open-loop
/// latencies (two rounds, and which figures held between them), the reference design's table beside ours, and a
/// login's cost in Redis. Each is a section of <c>latest.json</c> and of the page, built from the run's raw file.
/// </summary>
internal static partial class Report
{
    /// <summary>Two rounds agree when they differ by at most this share of the larger one.</summary>
    private const double StableWithin = 0.20;

    private const long OneMillion = 1_000_000;

    private static JsonObject ScaleNode(List<Measurement> raw)
    {
        var sizes = new JsonArray();
        foreach (var creation in raw.Where(m => m.Role == "creation"))
        {
            var topology = creation.Extra?["cluster"] is { } cluster && cluster.GetValue<bool>() ? "cluster" : "standalone";
            var n = creation.Requests;
            var memory = raw.FirstOrDefault(m => m.Role == "redis-info" && m.Name == $"scale-memory-{topology}-{n}");
            var modes = new JsonObject();
            foreach (var mode in new[] { "redis", "hybrid" })
            {
                if (raw.FirstOrDefault(m => m.Role == "scale" && m.Name == $"scale-{topology}-{mode}-{n}") is { } run)
                {
                    modes[mode] = Node(run);
                }
            }

            sizes.Add(new JsonObject
            {
                ["topology"] = topology,
                ["sessions"] = n,
                ["creation_s"] = Math.Round(creation.DurationSeconds, 1),
                ["created_per_s"] = Math.Round(creation.Rps),
                ["creation_concurrency"] = creation.Extra?["concurrency"]?.DeepClone(),
                ["redis_used_memory_bytes"] = memory is null ? null : (long?)memory.Extra?["used_memory_after"] - (long?)memory.Extra?["used_memory_before"],
                ["redis_bytes_per_session"] = memory?.Extra?["used_memory_per_unit"]?.DeepClone(),
                ["redis_keys_per_session"] = memory?.Extra?["keys_per_unit"]?.DeepClone(),
                ["redis_commands_per_session"] = memory?.RedisCommandsPerRequest,
                ["redis_bytes_in_per_session"] = memory?.Extra?["bytes_in_per_unit"]?.DeepClone(),
                ["modes"] = modes,
            });
        }

        var l1 = raw.FirstOrDefault(m => m.Name == "scale-l1-bytes-per-session");
        return new JsonObject
        {
            ["working_set"] = raw.FirstOrDefault(m => m.Role == "creation")?.Extra?["working_set"]?.DeepClone(),
            ["records"] = raw.FirstOrDefault(m => m.Role == "creation")?.Extra?["records"]?.DeepClone(),
            ["sizes"] = sizes,
            ["l1_bytes_per_entry"] = l1?.Extra?["bytes_per_entry"]?.DeepClone(),
            ["l1_record_bytes"] = l1?.Extra?["value_bytes"]?.DeepClone(),
        };
    }

    private static JsonArray OpenLoopNode(List<Measurement> raw)
    {
        var list = new JsonArray();
        foreach (var group in raw.Where(m => m.Role == "open-loop").GroupBy(m => m.Name))
        {
            var rounds = group.OrderBy(m => (int?)m.Extra?["round"] ?? 1).ToList();
            var node = new JsonObject
            {
                ["name"] = group.Key,
                ["scenario"] = rounds[0].Pair,
                ["fraction_of_max"] = rounds[0].Extra?["fraction_of_max"]?.DeepClone(),
                ["rounds"] = new JsonArray(rounds.Select(r => (JsonNode)Node(r)).ToArray()),
            };
            if (rounds.Count >= 2)
            {
                var stable = new JsonObject();
                foreach (var (field, a, b) in new[]
                {
                    ("achieved_rps", rounds[0].Rps, rounds[1].Rps),
                    ("p50_ms", rounds[0].P50Ms ?? 0, rounds[1].P50Ms ?? 0),
                    ("p99_ms", rounds[0].P99Ms ?? 0, rounds[1].P99Ms ?? 0),
                    ("p999_ms", rounds[0].P999Ms ?? 0, rounds[1].P999Ms ?? 0),
                })
                {
                    stable[field] = Math.Max(a, b) == 0 || Math.Abs(a - b) / Math.Max(a, b) <= StableWithin;
                }

                node["stable"] = stable;
            }

            list.Add(node);
        }

        return list;
    }

    private static JsonObject? ReferenceNode(List<Measurement> raw, JsonArray scenarios)
    {
        if (!raw.Any(m => m.Role == "store-op"))
        {
            return null;
        }

        // The reference design's "Benchmarking Results" table (its figures, milliseconds and operations per second).
        var reference = new (string Row, double Memory, double Redis, double Hybrid)[]
        {
            ("Read (p50)", 0.1, 2, 0.2), ("Read (p99)", 0.5, 10, 5), ("Write (p50)", 0.2, 3, 3), ("Write (p99)", 1, 15, 15), ("Throughput", 100_000, 20_000, 80_000),
        };
        var byName = scenarios.Select(s => s!.AsObject()).ToDictionary(s => (string)s["name"]!, StringComparer.Ordinal);
        double? Ours(string row, string mode)
        {
            if (row == "Throughput")
            {
                return byName.TryGetValue("cookie-" + mode, out var s) ? D(s["rps"]) : null;
            }

            var op = row.StartsWith("Read", StringComparison.Ordinal) ? "read" : "write";
            var m = raw.FirstOrDefault(x => x.Role == "store-op" && x.Name == $"store-{op}-{mode}");
            var v = row.Contains("p50", StringComparison.Ordinal) ? m?.P50Ms : m?.P99Ms;
            return v is null ? null : Math.Round(v.Value, 5);
        }

        var rows = new JsonArray();
        foreach (var (row, memory, redis, hybrid) in reference)
        {
            rows.Add(new JsonObject
            {
                ["row"] = row,
                ["unit"] = row == "Throughput" ? "requests/s" : "ms",
                ["reference"] = new JsonObject { ["memory"] = memory, ["redis"] = redis, ["hybrid"] = hybrid },
                ["ours"] = new JsonObject { ["memory"] = Ours(row, "memory"), ["redis"] = Ours(row, "redis"), ["hybrid"] = Ours(row, "hybrid") },
            });
        }

        var concurrency = raw.FirstOrDefault(x => x.Role == "store-op")?.Extra?["concurrency"]?.DeepClone();
        return new JsonObject { ["rows"] = rows, ["store_op_callers"] = concurrency };
    }

    private static JsonObject? LoginNode(List<Measurement> raw) =>
        raw.FirstOrDefault(m => m.Name == "login-redis-cost") is { } m
            ? new JsonObject
            {
                ["logins"] = m.Requests,
                ["commands_per_login"] = m.RedisCommandsPerRequest,
                ["commands"] = m.RedisCommands is null ? null : new JsonObject(m.RedisCommands.OrderByDescending(p => p.Value)
                    .Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Math.Round(p.Value / (double)m.Requests, 2)))),
                ["bytes_to_redis_per_login"] = m.Extra?["bytes_in_per_unit"]?.DeepClone(),
                ["bytes_from_redis_per_login"] = m.Extra?["bytes_out_per_unit"]?.DeepClone(),
                ["used_memory_per_login"] = m.Extra?["used_memory_per_unit"]?.DeepClone(),
                ["keys_per_login"] = m.Extra?["keys_per_unit"]?.DeepClone(),
            }
            : null;

    private static void ScaleTargets(JsonObject scale, Action<string, string, string, bool?> add)
    {
        var standalone = scale["sizes"]!.AsArray().Select(s => s!.AsObject()).Where(s => (string?)s["topology"] == "standalone").OrderBy(s => (long)s["sessions"]!).ToList();
        if (standalone.Count == 0)
        {
            return;
        }

        var largest = standalone[^1];
        var n = (long)largest["sessions"]!;
        var perSession = D(largest["redis_bytes_per_session"]);
        if (perSession is { } bytes)
        {
            var atMillion = bytes * OneMillion;
            var measured = n >= OneMillion
                ? $"{Mib((long?)largest["redis_used_memory_bytes"] ?? 0)} for {n:N0} ({bytes:0} bytes/session)"
                : $"{Mib((long)atMillion)} extrapolated from {n:N0} sessions ({bytes:0} bytes/session)";
            add("scale-redis-memory", "1 M sessions ≤ 1 GiB of Redis used_memory (default configuration)", measured,
                n >= OneMillion ? (long?)largest["redis_used_memory_bytes"] <= 1L << 30 : null);
        }

        var smallest = standalone[0];
        var span = $"{(long)smallest["sessions"]!:N0} → {n:N0}";
        foreach (var mode in new[] { "redis", "hybrid" })
        {
            var a = smallest["modes"]?[mode];
            var b = largest["modes"]?[mode];
            if (a is null || b is null || standalone.Count < 2)
            {
                continue;
            }

            var rpsRatio = D(b["rps"]) / D(a["rps"]);
            var p50Ratio = D(b["p50_ms"]) / D(a["p50_ms"]);
            var full = n >= OneMillion;
            add($"scale-{mode}", $"throughput within 10 % from 10 k to 1 M sessions ({mode} mode)",
                $"{D(a["rps"]):0} → {D(b["rps"]):0} rps ({span}: {(rpsRatio - 1) * 100:+0.#;-0.#;0} %)", full ? rpsRatio >= 0.9 : null);
            add($"scale-{mode}", $"p50 within 10 % from 10 k to 1 M sessions ({mode} mode)",
                $"{D(a["p50_ms"]):0.###} → {D(b["p50_ms"]):0.###} ms ({span}: {(p50Ratio - 1) * 100:+0.#;-0.#;0} %)", full ? p50Ratio <= 1.1 : null);
        }

        if (D(scale["l1_bytes_per_entry"]) is { } l1)
        {
            add("scale-l1", "L1 ≤ 1 KiB per entry (the created sessions' records)", $"{l1:0} bytes ({scale["l1_record_bytes"]} of them the sealed record)", l1 <= 1024);
        }

        static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.#", Inv) + " MiB";
    }

    private static void Issue17Markdown(StringBuilder md, JsonObject json)
    {
        var quick = (bool?)json["run"]?["quick"] == true;
        if (json["scale"] is JsonObject scale && scale["sizes"]!.AsArray().Count > 0)
        {
            md.AppendLine("## Scale: sessions in the store (issue 17)");
            md.AppendLine();
            md.AppendLine($"N sessions created directly through the product's own `SessionStore` (`ForwardAuth.Benchmarks sessions`: the real sealing, " +
                $"record and index keys and TTLs, with the session key and key prefix of the ForwardAuth started by the run; the records are {scale["records"]}), " +
                $"concurrently over one multiplexed connection, on a private Redis emptied " +
                $"before each size (FLUSHALL). Then `/auth` with wrk (50 connections) over a **working set of {scale["working_set"]} cookies** spread evenly " +
                $"over the N (it fits the default L1 of 10,000 entries and the record/cookie memos of 10,000), each mode on a fresh ForwardAuth warmed up " +
                $"with the working set. Redis memory is `used_memory` after the creation minus before, over N (records and the `sid`/`sub` indexes); RSS is " +
                $"the replica's `VmRSS` after its run. The Cluster is 3 primaries on loopback (`--cluster-replicas 0`), its memory summed over them." +
                (quick ? " **Quick run: small N** — the targets at 1 M are not judged." : ""));
            md.AppendLine();
            md.AppendLine("| Topology | Sessions | Created in | Redis memory | per session | keys/session | mode | rps | p50 | p99 | p99.9 | errors | Redis cmds/request | RSS |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var size in scale["sizes"]!.AsArray().Select(s => s!.AsObject()))
            {
                var first = true;
                foreach (var (mode, run) in size["modes"]!.AsObject())
                {
                    var lead = first
                        ? $"| {size["topology"]} | {(long)size["sessions"]!:N0} | {size["creation_s"]} s ({size["created_per_s"]}/s) | {Mib(size["redis_used_memory_bytes"])} | {size["redis_bytes_per_session"]} B | {size["redis_keys_per_session"]} "
                        : "| | | | | | ";
                    first = false;
                    md.AppendLine(lead + $"| {mode} | {D(run!["rps"]):0} | {Ms(run["p50_ms"])} | {Ms(run["p99_ms"])} | {Ms(run["p999_ms"])} | {run["errors"]} | " +
                        $"{run["redis_commands_per_request"]?.ToString() ?? "—"} | {(run["rss_mib"] is { } rss ? $"{(double)rss:0} MiB" : "—")} |");
                }
            }

            md.AppendLine();
            if (scale["l1_bytes_per_entry"] is { } l1)
            {
                md.AppendLine($"The hybrid L1's bytes per entry at the created records' size ({scale["l1_record_bytes"]} bytes sealed), measured as in " +
                    $"[Memory per cached session in the hybrid L1](#memory-per-cached-session-in-the-hybrid-l1): **{l1} bytes**.");
                md.AppendLine();
            }
        }

        if (json["open_loop"] is JsonArray open && open.Count > 0)
        {
            md.AppendLine("## Open loop: latency at a fixed offered rate (issue 17)");
            md.AppendLine();
            md.AppendLine("wrk is closed-loop: a connection sends its next request only after the answer, so a stall delays the requests behind it " +
                "and their waiting is never measured. `Harness open-loop` offers a constant arrival rate instead — request *i* is due at *t0 + i/rate* " +
                "whatever the answers do, 256 keep-alive connections on two epoll threads share the schedule (as wrk2 does: connection *k* sends requests " +
                "*k, k+256, …*), and " +
                "each latency counts from the request's **due** time, so time spent behind a slow answer is measured (no coordinated omission). The rate is " +
                "50 % and 80 % of the rps wrk measured for the same scenario earlier in this run. Every figure is shown as measured: with the load generator, " +
                "the service, Redis and other engineers' test suites on 2 shared cores, a p99 is scheduling noise as much as service time, and no p99 here is " +
                "judged against a target. *Late sends* are requests sent more than 1 ms after their due time (too few connections, or the generator itself " +
                "starved of CPU); *sustained* means at least 98 % of the offered requests were answered within the window.");
            md.AppendLine();
            md.AppendLine("| Scenario | share of max | offered rps | round | answered rps | p50 | p99 | p99.9 | max | errors | late sends | sustained |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var o in open.Select(o => o!.AsObject()))
            {
                foreach (var r in o["rounds"]!.AsArray().Select(r => r!.AsObject()))
                {
                    var e = r["extra"]!;
                    md.AppendLine($"| {o["scenario"]} | {D(o["fraction_of_max"]) * 100:0} % of {D(e["closed_loop_max_rps"]):0} | {D(e["offered_rps"]):0} | {e["round"]} | " +
                        $"{D(r["rps"]):0} | {Ms(r["p50_ms"])} | {Ms(r["p99_ms"])} | {Ms(r["p999_ms"])} | {Ms(r["max_ms"])} | {r["errors"]} | {e["late_sends"]} | " +
                        $"{((bool?)e["sustained"] == true ? "yes" : "**no**")} |");
                }
            }

            md.AppendLine();
            var stable = new List<string>();
            var unstable = new List<string>();
            foreach (var o in open.Select(o => o!.AsObject()).Where(o => o["stable"] is JsonObject))
            {
                foreach (var (field, ok) in o["stable"]!.AsObject())
                {
                    var label = $"{o["scenario"]} at {D(o["fraction_of_max"]) * 100:0} %: {field.Replace("_ms", "", StringComparison.Ordinal).Replace("p999", "p99.9", StringComparison.Ordinal).Replace("achieved_rps", "answered rps", StringComparison.Ordinal)}";
                    ((bool)ok! ? stable : unstable).Add(label);
                }
            }

            md.AppendLine($"**Stable between the two rounds** (within {StableWithin * 100:0} % of each other): " + (stable.Count == 0 ? "none." : string.Join("; ", stable) + "."));
            md.AppendLine();
            md.AppendLine("**Not stable** (read these as noise of the shared machine, not as the service's figure): " + (unstable.Count == 0 ? "none." : string.Join("; ", unstable) + "."));
            md.AppendLine();
        }

        if (json["reference_comparison"] is JsonObject reference)
        {
            md.AppendLine("## Beside the reference design's table");
            md.AppendLine();
            md.AppendLine($"The reference design (`redis-cache-design.md`, *Benchmarking Results*) gives the figures below without saying how they were " +
                $"measured. Ours: reads and writes are the store as the service composes it (metered → hybrid L1 → breaker → Redis), " +
                $"{reference["store_op_callers"]} caller(s), values of a real session record's size, 1,000 keys (`ForwardAuth.Benchmarks store-ops`; a hybrid read " +
                "is an L1 hit, a hybrid write writes Redis and the L1 and announces the change to the other replicas); throughput is this run's `/auth` with a " +
                "session cookie (wrk, 50 connections, on the 2 shared cores that also run wrk and Redis).");
            md.AppendLine();
            md.AppendLine("| | memory: reference | memory: ours | redis: reference | redis: ours | hybrid: reference | hybrid: ours |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var row in reference["rows"]!.AsArray().Select(r => r!.AsObject()))
            {
                var ms = (string?)row["unit"] == "ms";
                string F(JsonNode? v) => D(v) is not { } x ? "—"
                    : !ms ? x.ToString("N0", Inv) + "/s"
                    : x < 0.1 ? (x * 1000).ToString("0.#", Inv) + " µs" : x.ToString("0.###", Inv) + " ms";
                md.AppendLine($"| {row["row"]} | {F(row["reference"]!["memory"])} | {F(row["ours"]!["memory"])} | {F(row["reference"]!["redis"])} | " +
                    $"{F(row["ours"]!["redis"])} | {F(row["reference"]!["hybrid"])} | {F(row["ours"]!["hybrid"])} |");
            }

            md.AppendLine();
        }

        if (json["login_cost"] is JsonObject login)
        {
            md.AppendLine("## A login's cost in Redis");
            md.AppendLine();
            md.AppendLine($"`INFO` deltas around {login["logins"]} logins through the real flow on an instance in redis mode that is its Redis's only client " +
                "(commands without the client library's housekeeping and health PINGs; bytes are Redis's `total_net_input_bytes`/`total_net_output_bytes`, " +
                "health PINGs included).");
            md.AppendLine();
            md.AppendLine("| Commands per login | by command | bytes to Redis | bytes from Redis | used_memory kept | keys kept |");
            md.AppendLine("|---:|---|---:|---:|---:|---:|");
            var commands = login["commands"] is JsonObject c ? string.Join(", ", c.Select(p => $"`{p.Key}` {p.Value}")) : "—";
            md.AppendLine($"| {login["commands_per_login"]} | {commands} | {login["bytes_to_redis_per_login"]} | {login["bytes_from_redis_per_login"]} | " +
                $"{login["used_memory_per_login"]} | {login["keys_per_login"]} |");
            md.AppendLine();
        }

        static string Ms(JsonNode? v) => v is null ? "—" : ((double)v).ToString("0.###", Inv) + " ms";
        static string Mib(JsonNode? v) => v is null ? "—" : ((long)v / 1048576.0).ToString("0.#", Inv) + " MiB";
    }
}
