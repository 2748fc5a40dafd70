using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Support;

/// <summary>Configuration for a ForwardAuth replica under test, as environment variables (the way operators set it).</summary>
internal static class ForwardAuthSettings
{
    public const string EncryptionKey = "test-session-encryption-key-0123456789abcdef";

    public static Dictionary<string, string> For(OidcProvider provider, RedisServer? redis = null, string cacheMode = "redis") =>
        For(provider.Issuer, OidcProvider.ClientId, OidcProvider.ClientSecret, redis, cacheMode);

    public static Dictionary<string, string> For(string issuer, string clientId, string clientSecret, RedisServer? redis = null, string cacheMode = "redis") => new()
    {
        ["PROVIDER_URL"] = issuer,
        ["ALLOW_HTTP_PROVIDER"] = "true",
        ["CLIENT_ID"] = clientId,
        ["CLIENT_SECRET"] = clientSecret,
        ["SESSION_ENCRYPTION_KEY"] = EncryptionKey,
        ["SCOPES"] = "openid,profile,email,groups",
        ["LOG_LEVEL"] = "debug",
        ["REDIS_ENABLED"] = redis is null ? "false" : "true",
        ["REDIS_ADDRESS"] = redis?.Address ?? "127.0.0.1:1",
        ["REDIS_CACHE_MODE"] = redis is null ? "memory" : cacheMode,
        ["REDIS_KEY_PREFIX"] = "fa-test",
        // Every request of these suites comes from 127.0.0.1, and many suites present dozens of forged credentials to
        // test what is refused: with regulation on they would ban themselves. Regulation's own tests turn it on.
        ["REGULATION_MAX_RETRIES"] = "0",
    };
}

/// <summary>A ForwardAuth replica: a separate process (like production) or in this process (to swap the clock).</summary>
internal sealed class ForwardAuthInstance : IAsyncDisposable
{
    private readonly ExternalProcess? _process;
    private readonly WebApplication? _app;
    private readonly LogCapture? _logs;

    private ForwardAuthInstance(int port, ExternalProcess? process, WebApplication? app, LogCapture? logs = null)
    {
        Port = port;
        _process = process;
        _app = app;
        _logs = logs;
    }

    /// <summary>Every log line the replica wrote (stdout of a process; the captured events of an in-process one).</summary>
    public IReadOnlyCollection<string> Logs => _logs?.Lines ?? Output;

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public IReadOnlyCollection<string> Output => _process?.Output ?? [];

    /// <summary>An in-process replica on a fake clock (the rest of the world — Redis, the provider — keeps real time).</summary>
    public static Task<ForwardAuthInstance> StartInProcessAsync(IDictionary<string, string> environment, TimeProvider clock) =>
        StartInProcessAsync(environment, services => services.AddSingleton(clock));

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("only in-process instances expose services");

    /// <summary>A replica process on a free port (another one when the port is taken before the process binds it).</summary>
    public static Task<ForwardAuthInstance> StartProcessAsync(IDictionary<string, string> environment) =>
        Ports.StartOnFreePortAsync(async port =>
        {
            var env = new Dictionary<string, string>(environment) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}", ["DOTNET_NOLOGO"] = "1" };
            var process = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll], env);
            var instance = new ForwardAuthInstance(port, process, null);
            try
            {
                await instance.WaitReadyAsync(async () => await process.ThrowIfExitedAsync("ForwardAuth"));
            }
            catch
            {
                await instance.DisposeAsync();
                throw;
            }

            return instance;
        });

    /// <summary>
    /// An in-process replica. Kestrel binds port 0 (the kernel picks a free port as it binds), or listens on the socket
    /// of <paramref name="listenOn"/> when the port had to be known before the start (a back-channel logout URI given
    /// to the provider): either way no other process can take the port in between.
    /// </summary>
    public static async Task<ForwardAuthInstance> StartInProcessAsync(
        IDictionary<string, string> environment, Action<IServiceCollection>? configureServices = null, string waitFor = "/readyz", PortReservation? listenOn = null)
    {
        var reserved = listenOn?.HandOver();
        var logs = new LogCapture();
        var app = HostingExtensions.Build(
            ["--urls", $"http://127.0.0.1:{listenOn?.Port ?? 0}"],
            name => environment.TryGetValue(name, out var v) ? v : null,
            services =>
            {
                if (reserved is not null)
                {
                    services.Configure<SocketTransportOptions>(o => o.CreateBoundListenSocket = endpoint =>
                        endpoint is IPEndPoint ip && ip.Port == listenOn!.Port ? reserved : SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint));
                }

                configureServices?.Invoke(services);
            },
            logging => logging.WriteTo.Sink(logs));
        await app.StartAsync();
        var instance = new ForwardAuthInstance(new Uri(app.Urls.Single()).Port, null, app, logs);
        await instance.WaitReadyAsync(() => Task.CompletedTask, waitFor);
        return instance;
    }

    private async Task WaitReadyAsync(Func<Task> throwIfFailed, string path = "/readyz")
    {
        using var http = new HttpClient();
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                await throwIfFailed();
                return (await http.GetAsync(BaseUrl + path)).IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(30),
            "ForwardAuth on port " + Port.ToString(CultureInfo.InvariantCulture) + " to be ready");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
