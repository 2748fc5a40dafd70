using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Harness;

/// <summary>
/// <c>open-loop</c>: a constant-arrival-rate load generator (what wrk cannot do: wrk sends a connection's next request
/// only after its answer, so a slow answer delays the requests behind it and their wait is never measured).
/// <para>
/// Request <c>i</c> is due at <c>t0 + i / rate</c>, whatever the answers do. <c>--connections</c> keep-alive HTTP/1.1
/// connections, each on its own thread with blocking sockets, share the schedule as wrk2 does: connection <c>k</c>
/// sends requests <c>k, k + C, k + 2C…</c>, each at its due time (an absolute <c>clock_nanosleep</c> on
/// CLOCK_MONOTONIC, 1 µs timer slack), or at once when it is already due. Latency is measured from the request's
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
    private sealed record Result(double[] LatenciesMs, long Errors, long Unexpected, long Unanswered, long Answered, double TimerLagP99Ms, long LateSends);

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

    private static Task<Result> RunAsync(Uri uri, byte[][] requests, double rate, int seconds, int connections, int expect) =>
        Task.Factory.StartNew(() => Run(uri, requests, rate, seconds, connections, expect), TaskCreationOptions.LongRunning);

    private sealed class Outcome
    {
        public List<double> Latencies { get; } = new(4096);
        public List<double> TimerLags { get; } = new(4096);
        public long Errors { get; set; }
        public long Unexpected { get; set; }
        public long Unanswered { get; set; }
        public long AnsweredInWindow { get; set; }
        public long LateSends { get; set; }
    }

    private static Result Run(Uri uri, byte[][] requests, double rate, int seconds, int connections, int expect)
    {
        var frequency = (double)Stopwatch.Frequency;
        var outcomes = new Outcome[connections];
        using var connected = new CountdownEvent(connections);
        using var go = new ManualResetEventSlim();
        long start = 0;
        var threads = Enumerable.Range(0, connections).Select(k => new Thread(() => outcomes[k] = Work(k), 256 * 1024)
        {
            IsBackground = true,
            Name = "open-loop " + k,
        }).ToList();
        threads.ForEach(t => t.Start());
        connected.Wait();
        start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 20;
        go.Set();
        threads.ForEach(t => t.Join());

        var all = outcomes.SelectMany(o => o.Latencies).ToArray();
        Array.Sort(all);
        var lags = outcomes.SelectMany(o => o.TimerLags).ToArray();
        Array.Sort(lags);
        return new Result(all, outcomes.Sum(o => o.Errors), outcomes.Sum(o => o.Unexpected), outcomes.Sum(o => o.Unanswered),
            outcomes.Sum(o => o.AnsweredInWindow), lags.Length == 0 ? 0 : Raw.Percentile(lags, 99), outcomes.Sum(o => o.LateSends));

        // Connection k sends the requests i = k, k + C, k + 2C, … of the one schedule (due at start + i / rate): the
        // connections together offer the rate, each at rate / C, like wrk2. A request whose connection is still busy
        // with an earlier one is sent late, and its latency counts from its due time all the same.
        Outcome Work(int k)
        {
            var outcome = new Outcome();
            NativeClock.ReduceTimerSlack();
            var connection = new Connection(uri);
            try
            {
                connection.Connect();
            }
            catch (SocketException)
            {
                outcome.Errors++;
            }

            connected.Signal();
            go.Wait();
            var end = start + (long)(seconds * frequency);
            var giveUp = end + 5 * Stopwatch.Frequency;
            try
            {
                for (long i = k; ; i += connections)
                {
                    var due = start + (long)(i * frequency / rate);
                    if (due >= end)
                    {
                        break;
                    }

                    if (Stopwatch.GetTimestamp() > giveUp)
                    {
                        outcome.Unanswered++;
                        continue;
                    }

                    if (due > Stopwatch.GetTimestamp())
                    {
                        NativeClock.SleepUntil(due);
                        outcome.TimerLags.Add((Stopwatch.GetTimestamp() - due) * 1000 / frequency);
                    }
                    else if (Stopwatch.GetTimestamp() - due > Stopwatch.Frequency / 1000)
                    {
                        outcome.LateSends++;
                    }

                    try
                    {
                        var status = connection.Send(requests[i % requests.Length]);
                        var done = Stopwatch.GetTimestamp();
                        outcome.Latencies.Add((done - due) * 1000 / frequency);
                        outcome.Unexpected += status == expect ? 0 : 1;
                        outcome.AnsweredInWindow += done <= end + Stopwatch.Frequency / 2 ? 1 : 0;
                    }
                    catch (Exception e) when (e is SocketException or IOException or HarnessException or FormatException)
                    {
                        outcome.Errors++;
                        connection.Dispose();
                        connection = new Connection(uri);
                    }
                }
            }
            finally
            {
                connection.Dispose();
            }

            return outcome;
        }
    }

    /// <summary>One blocking keep-alive HTTP/1.1 connection, one request in flight; answers read by Content-Length or chunks.</summary>
    private sealed class Connection(Uri uri) : IDisposable
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private Socket? _socket;

        public void Connect()
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 5000, SendTimeout = 5000 };
            _socket.Connect(uri.Host, uri.Port);
        }

        public int Send(byte[] request)
        {
            if (_socket is null)
            {
                Connect();
            }

            _socket!.Send(request, SocketFlags.None);
            var length = 0;
            int headerEnd;
            while ((headerEnd = _buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
            {
                length += Receive(length);
            }

            var head = Encoding.ASCII.GetString(_buffer, 0, headerEnd);
            var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
            var bodyStart = headerEnd + 4;
            if (Header(head, "content-length") is { } contentLength)
            {
                var n = int.Parse(contentLength, CultureInfo.InvariantCulture);
                while (length - bodyStart < n)
                {
                    length += Receive(length);
                }
            }
            else if (Header(head, "transfer-encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                while (_buffer.AsSpan(bodyStart, length - bodyStart).IndexOf("0\r\n\r\n"u8) < 0)
                {
                    length += Receive(length);
                }
            }

            if (Header(head, "connection") is { } c && c.Equals("close", StringComparison.OrdinalIgnoreCase))
            {
                Dispose();
            }

            return status;
        }

        private int Receive(int offset)
        {
            if (offset == _buffer.Length)
            {
                throw new HarnessException("an answer larger than " + _buffer.Length + " bytes");
            }

            var read = _socket!.Receive(_buffer, offset, _buffer.Length - offset, SocketFlags.None);
            return read > 0 ? read : throw new IOException("connection closed by the server");
        }

        private static string? Header(string head, string name)
        {
            foreach (var line in head.Split("\r\n").Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line.AsSpan(0, colon).Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return line[(colon + 1)..].Trim();
                }
            }

            return null;
        }

        public void Dispose()
        {
            _socket?.Dispose();
            _socket = null;
        }
    }

    /// <summary>Absolute sleeps on CLOCK_MONOTONIC (Stopwatch's clock on Linux), finer than Thread.Sleep's milliseconds.</summary>
    private static class NativeClock
    {
        private const int ClockMonotonic = 1;
        private const int TimerAbstime = 1;
        private const int PrSetTimerslack = 29;

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", EntryPoint = "clock_nanosleep")]
        private static extern int ClockNanosleep(int clock, int flags, ref Timespec request, IntPtr remain);

        [DllImport("libc", EntryPoint = "prctl")]
        private static extern int Prctl(int option, ulong arg);

        public static void ReduceTimerSlack()
        {
            if (OperatingSystem.IsLinux())
            {
                _ = Prctl(PrSetTimerslack, 1000);
            }
        }

        public static void SleepUntil(long timestamp)
        {
            if (Stopwatch.GetTimestamp() >= timestamp)
            {
                return;
            }

            if (!OperatingSystem.IsLinux() || Stopwatch.Frequency != 1_000_000_000)
            {
                var wait = TimeSpan.FromSeconds((timestamp - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
                Thread.Sleep(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                return;
            }

            var request = new Timespec { Seconds = timestamp / 1_000_000_000, Nanoseconds = timestamp % 1_000_000_000 };
            while (ClockNanosleep(ClockMonotonic, TimerAbstime, ref request, IntPtr.Zero) != 0 && Stopwatch.GetTimestamp() < timestamp)
            {
            }
        }
    }
}
