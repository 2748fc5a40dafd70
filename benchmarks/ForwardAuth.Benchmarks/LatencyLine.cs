using System.Text.Json;

namespace ForwardAuth.Benchmarks;

/// <summary>One load-generator measurement as a raw line for the harness's report (its <c>Measurement</c> fields).</summary>
internal static class LatencyLine
{
    /// <summary>Appends the measurement of <paramref name="sorted"/> latencies (ms, ascending) over <paramref name="seconds"/>.</summary>
    public static void Append(string raw, string name, string role, double[] sorted, double seconds, object extra)
    {
        var line = JsonSerializer.Serialize(new
        {
            name,
            role,
            tool = "loadgen",
            at = DateTimeOffset.UtcNow,
            requests = sorted.Length,
            durationSeconds = seconds,
            rps = sorted.Length / seconds,
            p50Ms = Percentile(sorted, 50),
            p99Ms = Percentile(sorted, 99),
            p999Ms = Percentile(sorted, 99.9),
            maxMs = sorted[^1],
            errors = 0,
            extra,
        });
        File.AppendAllText(raw, line + "\n");
        Console.WriteLine("  " + line);
    }

    public static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
