using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>
/// <c>redis-info</c>: what a batch of work cost in Redis, from <c>INFO</c> before and after it, summed over
/// <c>--ports</c> (the primaries of a Cluster, or one server). Without <c>--since</c> it saves a snapshot to
/// <c>--save</c>; with <c>--since SNAPSHOT --count N --name NAME --raw FILE</c> it records the deltas per unit of work:
/// <c>used_memory</c> (INFO memory), keys (DBSIZE), commands by name (INFO commandstats, without housekeeping) and the
/// bytes Redis received and sent (INFO stats <c>total_net_input_bytes</c>/<c>total_net_output_bytes</c>).
/// </summary>
internal static class RedisInfo
{
    private sealed record Snapshot(long UsedMemory, long Keys, long InputBytes, long OutputBytes, Dictionary<string, long> Commands);

    public static async Task<int> RunAsync(Args args)
    {
        var ports = args.Get("ports").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var now = await TakeAsync(ports);
        if (args.Optional("since") is not { } since)
        {
            await File.WriteAllTextAsync(args.Get("save"), JsonSerializer.Serialize(now, Raw.Json));
            return 0;
        }

        var before = JsonSerializer.Deserialize<Snapshot>(await File.ReadAllTextAsync(since), Raw.Json)!;
        var count = args.Int("count");
        var commands = Measure.Delta(before.Commands, now.Commands);
        double Per(long delta) => Math.Round(delta / (double)count, 1);
        var m = new Measurement
        {
            Name = args.Get("name"),
            Role = "redis-info",
            Tool = "redis-info",
            Requests = count,
            RedisCommands = commands,
            RedisCommandsPerRequest = Math.Round(commands.Values.Sum() / (double)count, 3),
            Extra = new JsonObject
            {
                ["count"] = count,
                ["nodes"] = ports.Length,
                ["used_memory_before"] = before.UsedMemory,
                ["used_memory_after"] = now.UsedMemory,
                ["used_memory_per_unit"] = Per(now.UsedMemory - before.UsedMemory),
                ["keys_per_unit"] = Per(now.Keys - before.Keys),
                ["bytes_in_per_unit"] = Per(now.InputBytes - before.InputBytes),
                ["bytes_out_per_unit"] = Per(now.OutputBytes - before.OutputBytes),
                ["value_bytes"] = args.Optional("value-bytes") is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : null,
            },
        };
        Raw.Append(args.Get("raw"), m);
        Console.WriteLine($"  {m.Name}: {m.Extra["used_memory_per_unit"]} bytes of used_memory, {m.Extra["keys_per_unit"]} keys, " +
            $"{m.RedisCommandsPerRequest} commands, {m.Extra["bytes_in_per_unit"]} bytes in / {m.Extra["bytes_out_per_unit"]} out per unit ({count})");
        return 0;
    }

    private static async Task<Snapshot> TakeAsync(string[] ports)
    {
        long used = 0, keys = 0, input = 0, output = 0;
        var commands = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var port in ports)
        {
            var info = Fields(await Measure.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", port, "INFO", "memory"], TimeSpan.FromSeconds(10)));
            var stats = Fields(await Measure.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", port, "INFO", "stats"], TimeSpan.FromSeconds(10)));
            used += info["used_memory"];
            input += stats["total_net_input_bytes"];
            output += stats["total_net_output_bytes"];
            keys += long.Parse((await Measure.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", port, "DBSIZE"], TimeSpan.FromSeconds(10))).Trim(), CultureInfo.InvariantCulture);
        }

        return new Snapshot(used, keys, input, output, await Measure.CommandStatsAsync(ports));
    }

    private static Dictionary<string, long> Fields(string info) =>
        info.Split('\n').Select(l => l.Trim()).Where(l => l.Contains(':', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => (Key: l[..l.IndexOf(':', StringComparison.Ordinal)], Value: l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..]))
            .Where(p => long.TryParse(p.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            .ToDictionary(p => p.Key, p => long.Parse(p.Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);
}
