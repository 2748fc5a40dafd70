using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// One redis-server or redis-sentinel process of a test topology (TLS, Sentinel, Cluster): started on a free loopback
/// port in the foreground (its log is kept for failure messages), stopped by its own pid. A port lost to another
/// process between choosing and binding is retried with a new one; any other start failure fails with the log.
/// </summary>
internal sealed class RedisNode : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly Func<int, IReadOnlyList<string>> _arguments;
    private readonly Func<int, Task<bool>> _ready;
    private readonly string _executable;

    private RedisNode(string name, int port, ExternalProcess process, Func<int, IReadOnlyList<string>> arguments, Func<int, Task<bool>> ready, string executable)
    {
        Name = name;
        Port = port;
        _process = process;
        _arguments = arguments;
        _ready = ready;
        _executable = executable;
    }

    public string Name { get; }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <param name="name">For messages (<c>master</c>, <c>sentinel-2</c>, <c>node-4</c>).</param>
    /// <param name="arguments">The command line for a port; may write the node's conf file as a side effect.</param>
    /// <param name="ready">When the node counts as up; default: it answers PING (an auth error is an answer too).</param>
    /// <param name="pickPort">Where to listen; default: a free loopback port.</param>
    public static async Task<RedisNode> StartAsync(
        string name,
        Func<int, IReadOnlyList<string>> arguments,
        Func<int, Task<bool>>? ready = null,
        Func<int>? pickPort = null,
        string executable = "redis-server")
    {
        ready ??= async port => await Resp.TryCommandAsync(port, ["PING"]) is not null;
        pickPort ??= TestPaths.FreePort;
        var path = TestPaths.RequireExecutable(executable);
        for (var attempt = 1; ; attempt++)
        {
            var port = pickPort();
            var node = new RedisNode(name, port, ExternalProcess.Start(path, arguments(port)), arguments, ready, executable);
            bool exited;
            string log;
            try
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
                while (DateTime.UtcNow < deadline && !node.HasExited)
                {
                    // Still running: an answer on the port could otherwise come from whoever took it from us.
                    if (await ready(port) && !node.HasExited)
                    {
                        return node;
                    }

                    await Task.Delay(20);
                }

                exited = node.HasExited;
                if (exited)
                {
                    // Let the output readers reach the end of the stream: the reason is usually the last line.
                    await node._process.WaitForExitAsync(TimeSpan.FromSeconds(2));
                }

                log = node.Tail();
            }
            catch (Exception e)
            {
                // The readiness check itself failed (a bug in the fixture): never leave the process behind.
                var tail = node.Tail();
                await node.DisposeAsync();
                throw new InvalidOperationException($"{name} ({executable} on port {port}): checking readiness failed: {e.Message}; its last output:\n{tail}", e);
            }

            await node.DisposeAsync();
            // Another process took the port (or a cluster bus port, P+10000) between choosing and binding.
            if ((log.Contains("Address already in use", StringComparison.Ordinal) || log.Contains("Failed listening on port", StringComparison.Ordinal)) && attempt < 5)
            {
                continue;
            }

            throw new InvalidOperationException(
                $"{name} ({executable} on port {port}) {(exited ? "exited before it was ready" : "was not ready within 10 s")}; its last output:\n{log}");
        }
    }

    /// <summary>A port P below the ephemeral range whose cluster bus port P+10000 is free too (Redis Cluster); both are given out.</summary>
    public static int FreePortWithBus() => Ports.FreePair(10_000, 22_000, 10_000);

    /// <summary>The process's last output lines, for failure messages.</summary>
    public string Tail(int lines = 15) =>
        string.Join('\n', _process.Output.TakeLast(lines).Select(l => $"  [{Name}:{Port.ToString(CultureInfo.InvariantCulture)}] {l}"));

    /// <summary>Every node's last output lines, for a topology's failure message.</summary>
    public static string Tails(IEnumerable<RedisNode> nodes, int lines = 10) => string.Join('\n', nodes.Select(n => n.Tail(lines)));

    /// <summary>SIGKILL by pid (a crash: no shutdown, no final save, connections reset), then waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Signal("KILL");
            await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>A planned stop, as a rolling deployment does it: SIGTERM (Redis shuts down cleanly), then waits for the exit.</summary>
    public async Task TerminateAsync()
    {
        if (!_process.HasExited)
        {
            _process.Signal("TERM");
            await _process.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>
    /// After <see cref="TerminateAsync"/>: the same command line on the same port (a cluster node keeps its identity
    /// through its <c>nodes.conf</c>). Returns the new process's node; this one is disposed.
    /// </summary>
    public async Task<RedisNode> StartAgainAsync()
    {
        await _process.DisposeAsync();
        return await StartAsync(Name, _arguments, _ready, () => Port, _executable);
    }

    /// <summary>SIGSTOP: the node hangs (its port still accepts connections, nothing answers) until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        _process.Signal("STOP");
        IsPaused = true;
    }

    /// <summary>SIGSTOPped by <see cref="Pause"/> and not resumed: the process lives, nothing answers.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        _process.Signal("CONT");
        IsPaused = false;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>Polling with a deadline whose failure carries the topology's logs.</summary>
internal static class Topology
{
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string> diagnostics)
    {
        try
        {
            await TestPaths.WaitUntilAsync(condition, timeout, what);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException(e.Message + "\n" + diagnostics());
        }
    }

    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
