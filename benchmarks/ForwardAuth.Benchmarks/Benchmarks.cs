using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Sessions;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Benchmarks;

/// <summary>
/// The storage backends' get as the service composes them (MeteredCacheBackend outermost): memory mode, a hybrid L1
/// hit (Redis connected and subscribed, the value already in L1), and a Redis round trip in redis mode (through the
/// circuit breaker). Values are the size of a real session record (<c>FORWARDAUTH_BENCH_VALUE_BYTES</c>).
/// </summary>
[MemoryDiagnoser]
public class StoreGet
{
    private const string Key = "session:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    private Stack _memory = null!;
    private Stack _hybrid = null!;
    private Stack _redis = null!;
    private ICacheBackend _memoryCache = null!;
    private ICacheBackend _hybridCache = null!;
    private ICacheBackend _redisCache = null!;

    [GlobalSetup]
    public void Setup()
    {
        var redis = Environment.GetEnvironmentVariable("FORWARDAUTH_BENCH_REDIS")
            ?? throw new InvalidOperationException("FORWARDAUTH_BENCH_REDIS (host:port of a Redis) is required");
        var value = new byte[int.Parse(Environment.GetEnvironmentVariable("FORWARDAUTH_BENCH_VALUE_BYTES") ?? "1900", System.Globalization.CultureInfo.InvariantCulture)];
        Random.Shared.NextBytes(value);
        _memory = new Stack("memory");
        _hybrid = new Stack("hybrid", redis);
        _redis = new Stack("redis", redis);
        _hybrid.ReadyAsync().GetAwaiter().GetResult();
        _memoryCache = _memory.Cache;
        _hybridCache = _hybrid.Cache;
        _redisCache = _redis.Cache;
        foreach (var cache in new[] { _memoryCache, _hybridCache, _redisCache })
        {
            cache.SetAsync(Key, value, TimeSpan.FromHours(1)).GetAwaiter().GetResult();
        }

        // The first hybrid read after a write may be a miss; make sure L1 holds it.
        _hybridCache.GetAsync(Key).GetAwaiter().GetResult();
    }

    [Benchmark(Description = "memory get")]
    public Task MemoryGet() => _memoryCache.GetAsync(Key);

    [Benchmark(Description = "hybrid get, L1 hit")]
    public Task HybridL1Hit() => _hybridCache.GetAsync(Key);

    [Benchmark(Description = "redis get (one round trip)")]
    public Task RedisGet() => _redisCache.GetAsync(Key);

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _hybrid.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _redis.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>
/// The session decrypt path of every cookie request: open the sealed cookie (<see cref="SessionCookie.TryOpen(string?)"/>),
/// open the store's record (store key, AES-GCM, JSON), all of <see cref="SessionStore.ResolveAsync"/> on the memory
/// store, and the whole decision (<see cref="RequestVerifier.VerifyAsync"/>) without HTTP.
/// </summary>
[MemoryDiagnoser]
public class SessionDecrypt
{
    private Stack _stack = null!;
    private SessionCookie _cookie = null!;
    private SessionStore _sessions = null!;
    private RequestVerifier _verifier = null!;
    private KeyRing _recordKeys = null!;
    private string _cookieValue = null!;
    private string _handle = null!;
    private byte[] _sealedRecord = null!;
    private AuthRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _stack = new Stack("memory");
        _cookie = _stack.Get<SessionCookie>();
        _sessions = _stack.Get<SessionStore>();
        _verifier = _stack.Get<RequestVerifier>();
        _recordKeys = new KeyRing(_stack.Options.SessionEncryptionKeys, "store");
        _cookieValue = _sessions.CreateAsync(Stack.RealisticRecord(), CancellationToken.None).GetAwaiter().GetResult();
        _handle = _cookie.TryOpen(_cookieValue)!.Handle;
        _sealedRecord = _stack.Cache.GetAsync(StoreKeys.For(StoreKeys.Session, _handle)).GetAwaiter().GetResult()!;
        var headers = new HeaderDictionary
        {
            ["X-Forwarded-Method"] = "GET",
            ["X-Forwarded-Proto"] = "https",
            ["X-Forwarded-Host"] = "app.bench.test",
            ["X-Forwarded-Uri"] = "/dashboard",
            ["Accept"] = "text/html",
            ["Cookie"] = "_forwardauth_session=" + _cookieValue,
        };
        _request = new AuthRequest("GET", "https://app.bench.test", "/dashboard", "", headers);
    }

