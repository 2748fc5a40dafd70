using System.Diagnostics;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

[TestFixture]
public class RedisCacheBackendTests : CacheBackendContract
{
    private RedisServer _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        await _redis.DisposeAsync();
    }

    internal static RedisOptions Options(string address, string prefix = "contract") => ConfigurationLoader.Load([], n => n switch
    {
        "PROVIDER_URL" => "https://id.example.com",
        "CLIENT_ID" => "c",
        "CLIENT_SECRET" => "s",
        "SESSION_ENCRYPTION_KEY" => "0123456789abcdef0123456789abcdef",
        "REDIS_ENABLED" => "true",
        "REDIS_CACHE_MODE" => "redis",
        "REDIS_ADDRESS" => address,
        "REDIS_KEY_PREFIX" => prefix,
        _ => null,
    }).Redis;

    // Redis mode as the service composes it: metered → breaker and memory fallback → Redis.
    internal override Task<ICacheBackend> CreateAsync() => _connections.StoreAsync(Options(_redis.Address));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task Keys_CarryThePrefixAndKind()
    {
        var cache = await CreateAsync();
        await cache.SetAsync("session:abc123", [1], TimeSpan.FromMinutes(1));

        Assert.That(await _redis.KeysAsync("contract:*"), Does.Contain("contract:session:abc123"));
    }

    [Test]
    public async Task Clear_LeavesOtherPrefixesAlone()
    {
        var admin = await _redis.AdminAsync();
        await admin.StringSetAsync("someone-else:key", "keep");
        var cache = await CreateAsync();
        await cache.SetAsync("x:1", [1], TimeSpan.FromMinutes(1));

        await cache.ClearAsync();

        Assert.Multiple(async () =>
        {
            Assert.That((string?)await admin.StringGetAsync("someone-else:key"), Is.EqualTo("keep"));
            Assert.That(await _redis.KeysAsync("contract:*"), Is.Empty);
        });
    }

    [Test]
    public async Task Operations_RedisDown_ThrowUnavailableNotHang()
    {
        // Held, not listening: connections are refused, and no other process can start a server there meanwhile.
        using var deadPort = PortReservation.Take();
        var cache = await _connections.RedisLayerAsync(Options($"127.0.0.1:{deadPort.Port}") with { DialTimeout = TimeSpan.FromSeconds(1) });

        Assert.Multiple(async () =>
        {
            Assert.ThrowsAsync<CacheUnavailableException>(() => cache.GetAsync("k"));
            Assert.That((await cache.HealthAsync()).Healthy, Is.False);
            Assert.That((await cache.HealthAsync()).Problem, Does.Contain("redis.address"));
        });
    }

    [Test]
    public async Task Cancelled_WhileRedisHangs_StopsWaitingAndIsNotABreakerFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        var timeout = TimeSpan.FromSeconds(5);
        var stack = await _connections.StackAsync(Options(redis.Address, "cancel") with { ReadTimeout = timeout, WriteTimeout = timeout });
        await stack.Store.SetAsync("session:c", [1], TimeSpan.FromMinutes(1));
        var breaker = stack.Get<ResilientCacheBackend>().Breaker;

        redis.Pause();
        try
        {
            using var request = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var clock = Stopwatch.StartNew();
            Assert.CatchAsync<OperationCanceledException>(() => stack.Store.GetAsync("session:c", request.Token));
            clock.Stop();

            Assert.Multiple(() =>
            {
                Assert.That(clock.Elapsed, Is.LessThan(timeout / 2), "a cancelled request stops waiting for a hung Redis");
                Assert.That(breaker.ConsecutiveFailures, Is.Zero, "a cancellation is not an outage");
                Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            });
        }
        finally
        {
            redis.Resume();
        }
    }
}
