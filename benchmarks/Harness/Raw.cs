using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>
/// One measurement, appended as a JSON line to the run's raw file (<c>--raw</c>); <c>report</c> reads them all.
/// Latencies in milliseconds. <see cref="Role"/>: <c>scenario</c>, <c>kestrel</c> (the bare-Kestrel ceiling),
/// <c>redis</c> (redis-benchmark, the store's ceiling); <see cref="Pair"/> names the scenario a ceiling run belongs to.
/// </summary>
internal sealed record Measurement
{
    public required string Name { get; init; }
    public required string Role { get; init; }
    public string? Pair { get; init; }
    public required string Tool { get; init; }
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
    public long Requests { get; init; }
    public double DurationSeconds { get; init; }
    public double Rps { get; init; }
    public double? P50Ms { get; init; }
    public double? P99Ms { get; init; }
    public double? P999Ms { get; init; }
    public double? MaxMs { get; init; }
    public long Errors { get; init; }
    public Dictionary<string, long>? RedisCommands { get; init; }
    public double? RedisCommandsPerRequest { get; init; }
    public double? RssMiB { get; init; }
    public JsonObject? Extra { get; init; }
}

internal static class Raw
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static void Append(string file, Measurement m)
    {
        File.AppendAllText(file, JsonSerializer.Serialize(m, Json) + "\n");
        var latency = m.P50Ms is null ? "" : $", p50 {m.P50Ms:0.###} ms, p99 {m.P99Ms:0.###} ms" + (m.P999Ms is null ? "" : $", p99.9 {m.P999Ms:0.###} ms");
        var redis = m.RedisCommandsPerRequest is null ? "" : $", {m.RedisCommandsPerRequest:0.###} Redis cmds/req";
        var rss = m.RssMiB is null ? "" : $", RSS {m.RssMiB:0} MiB";
        Console.WriteLine($"  {m.Role,-8} {m.Name,-26} {m.Rps,10:0} rps{latency}, errors {m.Errors}{redis}{rss}");
    }

    public static List<Measurement> Read(string file) =>
        File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Measurement>(l, Json)!).ToList();

    /// <summary>Percentile (0–100) of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
