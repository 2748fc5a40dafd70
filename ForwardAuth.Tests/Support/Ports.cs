using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// Loopback ports for the servers the tests start. A port found by binding and releasing it can be taken by anybody
/// before the server binds it, so:
/// <list type="bullet">
/// <item>in-process Kestrel binds port 0, or is handed a socket this process already bound (<see cref="PortReservation"/>);</item>
/// <item>every port is handed out once per test process, so two fixtures never get the same one;</item>
/// <item>ports come from below the kernel's ephemeral range, from which outgoing connections (of this process and of
/// every other one on the machine) take their local ports;</item>
/// <item>a child process cannot be handed a bound socket: when it reports its port taken
/// (<see cref="PortTakenException"/>), <see cref="StartOnFreePortAsync{T}"/> starts it again on another port.</item>
/// </list>
/// </summary>
internal static class Ports
{
    private const int Span = 12_000;
    private static readonly ConcurrentDictionary<int, byte> Given = new();
    private static readonly int High = EphemeralLow();
    private static readonly int Low = Math.Max(1024, High - Span);

    /// <summary>A port nobody in this process was given before and that is free right now.</summary>
    public static int Free()
    {
        for (var i = 0; i < 1000; i++)
        {
            var port = Random.Shared.Next(Low, High);
            if (Given.TryAdd(port, 0) && IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port in {Low}-{High}");
    }

    /// <summary>A port P in [<paramref name="low"/>, <paramref name="high"/>) with P + <paramref name="offset"/> free too; both are given out.</summary>
    public static int FreePair(int low, int high, int offset)
    {
        for (var i = 0; i < 1000; i++)
        {
            var port = Random.Shared.Next(low, high);
            if (Given.TryAdd(port, 0) && Given.TryAdd(port + offset, 0) && IsFree(port) && IsFree(port + offset))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port pair (P, P+{offset}) in {low}-{high}");
    }

    /// <summary>
    /// Starts a server process on a free port, and on another one when the process reports its port taken: the
    /// bind-and-hand-over that in-process servers get from port 0 cannot be done for a child process, which binds the
    /// port itself some time after it was chosen. Not a retry of a failing test: any other failure is thrown at once.
    /// </summary>
    public static async Task<T> StartOnFreePortAsync<T>(Func<int, Task<T>> start, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(Free());
            }
            catch (PortTakenException) when (attempt < attempts)
            {
                TestContext.Progress.WriteLine("a server's port was taken before it could bind it; starting it on another port");
            }
        }
    }

    /// <summary>Whether a server could bind the port on every address now.</summary>
    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralLow()
    {
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var low) && low > 3024 ? low : 32_768;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 32_768;
        }
    }
}

/// <summary>A server process could not bind its port (another process took it between choosing and binding).</summary>
internal sealed class PortTakenException(string message) : Exception(message);

/// <summary>
/// A loopback port held by a bound socket (not listening: a connection to it is refused, as to a stopped server), so
/// nobody else can take it while its number is already written into other components' settings. Either handed to an
/// in-process Kestrel (<see cref="HandOver"/>, no gap at all), released the moment a child process binds it
/// (<see cref="Release"/>), or kept as a port where nothing answers.
/// </summary>
internal sealed class PortReservation : IDisposable
{
    private Socket? _socket;

    private PortReservation(int port, Socket socket)
    {
        Port = port;
        _socket = socket;
    }

    public int Port { get; }

    public static PortReservation Take()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Ports.Free();
            if (HeldSocket.TryBind(port) is { } socket)
            {
                return new PortReservation(port, socket);
            }

            if (attempt == 10)
            {
                throw new InvalidOperationException("no port could be held: " + Marshal.GetLastPInvokeErrorMessage());
            }
        }
    }

    /// <summary>The bound socket, for an in-process server to listen on (it owns the socket from now on).</summary>
    public Socket HandOver() =>
        Interlocked.Exchange(ref _socket, null) ?? throw new InvalidOperationException("port " + Port.ToString(CultureInfo.InvariantCulture) + " was handed over already");

    /// <summary>Frees the port for a child process that binds it right away.</summary>
    public void Release() => Interlocked.Exchange(ref _socket, null)?.Dispose();

    public void Dispose() => Release();
}

/// <summary>
/// A loopback TCP socket bound without SO_REUSEADDR. .NET sets SO_REUSEADDR on every TCP socket it binds on Linux, and
/// Linux lets two sockets that both set it share a port as long as neither listens: Redis, Caddy, Node and Kestrel all
/// set it, so a socket bound by .NET would not keep them off the port. Hence socket(2) and bind(2) directly.
/// </summary>
internal static class HeldSocket
{
    private const int AfInet = 2;
    private const int SockStream = 1;
    private const int SockCloexec = 0x80000;

    public static Socket? TryBind(int port)
    {
        var fd = NativeSocket(AfInet, SockStream | SockCloexec, 0);
        if (fd < 0)
        {
            return null;
        }

        // struct sockaddr_in: family (host order), port (network order), 127.0.0.1, zero padding.
        var address = new byte[16];
        BitConverter.TryWriteBytes(address.AsSpan(0, 2), (ushort)AfInet);
        address[2] = (byte)(port >> 8);
        address[3] = (byte)port;
        address[4] = 127;
        address[7] = 1;
        if (NativeBind(fd, address, address.Length) != 0)
        {
            _ = NativeClose(fd);
            return null;
        }

        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    [DllImport("libc.so.6", EntryPoint = "socket", SetLastError = true)]
    private static extern int NativeSocket(int domain, int type, int protocol);

    [DllImport("libc.so.6", EntryPoint = "bind", SetLastError = true)]
    private static extern int NativeBind(int fd, byte[] address, int length);

    [DllImport("libc.so.6", EntryPoint = "close", SetLastError = true)]
    private static extern int NativeClose(int fd);
}
