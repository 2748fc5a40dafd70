using System.Globalization;
using StackExchange.Redis;

namespace ForwardAuth.Tests.Support;

/// <summary>A real redis-server on a free loopback port, in its own temp directory; fails loudly when not installed.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string[] _extraArgs;
    private ExternalProcess? _process;
    private ConnectionMultiplexer? _admin;

    private RedisServer(int port, string directory, string[] extraArgs)
    {
        Port = port;
        _directory = directory;
        _extraArgs = extraArgs;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(params string[] extraArgs)
    {
        var server = NotStarted(extraArgs);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>A server whose port is chosen but which is not running yet (start it with <see cref="RestartAsync"/>).</summary>
    public static RedisServer NotStarted(params string[] extraArgs) =>
        new(TestPaths.FreePort(), TestPaths.NewTempDirectory("redis"), extraArgs);

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
            "--dir", _directory, "--daemonize", "no", "--loglevel", "warning",
        };
        args.AddRange(_extraArgs);
        _process = ExternalProcess.Start(TestPaths.RequireExecutable("redis-server"), args);
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return true;
            },
            TimeSpan.FromSeconds(10),
            "redis-server to listen");
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
