namespace ForwardAuth.Tests.Support;

/// <summary>
/// Caddy as the forward-auth proxy: it speaks Traefik's forwardAuth protocol (always GET, X-Forwarded-Method/Uri/
/// Host/Proto/For, non-2xx answers passed to the client, named headers copied on 2xx).
/// </summary>
internal sealed class CaddyProxy : IAsyncDisposable
{
    public const string CopiedHeaders =
        "X-Forwarded-User X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Groups X-Auth-Request-Preferred-Username";

    private readonly ExternalProcess _process;
    private readonly string _directory;

    private CaddyProxy(ExternalProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>A forward_auth block in front of the backend; <paramref name="siteBody"/> replaces it when given.</summary>
    public static string ForwardAuthTo(IEnumerable<string> upstreams, int backendPort, string? matcher = null) => $$"""
            forward_auth {{matcher}} {{string.Join(' ', upstreams)}} {
                uri /auth
                copy_headers {{CopiedHeaders}}
                lb_policy round_robin
            }
            reverse_proxy 127.0.0.1:{{backendPort}}
        """;

    /// <summary>Caddy on a port of its own (another one when the first is taken before Caddy binds it).</summary>
    public static Task<CaddyProxy> StartAsync(string siteBody) => Ports.StartOnFreePortAsync(port => StartOnAsync(port, siteBody, release: null));

    /// <summary>
    /// Caddy on a port whose number other components were already given (the provider's redirect URIs): held until
    /// Caddy starts, since it cannot move to another one. Taken in the instant between release and bind, the start
    /// fails with <see cref="PortTakenException"/>.
    /// </summary>
    public static Task<CaddyProxy> StartAsync(PortReservation port, string siteBody) => StartOnAsync(port.Port, siteBody, port.Release);

    private static Task<CaddyProxy> StartOnAsync(int port, string siteBody, Action? release) =>
        StartSitesOnAsync(port, new Dictionary<string, string> { ["127.0.0.1"] = siteBody }, release);

    /// <summary>
    /// Caddy serving several host names on one held port, each with its own site body (Caddy picks the site by the
    /// <c>Host</c> header; clients connect to 127.0.0.1 whatever the name).
    /// </summary>
    public static Task<CaddyProxy> StartSitesAsync(PortReservation port, IReadOnlyDictionary<string, string> siteBodies) =>
        StartSitesOnAsync(port.Port, siteBodies, port.Release);

    private static async Task<CaddyProxy> StartSitesOnAsync(int port, IReadOnlyDictionary<string, string> siteBodies, Action? release)
    {
        var directory = TestPaths.NewTempDirectory("caddy");
        var caddyfile = Path.Combine(directory, "Caddyfile");
        var sites = string.Concat(siteBodies.Select(site => $$"""
            http://{{site.Key}}:{{port}} {
                route {
            {{site.Value}}
                }
            }

            """));
        await File.WriteAllTextAsync(caddyfile, $$"""
            {
                admin off
                auto_https off
                storage file_system {{directory}}
            }
            {{sites}}
            """);
        var env = new Dictionary<string, string> { ["HOME"] = directory, ["XDG_DATA_HOME"] = directory, ["XDG_CONFIG_HOME"] = directory };
        release?.Invoke();
        var process = ExternalProcess.Start(TestPaths.RequireExecutable("caddy"), ["run", "--config", caddyfile, "--adapter", "caddyfile"], env, directory);
        var proxy = new CaddyProxy(process, directory, port);
        try
        {
            // Logged once its listeners are up: a connection alone could reach whoever took the port.
            await process.WaitForOutputAsync("serving initial configuration", TimeSpan.FromSeconds(15));
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }

        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
