using System.Globalization;
using StackExchange.Redis;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A real redis-server on a free loopback port, in its own temp directory; fails loudly when not installed. Its port
/// is chosen afresh while nobody knows it yet (a first start that finds it taken moves to another); once replicas were
/// configured with it, a restart must reuse it.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string[] _extraArgs;
    private ExternalProcess? _process;
    private ConnectionMultiplexer? _admin;
    private PortReservation? _reserved;

    private RedisServer(int port, string directory, string[] extraArgs, PortReservation? reserved = null)
    {
        Port = port;
        _directory = directory;
        _extraArgs = extraArgs;
        _reserved = reserved;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(params string[] extraArgs)
    {
        var directory = TestPaths.NewTempDirectory("redis");
        return await Ports.StartOnFreePortAsync(async port =>
        {
            var server = new RedisServer(port, directory, extraArgs);
            await server.StartProcessAsync();
            return server;
        });
    }

    /// <summary>
    /// A server whose port is chosen but which is not running yet (start it with <see cref="RestartAsync"/>): the port
    /// is held until then, so that nobody else takes it and connections to it are refused as by a stopped Redis.
    /// </summary>
    public static RedisServer NotStarted(params string[] extraArgs)
    {
        var reserved = PortReservation.Take();
        return new(reserved.Port, TestPaths.NewTempDirectory("redis"), extraArgs, reserved);
    }

    /// <summary>A connection for the test itself (inspecting keys), separate from the service's.</summary>
    public async Task<IDatabase> AdminAsync()
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync($"{Address},allowAdmin=true");
        return _admin.GetDatabase();
    }

    public async Task<IReadOnlyList<string>> KeysAsync(string pattern = "*")
    {
        await AdminAsync();
        var keys = new List<string>();
        await foreach (var key in _admin!.GetServer(Address).KeysAsync(pattern: pattern))
        {
            keys.Add(key!);
        }

        return keys;
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public Task RestartAsync() => StartProcessAsync();

    /// <summary>SIGSTOP: Redis hangs (connections stay open, nothing answers).</summary>
    public void Pause() => _process!.Signal("STOP");

    public void Resume() => _process!.Signal("CONT");

    private async Task StartProcessAsync()
    {
        var args = new List<string>
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", _directory, "--daemonize", "no", "--loglevel", "notice",
        };
        args.AddRange(_extraArgs);
        // After a stop the port is free until this start (the process-wide set keeps it from other fixtures; another
        // process could take it): a taken port then fails the start with Redis's own message.
        _reserved?.Release();
        _reserved = null;
        var process = ExternalProcess.Start(TestPaths.RequireExecutable("redis-server"), args);
        try
        {
            // Logged (at notice level) once it listens: a connection alone could reach whoever took the port.
            await process.WaitForOutputAsync("Ready to accept connections", TimeSpan.FromSeconds(10));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        _process = process;
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        await StopAsync();
        _reserved?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
