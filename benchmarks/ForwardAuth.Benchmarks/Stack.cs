using System.Security.Cryptography;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ForwardAuth.Benchmarks;

/// <summary>
/// The service's own composition (<c>AddForwardAuth</c>, the same decorators as in production: metered → hybrid L1 →
/// breaker → Redis) built from environment-style settings, without the HTTP host. Nothing here contacts the provider.
/// </summary>
internal sealed class Stack : IAsyncDisposable
{
    public const string EncryptionKey = "benchmark-session-encryption-key-0123456789";
    private readonly ServiceProvider _services;

    /// <param name="settings">Settings that replace the defaults below (environment names, e.g. the key and prefix of
    /// a running ForwardAuth whose sessions this stack must write).</param>
    public Stack(string mode, string? redis = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "http://127.0.0.1:9",
            ["ALLOW_HTTP_PROVIDER"] = "true",
            ["CLIENT_ID"] = "forwardauth",
            ["CLIENT_SECRET"] = "secret",
            ["SESSION_ENCRYPTION_KEY"] = EncryptionKey,
            ["LOG_LEVEL"] = "warn",
            ["REDIS_ENABLED"] = mode == "memory" ? "false" : "true",
            ["REDIS_ADDRESS"] = redis ?? "127.0.0.1:1",
            ["REDIS_CACHE_MODE"] = mode,
            ["REDIS_KEY_PREFIX"] = "bench-micro-" + mode,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            env[name] = value;
        }

        Options = ConfigurationLoader.Load([], name => env.GetValueOrDefault(name));
        _services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddForwardAuth(Options)
            .BuildServiceProvider();
        // The store's background work (Redis connection, pub/sub, the breaker's monitor) as the host starts it; the
        // provider warm-up is left out (nothing here contacts the provider).
        _storeWork = _services.GetServices<IHostedService>().OfType<StoreBackgroundService>().Single();
        _storeWork.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    private readonly StoreBackgroundService _storeWork;

    public ForwardAuthOptions Options { get; }

    public IServiceProvider Services => _services;

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public ICacheBackend Cache => Get<ICacheBackend>();

    /// <summary>Waits until hybrid mode's L1 is usable (subscribed to invalidations), so that reads can hit it.</summary>
    public async Task ReadyAsync()
    {
        if (_services.GetService<HybridCacheBackend>() is { } hybrid)
        {
            await hybrid.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>A session like the ones the dev provider's logins create: JWT ID and access tokens, an opaque refresh token.</summary>
    public static SessionRecord RealisticRecord(int n = 0)
    {
        var now = DateTimeOffset.UtcNow;
        return new SessionRecord
        {
            Identity = new Oidc.UserIdentity("user" + n, $"user{n}@example.com", $"user{n}@example.com", "user" + n, [], new Dictionary<string, string>()),
            Sid = RandomText(21),
            IssuedAt = now,
            ExpiresAt = now.AddDays(1),
            IdToken = FakeJwt(620),
            AccessToken = FakeJwt(700),
            RefreshToken = RandomText(43),
            AccessTokenExpiresAt = now.AddHours(1),
            IdTokenExpiresAt = now.AddHours(1),
            TokensIssuedAt = now,
            LastSeenAt = now,
        };
    }

    private static string FakeJwt(int payloadChars) => RandomText(36) + "." + RandomText(payloadChars) + "." + RandomText(342);

    private static string RandomText(int length) =>
        System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(length))[..length];

    public async ValueTask DisposeAsync()
    {
        await _storeWork.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }
}
