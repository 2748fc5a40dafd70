using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A real nginx running <c>examples/nginx/nginx.conf</c> itself: the file is copied with only the two upstream
/// addresses and the listen address replaced (each must appear exactly once, so the example cannot drift from what is
/// tested), plus the pid, log and temporary paths under this instance's own prefix.
/// </summary>
internal sealed class NginxProxy : IAsyncDisposable
{
    private const string ExampleForwardAuth = "server 127.0.0.1:4181;";
    private const string ExampleApp = "server 127.0.0.1:8080;";
    private const string ExampleListen = "listen 80;";

    private readonly ExternalProcess _process;
    private readonly string _prefix;

    private NginxProxy(ExternalProcess process, string prefix, int port)
    {
        _process = process;
        _prefix = prefix;
        Port = port;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static string ExampleDirectory => Path.Combine(TestPaths.RepoRoot, "examples", "nginx");

    /// <summary>nginx's error log (empty when all went well).</summary>
    public string ErrorLog => File.Exists(Path.Combine(_prefix, "error.log")) ? File.ReadAllText(Path.Combine(_prefix, "error.log")) : "";

    /// <summary>The example configuration with this run's addresses and paths.</summary>
    public static string Configure(string example, IEnumerable<int> forwardAuthPorts, int appPort, int listenPort, string prefix)
    {
        var config = ReplaceOnce(example, ExampleForwardAuth, string.Join("\n        ", forwardAuthPorts.Select(p => $"server 127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)};")));
        config = ReplaceOnce(config, ExampleApp, $"server 127.0.0.1:{appPort.ToString(CultureInfo.InvariantCulture)};");
        config = ReplaceOnce(config, ExampleListen, $"listen 127.0.0.1:{listenPort.ToString(CultureInfo.InvariantCulture)};");
        return ReplaceOnce(config, "http {", $$"""
            http {
                access_log {{prefix}}/access.log;
                client_body_temp_path {{prefix}}/client_body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
            """);
    }

    public static async Task<NginxProxy> StartAsync(int port, IEnumerable<int> forwardAuthPorts, int appPort)
    {
        var prefix = TestPaths.NewTempDirectory("nginx");
        foreach (var file in Directory.GetFiles(ExampleDirectory, "*.conf"))
        {
            File.Copy(file, Path.Combine(prefix, Path.GetFileName(file)));
        }

        var conf = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(conf, Configure(await File.ReadAllTextAsync(conf), forwardAuthPorts, appPort, port, prefix));
        var nginx = TestPaths.RequireExecutable("nginx");
        var process = ExternalProcess.Start(
            nginx, ["-c", conf, "-p", prefix + "/", "-e", Path.Combine(prefix, "error.log"), "-g", $"daemon off; pid {prefix}/nginx.pid;"], workingDirectory: prefix);
        var proxy = new NginxProxy(process, prefix, port);
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException("nginx exited: " + string.Join('\n', process.Output.TakeLast(5)) + "\n" + proxy.ErrorLog);
                }

                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return true;
            },
            TimeSpan.FromSeconds(15),
            "nginx to listen on " + port.ToString(CultureInfo.InvariantCulture));
        return proxy;
    }

    private static string ReplaceOnce(string text, string find, string replacement)
    {
        var at = text.IndexOf(find, StringComparison.Ordinal);
        if (at < 0 || text.IndexOf(find, at + find.Length, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"examples/nginx/nginx.conf must contain '{find}' exactly once");
        }

        return string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + find.Length));
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
