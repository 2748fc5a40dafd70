using System.Globalization;
using System.Text;

namespace Harness;

/// <summary>
/// <c>open-loop</c>: a constant-arrival-rate load generator (what wrk cannot do: wrk sends a connection's next request
/// only after its answer, so a slow answer delays the requests behind it and their wait is never measured).
/// <para>
/// Request <c>i</c> is due at <c>t0 + i / rate</c>, whatever the answers do. <c>--connections</c> keep-alive HTTP/1.1
/// connections share the schedule as wrk2 does: connection <c>k</c> sends requests <c>k, k + C, k + 2C…</c>, each at
/// its due time, or right after the answer it waits for when it is already due (<see cref="OpenLoopEngine"/>: two
/// epoll threads, nanosecond timeouts). Latency is measured from the request's
/// <b>due</b> time to the end of its answer, so time a request spent behind a slow answer on its connection is counted
/// (no coordinated omission). Reported beside it: requests sent more than 1 ms after their due time (<c>late_sends</c>:
/// the connections were too few or the generator starved of CPU) and the p99 of the timer's own lateness. The requests are Traefik's forward-auth calls of
/// <c>benchmarks/wrk/auth.lua</c>, rotating through the credentials of <c>--file</c>.
/// </para>
/// <para>
/// The rate is <c>--rate</c>, or <c>--fraction</c> of the rps the scenario <c>--rate-of</c> measured with wrk in the
/// same run (read from <c>--raw</c>). After <c>--warmup</c> seconds at that rate (not recorded), <c>--duration</c>
/// seconds are measured; answers still missing 5 s after the last due time are errors. The rate was sustained when
/// the answers received in the measured window reach 98 % of the offered count.
/// </para>
/// </summary>
internal static class OpenLoop
{
    public static async Task<int> RunAsync(Args args)
    {
        var raw = args.Get("raw");
        var rate = args.Optional("rate") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : RateOf(raw, args.Get("rate-of"), args.Double("fraction", 0.5));
        var uri = new Uri(args.Get("url"));
        var connections = args.Int("connections", 256);
        var expect = args.Int("expect", 200);
        var requests = BuildRequests(uri, args.Get("kind"), args.Optional("file"), args.Optional("query"));
        var duration = args.Int("duration");
        var warmup = args.Int("warmup", 2);
        if (warmup > 0)
        {
            await RunAsync(uri, requests, rate, warmup, connections, expect);
        }

        var result = await RunAsync(uri, requests, rate, duration, connections, expect);
        var latencies = result.LatenciesMs;
        var offered = (long)(rate * duration);
        var achieved = result.Answered / (double)duration;
        var sustained = result.Answered >= 0.98 * offered;
        Raw.Append(raw, new Measurement
        {
            Name = args.Get("name"),
            Role = "open-loop",
            Pair = args.Optional("rate-of"),
            Tool = "open-loop",
            Requests = result.Answered,
            DurationSeconds = duration,
            Rps = achieved,
            P50Ms = Raw.Percentile(latencies, 50),
            P99Ms = Raw.Percentile(latencies, 99),
            P999Ms = Raw.Percentile(latencies, 99.9),
            MaxMs = latencies.Length == 0 ? null : latencies[^1],
            Errors = result.Errors + result.Unexpected + result.Unanswered,
            Extra = new()
            {
                ["offered_rps"] = Math.Round(rate, 1),
                ["fraction_of_max"] = args.Optional("rate") is null ? args.Double("fraction", 0.5) : null,
                ["closed_loop_max_rps"] = args.Optional("rate") is null ? Math.Round(rate / args.Double("fraction", 0.5), 1) : null,
                ["round"] = args.Int("round", 1),
                ["sustained"] = sustained,
                ["connections"] = connections,
                ["socket_errors"] = result.Errors,
                ["unexpected_status"] = result.Unexpected,
                ["unanswered"] = result.Unanswered,
                ["expected_status"] = expect,
                ["late_sends"] = result.LateSends,
                ["timer_lag_p99_ms"] = Math.Round(result.TimerLagP99Ms, 3),
                ["warmup_s"] = warmup,
            },
        });
        if (!sustained)
        {
            Console.WriteLine($"  open loop: the offered {rate:0} rps was NOT sustained ({achieved:0} rps answered in the window)");
        }

        return 0;
    }

    /// <summary>The rps wrk measured for <paramref name="scenario"/> in this run (its last scenario run).</summary>
    private static double RateOf(string raw, string scenario, double fraction)
    {
        var run = Raw.Read(raw).LastOrDefault(m => m.Name == scenario && m.Role == "scenario")
            ?? throw new HarnessException($"no wrk run of {scenario} in {raw} to take the rate from");
        return run.Rps * fraction;
    }

    private static byte[][] BuildRequests(Uri uri, string kind, string? file, string? query)
    {
        var credentials = kind == "none" || file is null ? [""] : File.ReadLines(file).Where(l => l.Length > 0).ToArray();
        if (credentials.Length == 0)
        {
            throw new HarnessException("no credentials in " + file);
        }

        var path = "/auth" + (string.IsNullOrEmpty(query) ? "" : "?" + query);
        return credentials.Select((credential, i) =>
        {
            var headers = new StringBuilder();
            headers.Append(CultureInfo.InvariantCulture, $"GET {path} HTTP/1.1\r\nHost: {uri.Authority}\r\n");
            headers.Append("X-Forwarded-Method: GET\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.bench.test\r\n");
            headers.Append(CultureInfo.InvariantCulture, $"X-Forwarded-Uri: /dashboard/items?page={i + 1}\r\nX-Forwarded-For: 203.0.113.7\r\n");
            headers.Append("User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\n");
            if (kind == "bearer")
            {
                headers.Append(CultureInfo.InvariantCulture, $"Accept: application/json\r\nAuthorization: Bearer {credential}\r\n");
            }
            else
            {
                headers.Append("Accept: text/html,application/xhtml+xml\r\nSec-Fetch-Mode: navigate\r\n");
                if (kind == "cookie")
                {
                    headers.Append(CultureInfo.InvariantCulture, $"Cookie: _forwardauth_session={credential}; theme=dark\r\n");
                }
            }

            headers.Append("\r\n");
            return Encoding.ASCII.GetBytes(headers.ToString());
        }).ToArray();
    }

    private static Task<OpenLoopEngine.Result> RunAsync(Uri uri, byte[][] requests, double rate, int seconds, int connections, int expect) =>
        Task.Factory.StartNew(() => OpenLoopEngine.Run(uri, requests, rate, seconds, connections, expect), TaskCreationOptions.LongRunning);
}
