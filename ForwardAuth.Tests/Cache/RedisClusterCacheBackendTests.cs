using System.Diagnostics;
using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The contract on a Redis Cluster (three primaries, three replicas, a password): <c>REDIS_ADDRESS</c> lists every
/// node and <c>REDIS_CLUSTER_MODE=true</c>. Keys land on different primaries; Clear must find them on all of them.
/// </summary>
[TestFixture]
public class RedisClusterCacheBackendTests : CacheBackendContract
{
    internal const string Password = "cluster-secret";
    private const string Prefix = "clustercontract";
    private RedisCluster _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        _redis = await RedisCluster.StartAsync(Password);
        TestContext.Progress.WriteLine($"Redis Cluster (6 nodes) ready in {_redis.StartupTime.TotalMilliseconds:F0} ms");
    }

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    internal static RedisOptions Options(RedisCluster redis, string prefix) => RedisTestOptions.FromEnvironment(new Dictionary<string, string>
    {
        ["REDIS_ADDRESS"] = redis.Addresses,
        ["REDIS_CLUSTER_MODE"] = "true",
        ["REDIS_PASSWORD"] = Password,
        ["REDIS_KEY_PREFIX"] = prefix,
        ["REDIS_DIAL_TIMEOUT"] = "2",
    });

    internal override Task<ICacheBackend> CreateAsync() => _connections.StoreAsync(Options(_redis, Prefix));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task Connection_SeesTheClusterTopology()
    {
        var multiplexer = await (await _connections.OpenAsync(Options(_redis, Prefix))).GetAsync();
        await TestPaths.WaitUntilAsync(() => Task.FromResult(multiplexer.GetServers().Count(s => s.IsConnected) == 6), TimeSpan.FromSeconds(10), "connections to all six nodes");
        var servers = multiplexer.GetServers();

        Assert.Multiple(() =>
        {
            Assert.That(servers.Count(s => s.IsConnected && !s.IsReplica), Is.EqualTo(3), "primaries");
            Assert.That(servers.Count(s => s.IsConnected && s.IsReplica), Is.EqualTo(3), "replicas");
            Assert.That(servers.Select(s => s.ServerType), Is.All.EqualTo(StackExchange.Redis.ServerType.Cluster));
        });
    }

    [Test]
    public async Task Clear_RemovesOwnKeysFromEveryPrimary_AndLeavesOthersAlone()
    {
        var cache = await CreateAsync();
        for (var i = 0; i < 60; i++)
        {
            await cache.SetAsync($"spread:{i}", [1], TimeSpan.FromMinutes(1));
        }

        var (primaryOfOther, _) = await _redis.OwnersOfAsync("someone-else:key");
        Assert.That(await _redis.CommandAsync(primaryOfOther, "SET", "someone-else:key", "keep"), Is.EqualTo("OK"));
        var before = await _redis.KeysByPrimaryAsync(Prefix + ":spread:*");
        Assert.That(before.Values.Count(keys => keys.Count > 0), Is.EqualTo(3), "60 keys should land on all three primaries");

        await cache.ClearAsync();

        var after = await _redis.KeysByPrimaryAsync(Prefix + ":*");
        Assert.Multiple(async () =>
        {
            Assert.That(after.Values.SelectMany(k => k), Is.Empty);
            Assert.That(await _redis.CommandAsync(primaryOfOther, "GET", "someone-else:key"), Is.EqualTo("keep"));
        });
    }

    [Test]
    public async Task Set_LandsOnThePrimaryOwningTheSlot()
    {
        var cache = await CreateAsync();
        await cache.SetAsync("session:slot", Encoding.UTF8.GetBytes("v"), TimeSpan.FromMinutes(1));

        var (primary, _) = await _redis.OwnersOfAsync(Prefix + ":session:slot");

        Assert.That(await _redis.CommandAsync(primary, "GET", Prefix + ":session:slot"), Is.EqualTo("v"));
    }
}

/// <summary>
/// A crash of the cluster primary that holds a session: the backend sees only <see cref="CacheUnavailableException"/>
/// for that slot while the replica takes over, then serves the same key (replicated before the crash) and new writes.
/// </summary>
[TestFixture]
public class RedisClusterFailoverTests
{
    private RedisCluster _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        _redis = await RedisCluster.StartAsync(RedisClusterCacheBackendTests.Password);
        TestContext.Progress.WriteLine($"Redis Cluster (6 nodes) ready in {_redis.StartupTime.TotalMilliseconds:F0} ms");
    }

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Test]
    public async Task PrimaryKilled_BackendFollowsThePromotedReplica()
    {
        const string prefix = "failover";
        var cache = await _connections.RedisLayerAsync(RedisClusterCacheBackendTests.Options(_redis, prefix));
        await cache.SetAsync("session:before", Encoding.UTF8.GetBytes("kept"), TimeSpan.FromMinutes(5));
        var (oldPrimary, _) = await _redis.OwnersOfAsync(prefix + ":session:before");

        // Load on keys of every slot owner, so some of it hits the dying primary.
        using var load = new FailoverLoad(cache);
        await TestPaths.WaitUntilAsync(() => Task.FromResult(load.Elapsed > TimeSpan.FromMilliseconds(100)), TimeSpan.FromSeconds(5), "some load before the kill");
        var killedAt = load.Elapsed;
        var killed = Stopwatch.GetTimestamp();
        var (promoted, clusterFailover) = await _redis.KillPrimaryOfAsync(prefix + ":session:before");

        byte[]? read = null;
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                try
                {
                    // Same slot as session:before: it was served by the killed primary.
                    read = await cache.GetAsync("session:before");
                    await cache.SetAsync("session:before", Encoding.UTF8.GetBytes("kept"), TimeSpan.FromMinutes(5));
                    return true;
                }
                catch (CacheUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            "the backend to read and write the killed primary's slot again");
        var recovered = Stopwatch.GetElapsedTime(killed);
        var outcome = await load.StopAsync();
        TestContext.Progress.WriteLine(
            $"Cluster failover: primary {oldPrimary.Address} killed at {killedAt.TotalMilliseconds:F0} ms; replica {promoted.Address} owned the slot "
            + $"{clusterFailover.TotalMilliseconds:F0} ms after the kill; backend served the slot again after {recovered.TotalMilliseconds:F0} ms; background load: {outcome}");

        Assert.Multiple(async () =>
        {
            Assert.That(promoted, Is.Not.EqualTo(oldPrimary));
            Assert.That(read, Is.EqualTo(Encoding.UTF8.GetBytes("kept")), "a key written (and replicated) before the crash");
            Assert.That(await _redis.CommandAsync(promoted, "GET", prefix + ":session:before"), Is.EqualTo("kept"));
            Assert.That(outcome.Unexpected, Is.Empty, "only CacheUnavailableException may escape the backend during a failover");
            Assert.That((await cache.HealthAsync()).Healthy, Is.True);
        });
    }
}
