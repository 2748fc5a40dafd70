using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Harness;

/// <summary>
/// The open-loop generator's sending and receiving, built like wrk2: two threads, each with its share of the
/// connections (non-blocking sockets) in its own epoll set. A thread sends every request that is due on an idle
/// connection, then waits in <c>epoll_pwait2</c> for answers, at most until the next request is due (nanosecond
/// timeout, 1 µs timer slack). Connection <c>k</c> of <c>C</c> sends requests <c>k, k + C, k + 2C…</c> of the one
/// schedule (request <c>i</c> due at <c>start + i / rate</c>); a request due while its connection still waits for an
/// answer is sent right after that answer, and its latency still counts from its due time. One wake-up serves every
/// answer that arrived meanwhile, so the generator costs far less CPU per request than a thread per connection.
/// </summary>
internal static class OpenLoopEngine
{
    public sealed record Result(double[] LatenciesMs, long Errors, long Unexpected, long Unanswered, long Answered, double TimerLagP99Ms, long LateSends);

    private const int Threads = 2;

    public static Result Run(Uri uri, byte[][] requests, double rate, int seconds, int connections, int expect)
    {
        var shares = Enumerable.Range(0, Threads).Select(t => Enumerable.Range(0, connections).Where(k => k % Threads == t).ToArray()).ToArray();
        var loops = shares.Select(share => new Loop(uri, requests, rate, seconds, connections, expect, share)).ToArray();
        foreach (var loop in loops)
        {
            loop.Connect();
        }

        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 20;
        var threads = loops.Select(loop => new Thread(() => loop.Run(start)) { IsBackground = true, Name = "open-loop" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var loop in loops)
        {
            loop.Dispose();
        }

        var all = loops.SelectMany(l => l.Latencies).ToArray();
        Array.Sort(all);
        var lags = loops.SelectMany(l => l.TimerLags).ToArray();
        Array.Sort(lags);
        return new Result(all, loops.Sum(l => l.Errors), loops.Sum(l => l.Unexpected), loops.Sum(l => l.Unanswered),
            loops.Sum(l => l.AnsweredInWindow), lags.Length == 0 ? 0 : Raw.Percentile(lags, 99), loops.Sum(l => l.LateSends));
    }

    private sealed class Connection
    {
        public required int K { get; init; }
        public Socket? Socket { get; set; }
        public long NextIndex { get; set; }
        public long InFlightDue { get; set; } = -1;
        public byte[] Buffer { get; } = new byte[64 * 1024];
        public int Length { get; set; }
        public bool Done { get; set; }
    }

    private sealed class Loop(Uri uri, byte[][] requests, double rate, int seconds, int connections, int expect, int[] share) : IDisposable
    {
        private readonly Connection[] _connections = share.Select(k => new Connection { K = k, NextIndex = k }).ToArray();
        private readonly int _epoll = Native.EpollCreate();

        public List<double> Latencies { get; } = new(1 << 16);
        public List<double> TimerLags { get; } = new(1 << 16);
        public long Errors { get; private set; }
        public long Unexpected { get; private set; }
        public long Unanswered { get; private set; }
        public long AnsweredInWindow { get; private set; }
        public long LateSends { get; private set; }

        public void Connect()
        {
            for (var slot = 0; slot < _connections.Length; slot++)
            {
                Open(slot);
            }
        }

        private void Open(int slot)
        {
            var c = _connections[slot];
            c.Socket?.Dispose();
            c.Socket = null;
            c.Length = 0;
            c.InFlightDue = -1;
            try
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                socket.Connect(uri.Host, uri.Port);
                socket.Blocking = false;
                Native.EpollAdd(_epoll, (int)socket.Handle, slot);
                c.Socket = socket;
            }
            catch (SocketException)
            {
                Errors++;
            }
        }

        public void Run(long start)
        {
            Native.ReduceTimerSlack();
            var frequency = (double)Stopwatch.Frequency;
            var end = start + (long)(seconds * frequency);
            var giveUp = end + 5 * Stopwatch.Frequency;
            var events = new Native.EpollEvent[_connections.Length];
            long Due(long i) => start + (long)(i * frequency / rate);

            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                var nextWake = long.MaxValue;
                var active = false;
                for (var slot = 0; slot < _connections.Length; slot++)
                {
                    var c = _connections[slot];
                    if (c.Done)
                    {
                        continue;
                    }

                    if (c.InFlightDue >= 0)
                    {
                        active = true;
                        continue;
                    }

                    var due = Due(c.NextIndex);
                    if (due >= end)
                    {
                        c.Done = true;
                        continue;
                    }

                    active = true;
                    if (now > giveUp)
                    {
                        Unanswered++;
                        c.NextIndex += connections;
                        continue;
                    }

                    if (due > now)
                    {
                        nextWake = Math.Min(nextWake, due);
                        continue;
                    }

                    var lag = (now - due) * 1000 / frequency;
                    if (lag > 1)
                    {
                        LateSends++;
                    }
                    else
                    {
                        TimerLags.Add(lag);
                    }

                    Send(slot, due);
                }

                if (!active)
                {
                    return;
                }

                var waitNs = nextWake == long.MaxValue ? 50_000_000 : Math.Max(0, (long)((nextWake - Stopwatch.GetTimestamp()) * (1e9 / frequency)));
                var ready = Native.EpollWait(_epoll, events, waitNs);
                for (var e = 0; e < ready; e++)
                {
                    Receive((int)events[e].Data, end);
                }

                if (Stopwatch.GetTimestamp() > giveUp)
                {
                    // Answers still missing 5 s after the schedule ended are given up on.
                    foreach (var c in _connections.Where(c => c.InFlightDue >= 0))
                    {
                        Unanswered++;
                        c.InFlightDue = -1;
                        c.Done = true;
                    }
                }
            }
        }

