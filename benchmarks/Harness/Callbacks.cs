using System.Net;

namespace Harness;

/// <summary>
/// <c>callbacks</c>: login callback throughput. wrk cannot measure it fairly: every callback needs its own pending login
/// (a fresh <c>state</c>, its browser-binding cookie and an authorization code the provider issued for it, valid once
/// and for 60 s). So this driver first walks <c>--count</c> logins up to the provider's redirect back (not measured),
/// then sends all their callbacks to ForwardAuth with <c>--concurrency</c> in flight and measures those alone. Each
/// callback is the whole of ForwardAuth's work: read and consume the login record, redeem the code at the provider's
/// token endpoint, validate the ID token, record its jti, write the session and its indexes.
/// </summary>
internal static class Callbacks
{
    public static async Task<int> RunAsync(Args args)
    {
        var forwardAuth = args.Get("fa");
        var count = args.Int("count");
        // The dev provider keeps its state in an LRU of 1,000 entries (sessions, interactions, grants, codes): more
        // pending logins than a few hundred at once would evict their codes. So: batches, each prepared then measured.
        var batch = args.Int("batch", 150);
        var concurrency = args.Int("concurrency");
        var latencies = new double[count];
        var errors = 0;
        var measured = TimeSpan.Zero;
        var preparing = TimeSpan.Zero;
        for (var offset = 0; offset < count; offset += batch)
        {
            var size = Math.Min(batch, count - offset);
            var prepared = new (Browser Browser, string Callback)[size];
            var next = -1;
            var prepare = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < size)
                {
                    var browser = new Browser();
                    prepared[i] = (browser, await browser.StartLoginAsync(forwardAuth, "cb" + (offset + i)));
                }
            }));
            preparing += prepare.Elapsed;

            next = -1;
            var run = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < size)
                {
                    var (browser, callback) = prepared[i];
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    using var response = await browser.AuthAsync(forwardAuth, callback);
                    latencies[offset + i] = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if (response.StatusCode != HttpStatusCode.Found || !browser.Cookies.ContainsKey(Browser.SessionCookie))
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }));
            measured += run.Elapsed;
            foreach (var (browser, _) in prepared)
            {
                browser.Dispose();
            }
        }

        Console.WriteLine($"  prepared {count} pending logins in batches of {batch} ({preparing.TotalSeconds:0.0}s, not measured)");
        Array.Sort(latencies);
        Raw.Append(args.Get("raw"), new Measurement
        {
            Name = args.Get("name"),
            Role = "scenario",
            Tool = "driver",
            Requests = count,
            DurationSeconds = measured.TotalSeconds,
            Rps = count / measured.TotalSeconds,
            P50Ms = Raw.Percentile(latencies, 50),
            P99Ms = Raw.Percentile(latencies, 99),
            P999Ms = Raw.Percentile(latencies, 99.9),
            MaxMs = latencies[^1],
            Errors = errors,
            RssMiB = Measure.RssMiB(args.Optional("pid")),
            Extra = new() { ["concurrency"] = concurrency, ["batch"] = batch, ["prepared_in_s"] = Math.Round(preparing.TotalSeconds, 2) },
        });
        // Errors are reported in the document, not fatal to the run.
        return 0;
    }
}
