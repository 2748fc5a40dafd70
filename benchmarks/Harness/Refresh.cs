using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Harness;

/// <summary>
/// <c>refresh</c>: 100 parallel requests at token expiry. One user logs in (tokens living <c>--token-ttl</c> seconds at
/// the provider); once they have expired, <c>--requests</c> requests with that session go out at once, spread over
/// the replicas given. Exactly one refresh grant must reach the provider (its <c>/__stats</c>), every request must be
/// let in, and the latency of each is recorded (the ones that waited for the winner's refresh included).
/// </summary>
internal static class Refresh
{
    public static async Task<int> RunAsync(Args args)
    {
        var replicas = args.Get("fa").Split(',');
        var provider = args.Get("provider").TrimEnd('/');
        var count = args.Int("requests", 100);
        var ttl = TimeSpan.FromSeconds(args.Double("token-ttl", 4));
        using var stats = new HttpClient();

        var sessions = args.Int("sessions", 1);
        var browsers = new List<Browser>();
        for (var s = 0; s < sessions; s++)
        {
            var browser = new Browser();
            await browser.LoginAsync(replicas[0], "refresh" + s);
            browsers.Add(browser);
        }

        var loggedIn = Stopwatch.StartNew();
        var before = await RefreshGrantsAsync(stats, provider);
        // The tokens expire ttl after the login; a little more so that every request finds them expired.
        var remaining = ttl + TimeSpan.FromMilliseconds(500) - loggedIn.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }

        var latencies = new double[count * sessions];
        var errors = 0;
        var started = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count * sessions).Select(i => Task.Run(async () =>
        {
            var t = Stopwatch.GetTimestamp();
            using var response = await browsers[i % sessions].AuthAsync(replicas[i % replicas.Length], "/after-expiry/" + i);
            latencies[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref errors);
            }
        })));
        started.Stop();
        var grants = await RefreshGrantsAsync(stats, provider) - before;
        foreach (var b in browsers)
        {
            b.Dispose();
        }

        Array.Sort(latencies);
        Raw.Append(args.Get("raw"), new Measurement
        {
            Name = args.Get("name"),
            Role = "scenario",
            Tool = "driver",
            Requests = latencies.Length,
            DurationSeconds = started.Elapsed.TotalSeconds,
            Rps = latencies.Length / started.Elapsed.TotalSeconds,
            P50Ms = Raw.Percentile(latencies, 50),
            P99Ms = Raw.Percentile(latencies, 99),
            MaxMs = latencies[^1],
            Errors = errors,
            Extra = new() { ["refresh_grants"] = grants, ["sessions"] = sessions, ["replicas"] = replicas.Length, ["token_ttl_s"] = ttl.TotalSeconds },
        });
        Console.WriteLine($"  refresh grants at the provider: {grants} for {sessions} session(s) (must be {sessions})");
        return grants == sessions && errors == 0 ? 0 : 1;
    }

    private static async Task<int> RefreshGrantsAsync(HttpClient http, string provider)
    {
        var stats = await http.GetFromJsonAsync<JsonObject>(provider + "/__stats");
        return (int?)stats?["token"]?["refresh_token"] ?? 0;
    }
}
