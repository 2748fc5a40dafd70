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
            () => _process.HasExited && !_output.Any(l => l.Contains(text, StringComparison.Ordinal))
                ? throw new InvalidOperationException("process exited: " + string.Join('\n', _output.TakeLast(20)))
                : Task.FromResult(_output.Any(l => l.Contains(text, StringComparison.Ordinal))),
            timeout,
            $"'{text}' from {_process.StartInfo.FileName}");

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
