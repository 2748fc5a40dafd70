using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForwardAuth.Tests.Cache;

[TestFixture]
public class RedisCacheBackendTests : CacheBackendContract
{
    private RedisServer _redis = null!;
    private readonly List<RedisConnection> _connections = [];

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        foreach (var c in _connections)
        {
            await c.DisposeAsync();
        }

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

    internal override Task<ICacheBackend> CreateAsync()
    {
        var connection = new RedisConnection(Options(_redis.Address), NullLogger<RedisConnection>.Instance);
        _connections.Add(connection);
        return Task.FromResult<ICacheBackend>(new RedisCacheBackend(connection));
    }

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
        var connection = new RedisConnection(Options($"127.0.0.1:{deadPort.Port}") with { DialTimeout = TimeSpan.FromSeconds(1) }, NullLogger<RedisConnection>.Instance);
        _connections.Add(connection);
        var cache = new RedisCacheBackend(connection);

        Assert.Multiple(async () =>
        {
            Assert.ThrowsAsync<CacheUnavailableException>(() => cache.GetAsync("k"));
            Assert.That((await cache.HealthAsync()).Healthy, Is.False);
            Assert.That((await cache.HealthAsync()).Problem, Does.Contain("redis.address"));
        });
    }
}
