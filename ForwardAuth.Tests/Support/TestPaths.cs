using System.Net.Sockets;

namespace ForwardAuth.Tests.Support;

/// <summary>Where things are, free ports, and polling with a deadline (tests never sleep to wait for state).</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ForwardAuthDll => Path.Combine(AppContext.BaseDirectory, "ForwardAuth.dll");

    public static string ProviderDirectory => Path.Combine(RepoRoot, "examples", "local", "oidc-provider");

    /// <summary>A port for a server process to bind (see <see cref="Ports"/>: unique in this process, outside the ephemeral range).</summary>
    public static int FreePort() => Ports.Free();

    public static string NewTempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "forwardauth-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or SocketException or TaskCanceledException)
            {
                last = e;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"timed out after {timeout.TotalSeconds}s waiting for {what}" + (last is null ? "" : $" (last error: {last.Message})"));
    }

    public static string RequireExecutable(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"'{name}' is not installed: run the test command (.ci/test), which installs what the tests need");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ForwardAuth.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ForwardAuth.sln not found above " + AppContext.BaseDirectory);
    }
}