        private void Send(int slot, long due)
        {
            var c = _connections[slot];
            var request = requests[c.NextIndex % requests.Length];
            c.NextIndex += connections;
            if (c.Socket is null)
            {
                Open(slot);
            }

            var sent = c.Socket is null ? 0 : c.Socket.Send(request, 0, request.Length, SocketFlags.None, out var error) is var n && error == SocketError.Success ? n : -1;
            if (sent != request.Length)
            {
                // A request that does not fit the socket at once is not retried: counted, and the connection renewed.
                Errors++;
                Open(slot);
                return;
            }

            c.InFlightDue = due;
        }

        private void Receive(int slot, long end)
        {
            var c = _connections[slot];
            if (c.Socket is null || c.InFlightDue < 0)
            {
                return;
            }

            var read = c.Socket.Receive(c.Buffer, c.Length, c.Buffer.Length - c.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success || read == 0 || c.Length + read == c.Buffer.Length)
            {
                Errors++;
                Open(slot);
                return;
            }

            c.Length += read;
            if (Http.Complete(c.Buffer, c.Length) is not { } answer)
            {
                return;
            }

            var done = Stopwatch.GetTimestamp();
            Latencies.Add((done - c.InFlightDue) * 1000.0 / Stopwatch.Frequency);
            Unexpected += answer.Status == expect ? 0 : 1;
            AnsweredInWindow += done <= end + Stopwatch.Frequency / 2 ? 1 : 0;
            c.InFlightDue = -1;
            c.Length = 0;
            if (answer.Close)
            {
                Open(slot);
            }
        }

        public void Dispose()
        {
            foreach (var c in _connections)
            {
                c.Socket?.Dispose();
            }

            Native.Close(_epoll);
        }
    }

    /// <summary>Whether a buffer holds one whole HTTP/1.1 answer (by Content-Length, or chunks up to the last one).</summary>
    private static class Http
    {
        public static (int Status, bool Close)? Complete(byte[] buffer, int length)
        {
            var headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                return null;
            }

            var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
            var bodyStart = headerEnd + 4;
            if (Header(head, "content-length") is { } contentLength)
            {
                if (length - bodyStart < int.Parse(contentLength, CultureInfo.InvariantCulture))
                {
                    return null;
                }
            }
            else if (Header(head, "transfer-encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)
                && buffer.AsSpan(bodyStart, length - bodyStart).IndexOf("0\r\n\r\n"u8) < 0)
            {
                return null;
            }

            var close = Header(head, "connection") is { } c && c.Equals("close", StringComparison.OrdinalIgnoreCase);
            return (int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture), close);
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
    }

    /// <summary>epoll and the thread's timer slack (Linux).</summary>
    private static class Native
    {
        private const int EpollCtlAdd = 1;
        private const uint EpollIn = 0x001;
        private const int PrSetTimerslack = 29;

        [StructLayout(LayoutKind.Explicit, Size = 12)]
        public struct EpollEvent
        {
            [FieldOffset(0)]
            public uint Events;

            [FieldOffset(4)]
            public ulong Data;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
        private static extern int EpollCreate1(int flags);

        [DllImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
        private static extern int EpollCtl(int epfd, int op, int fd, ref EpollEvent ev);

        [DllImport("libc", EntryPoint = "epoll_pwait2", SetLastError = true)]
        private static extern int EpollPwait2(int epfd, [Out] EpollEvent[] events, int maxevents, ref Timespec timeout, IntPtr sigmask);

        [DllImport("libc", EntryPoint = "close")]
        private static extern int CloseFd(int fd);

        [DllImport("libc", EntryPoint = "prctl")]
        private static extern int Prctl(int option, ulong arg);

        public static int EpollCreate() =>
            EpollCreate1(0) is var fd and >= 0 ? fd : throw new HarnessException("epoll_create1 failed: errno " + Marshal.GetLastPInvokeError());

        public static void EpollAdd(int epoll, int fd, int slot)
        {
            var ev = new EpollEvent { Events = EpollIn, Data = (ulong)slot };
            if (EpollCtl(epoll, EpollCtlAdd, fd, ref ev) != 0)
            {
                throw new HarnessException("epoll_ctl failed: errno " + Marshal.GetLastPInvokeError());
            }
        }

        public static int EpollWait(int epoll, EpollEvent[] events, long nanoseconds)
        {
            var timeout = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
            var n = EpollPwait2(epoll, events, events.Length, ref timeout, IntPtr.Zero);
            return n < 0 ? 0 : n;
        }

        public static void Close(int fd) => _ = CloseFd(fd);

        public static void ReduceTimerSlack() => _ = Prctl(PrSetTimerslack, 1000);
    }
}
