using ForwardAuth.Cache;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The contract, in redis and hybrid mode, against a Redis whose configuration removes the commands newer than the
/// supported floor (Redis 5.0): <c>GETDEL</c> and <c>GETEX</c> (6.2) are renamed away, so a store that used them would
/// fail here with "unknown command" — an error the breaker does not count, surfacing as a bug.
/// </summary>
[TestFixture("redis")]
[TestFixture("hybrid")]
public class RedisWithoutNewerCommandsTests(string mode) : CacheBackendContract
{
    private RedisServer _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        var config = Path.Combine(TestPaths.NewTempDirectory("redis-conf"), "redis.conf");
        await File.WriteAllTextAsync(config, "rename-command GETDEL \"\"\nrename-command GETEX \"\"\n");
        _redis = await RedisServer.StartAsync("--include", config);
    }

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private ForwardAuth.Configuration.RedisOptions Options() => RedisCacheBackendTests.Options(_redis.Address, "floor-" + mode);

    internal override Task<ICacheBackend> CreateAsync() => mode == "hybrid" ? _connections.HybridAsync(Options()) : _connections.StoreAsync(Options());

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task TheNewerCommands_AreReallyGone()
    {
        var admin = await _redis.AdminAsync();

        Assert.Multiple(() =>
        {
            Assert.That(() => admin.Execute("GETDEL", "k"), Throws.InstanceOf<StackExchange.Redis.RedisServerException>().With.Message.Contains("unknown command"));
            Assert.That(() => admin.Execute("GETEX", "k"), Throws.InstanceOf<StackExchange.Redis.RedisServerException>().With.Message.Contains("unknown command"));
        });
    }

    [Test]
    public async Task AtomicOperations_OnTheRedisLayer_AnswerWithoutFallingBack()
    {
        // Straight on the Redis layer: an "unknown command" would surface here instead of being hidden by a fallback.
        var redis = await _connections.RedisLayerAsync(Options());
        await redis.SetAsync("login:floor", [1, 2], TimeSpan.FromMinutes(1));

        Assert.Multiple(async () =>
        {
            Assert.That(await redis.GetAndDeleteAsync("login:floor"), Is.EqualTo(new byte[] { 1, 2 }));
            Assert.That(await redis.GetAndDeleteAsync("login:floor"), Is.Null);
            Assert.That(await redis.AddIfAbsentAsync("once:floor", [1], TimeSpan.FromMinutes(1), Guarantee.AcrossReplicas), Is.EqualTo(AddResult.Added));
            Assert.That(await redis.RenewIfValueAsync("once:floor", [1], TimeSpan.FromMinutes(1)), Is.True);
            Assert.That(await redis.DeleteIfValueAsync("once:floor", [1]), Is.True);
        });
    }
}