    [Benchmark(Description = "SessionCookie.TryOpen")]
    public object? CookieOpen() => _cookie.TryOpen(_cookieValue);

    [Benchmark(Description = "hot record open, uncached (key, AES-GCM, JSON)")]
    public object? RecordOpen()
    {
        // What SessionStore.LoadAsync does with the bytes it read.
        var key = StoreKeys.For(StoreKeys.Session, _handle);
        return _recordKeys.TryOpen(_sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out _)
            ? JsonSerializer.Deserialize(json, SessionJsonContext.Default.HotRecord)?.ToRecord()
            : null;
    }

    [Benchmark(Description = "SessionStore.ResolveAsync (memory)")]
    public Task Resolve() => _sessions.ResolveAsync(_cookieValue, CancellationToken.None);

    [Benchmark(Description = "RequestVerifier.VerifyAsync (memory)")]
    public Task Verify() => _verifier.VerifyAsync(_request, PolicyRules.None, CancellationToken.None);

    [GlobalCleanup]
    public void Cleanup() => _stack.DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>
/// All of ForwardAuth's own work for one <c>/auth</c> call, without Kestrel: <see cref="Endpoints.VerifyEndpoint.HandleAsync"/>
/// on a fresh <see cref="DefaultHttpContext"/> carrying Traefik's forwarded headers and a session cookie (memory mode,
/// answer 200 with the identity headers), and the same with the per-route rule that denies it (403).
/// </summary>
[MemoryDiagnoser]
public class AuthEndpoint
{
    private Stack _stack = null!;
    private IServiceProvider _services = null!;
    private string _cookieValue = null!;

    [GlobalSetup]
    public void Setup()
    {
        _stack = new Stack("memory");
        _services = _stack.Services;
        _cookieValue = _stack.Get<SessionStore>().CreateAsync(Stack.RealisticRecord(), CancellationToken.None).GetAwaiter().GetResult();
    }

    [Benchmark(Description = "/auth cookie → 200 (memory)")]
    public Task Allow() => Run("");

    [Benchmark(Description = "/auth cookie → 403 (memory, route rule)")]
    public Task Deny() => Run("?allowedRolesAndGroups=admins");

    private async Task Run(string query)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        context.Request.Method = "GET";
        context.Request.Path = "/auth";
        context.Request.QueryString = new QueryString(query);
        var headers = context.Request.Headers;
        headers["X-Forwarded-Method"] = "GET";
        headers["X-Forwarded-Proto"] = "https";
        headers["X-Forwarded-Host"] = "app.bench.test";
        headers["X-Forwarded-Uri"] = "/dashboard/items?page=1";
        headers["X-Forwarded-For"] = "203.0.113.7";
        headers.Accept = "text/html,application/xhtml+xml";
        headers["Sec-Fetch-Mode"] = "navigate";
        headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) bench";
        headers.Cookie = "_forwardauth_session=" + _cookieValue + "; theme=dark";
        context.Response.Body = Stream.Null;
        await Endpoints.VerifyEndpoint.HandleAsync(
            context,
            _stack.Get<Configuration.ForwardAuthOptions>(),
            _stack.Get<AuthExchange>(),
            _stack.Get<Observability.ForwardAuthMetrics>(),
            _stack.Get<Endpoints.EndpointLogger>());
        if (context.Response.StatusCode is not (200 or 403))
        {
            throw new InvalidOperationException("unexpected status " + context.Response.StatusCode);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _stack.DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>
/// Redis unreachable and the circuit breaker open: every store call is served by the memory fallback (redis mode as
/// composed by the service). The per-request cost of an outage.
/// </summary>
[MemoryDiagnoser]
public class BreakerOpen
{
    private const string Key = "session:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    private Stack _stack = null!;
    private ICacheBackend _cache = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Nothing listens on port 1: connections are refused at once, and five failures open the breaker.
        _stack = new Stack("redis", "127.0.0.1:1");
        _cache = _stack.Cache;
        var breaker = _stack.Get<ResilientCacheBackend>().Breaker;
        for (var i = 0; i < 50 && breaker.State != CircuitState.Open; i++)
        {
            _cache.SetAsync(Key, new byte[2000], TimeSpan.FromHours(1)).GetAwaiter().GetResult();
        }

        if (breaker.State != CircuitState.Open)
        {
            throw new InvalidOperationException("the circuit breaker did not open");
        }
    }

    [Benchmark(Description = "get with the breaker open (fallback)")]
    public Task Get() => _cache.GetAsync(Key);

    [GlobalCleanup]
    public void Cleanup() => _stack.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
