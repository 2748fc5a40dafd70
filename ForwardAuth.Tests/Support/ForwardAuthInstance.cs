using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Support;

/// <summary>Configuration for a ForwardAuth replica under test, as environment variables (the way operators set it).</summary>
internal static class ForwardAuthSettings
{
    public const string EncryptionKey = "test-session-encryption-key-0123456789abcdef";

    public static Dictionary<string, string> For(OidcProvider provider, RedisServer? redis = null, string cacheMode = "redis") => new()
    {
        ["PROVIDER_URL"] = provider.Issuer,
        ["ALLOW_HTTP_PROVIDER"] = "true",
        ["CLIENT_ID"] = OidcProvider.ClientId,
        ["CLIENT_SECRET"] = OidcProvider.ClientSecret,
        ["SESSION_ENCRYPTION_KEY"] = EncryptionKey,
        ["SCOPES"] = "openid,profile,email,groups",
        ["LOG_LEVEL"] = "debug",
        ["REDIS_ENABLED"] = redis is null ? "false" : "true",
        ["REDIS_ADDRESS"] = redis?.Address ?? "127.0.0.1:1",
        ["REDIS_CACHE_MODE"] = redis is null ? "memory" : cacheMode,
        ["REDIS_KEY_PREFIX"] = "fa-test",
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

    public static async Task<ForwardAuthInstance> StartProcessAsync(IDictionary<string, string> environment, int? port = null)
    {
        var p = port ?? TestPaths.FreePort();
        var env = new Dictionary<string, string>(environment) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{p}", ["DOTNET_NOLOGO"] = "1" };
        var process = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll], env);
        var instance = new ForwardAuthInstance(p, process, null);
        await instance.WaitReadyAsync(() => process.HasExited ? throw new InvalidOperationException("ForwardAuth exited: " + string.Join('\n', process.Output.TakeLast(20))) : false);
        return instance;
    }

    public static async Task<ForwardAuthInstance> StartInProcessAsync(
        IDictionary<string, string> environment, Action<IServiceCollection>? configureServices = null, string waitFor = "/readyz", int? fixedPort = null)
    {
        var port = fixedPort ?? TestPaths.FreePort();
        var logs = new LogCapture();
        var app = HostingExtensions.Build(
            ["--urls", $"http://127.0.0.1:{port}"],
            name => environment.TryGetValue(name, out var v) ? v : null,
            configureServices,
            logging => logging.WriteTo.Sink(logs));
        await app.StartAsync();
        var instance = new ForwardAuthInstance(port, null, app, logs);
        await instance.WaitReadyAsync(() => false, waitFor);
        return instance;
    }

    private async Task WaitReadyAsync(Func<bool> failed, string path = "/readyz")
    {
        using var http = new HttpClient();
        await TestPaths.WaitUntilAsync(
            async () => !failed() && (await http.GetAsync(BaseUrl + path)).IsSuccessStatusCode,
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
