using System.Collections.Concurrent;
using System.Diagnostics;

namespace ForwardAuth.Tests.Support;

/// <summary>A child process whose output is kept (for assertions and for diagnosing a failed test).</summary>
internal sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ExternalProcess(Process process) => _process = process;

    public IReadOnlyCollection<string> Output => _output;

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    public static ExternalProcess Start(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var result = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) result._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) result._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    public Task WaitForOutputAsync(string text, TimeSpan timeout) =>
        TestPaths.WaitUntilAsync(
            async () =>
            {
                if (_output.Any(l => l.Contains(text, StringComparison.Ordinal)))
                {
                    return true;
                }

                await ThrowIfExitedAsync(_process.StartInfo.FileName);
                return false;
            },
            timeout,
            $"'{text}' from {_process.StartInfo.FileName}");

    /// <summary>
    /// Throws when the process has ended: <see cref="PortTakenException"/> when it says its address was in use (Redis,
    /// Node, Caddy and Kestrel all print "address already in use"), otherwise with its last output.
    /// </summary>
    public async Task ThrowIfExitedAsync(string what)
    {
        if (!_process.HasExited)
        {
            return;
        }

        // Let the output readers reach the end of the stream: the reason is usually the last line.
        try
        {
            await WaitForExitAsync(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException)
        {
            // Still not at the end (a descendant holds the pipe): decide on what was read.
        }

        var tail = string.Join('\n', _output.TakeLast(20));
        if (_output.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase)))
        {
            throw new PortTakenException($"{what} could not bind its port: {tail}");
        }

        throw new InvalidOperationException($"{what} exited: {tail}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
