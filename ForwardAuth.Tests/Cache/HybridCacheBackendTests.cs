using System.Diagnostics;
using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForwardAuth.Tests.Cache;

/// <summary>The contract suite over the hybrid backend, plus what only hybrid promises: L1 and its invalidation.</summary>
[TestFixture]
public class HybridCacheBackendTests : CacheBackendContract
{
    private RedisServer _redis = null!;
    private readonly List<IAsyncDisposable> _disposables = [];

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        foreach (var d in _disposables)
        {
            await d.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    internal async Task<HybridCacheBackend> CreateHybridAsync(TimeSpan? localTtl = null)
    {
        var connection = new RedisConnection(RedisCacheBackendTests.Options(_redis.Address, "hybrid"), NullLogger<RedisConnection>.Instance);
        var hybrid = Hybrid(connection, localTtl ?? TimeSpan.FromMinutes(5));
        _disposables.Add(hybrid);
        _disposables.Add(connection);
        await hybrid.Ready;
        return hybrid;
    }

    private static HybridCacheBackend Hybrid(RedisConnection connection, TimeSpan localTtl)
    {
        var channel = new InvalidationChannel(connection);
        return new HybridCacheBackend(
            new RedisCacheBackend(connection, invalidations: channel), connection, channel, new MemoryCacheBackend(TimeProvider.System, 1000), localTtl,
            breaker: null, NullLogger<HybridCacheBackend>.Instance);
    }

    internal override async Task<ICacheBackend> CreateAsync() => await CreateHybridAsync();

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task Get_SecondRead_ServedFromL1WithoutRedis()
    {
        var hybrid = await CreateHybridAsync();
        var admin = await _redis.AdminAsync();
        await admin.StringSetAsync("hybrid:session:l1", "v1", TimeSpan.FromMinutes(1));

        Assert.That(await hybrid.GetAsync("session:l1"), Is.EqualTo(B("v1")));
        // Changed behind the backend's back (no invalidation): the L1 copy answers.
        await admin.StringSetAsync("hybrid:session:l1", "changed", TimeSpan.FromMinutes(1));

        Assert.That(await hybrid.GetAsync("session:l1"), Is.EqualTo(B("v1")));
        Assert.That(hybrid.Local.Count, Is.GreaterThan(0));
    }

    [Test]
    public async Task Delete_OnReplicaA_ReplicaBDropsItsL1CopyWithin100Ms()
    {
        var a = await CreateHybridAsync();
        var b = await CreateHybridAsync();
        await a.SetAsync("session:shared", B("alive"), TimeSpan.FromMinutes(5));
        // B skips filling L1 while an invalidation (A's own write) is in flight, so read until B holds it.
        await TestPaths.WaitUntilAsync(
            async () => (await b.GetAsync("session:shared"))!.SequenceEqual(B("alive")) && await b.Local.ExistsAsync("session:shared"),
            TimeSpan.FromSeconds(2),
            "B to hold the session in L1");

        var clock = Stopwatch.StartNew();
        await a.DeleteAsync("session:shared");
        await TestPaths.WaitUntilAsync(async () => await b.GetAsync("session:shared") is null, TimeSpan.FromSeconds(2), "B to refuse the deleted session");

        Assert.That(clock.ElapsedMilliseconds, Is.LessThan(100));
    }

    [Test]
    public async Task Exists_AbsentAnswerCachedOnB_ReplicaAWritesIt_BSeesItWithin100Ms()
    {
        var a = await CreateHybridAsync();
        var b = await CreateHybridAsync();
        var admin = await _redis.AdminAsync();
        var key = "revoked:" + Guid.NewGuid().ToString("N");
        Assert.That(await b.ExistsAsync(key), Is.False);
        await TestPaths.WaitUntilAsync(async () => !await b.ExistsAsync(key) && await b.Local.ExistsAsync("?exists:" + key), TimeSpan.FromSeconds(2), "B to remember the absence");
        var commandsBefore = (string)(await admin.ExecuteAsync("INFO", "commandstats"))!;
        for (var i = 0; i < 20; i++)
        {
            Assert.That(await b.ExistsAsync(key), Is.False);
        }

        Assert.That(ExistsCalls((string)(await admin.ExecuteAsync("INFO", "commandstats"))!) - ExistsCalls(commandsBefore), Is.LessThanOrEqualTo(1), "absence answered from L1");

        var clock = Stopwatch.StartNew();
        await a.SetAsync(key, B("1"), TimeSpan.FromMinutes(5));
        await TestPaths.WaitUntilAsync(async () => await b.ExistsAsync(key), TimeSpan.FromSeconds(2), "B to see the new key");

        Assert.That(clock.ElapsedMilliseconds, Is.LessThan(100));

        static long ExistsCalls(string info) =>
            info.Split('\n').Where(l => l.StartsWith("cmdstat_exists:", StringComparison.Ordinal))
                .Sum(l => long.Parse(l.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Set_OnReplicaA_ReplicaBSeesTheNewValue()
    {
        var a = await CreateHybridAsync();
        var b = await CreateHybridAsync();
        await a.SetAsync("session:changing", B("v1"), TimeSpan.FromMinutes(5));
        Assert.That(await b.GetAsync("session:changing"), Is.EqualTo(B("v1")));

        await a.SetAsync("session:changing", B("v2"), TimeSpan.FromMinutes(5));

        await TestPaths.WaitUntilAsync(async () => (await b.GetAsync("session:changing"))?.SequenceEqual(B("v2")) == true, TimeSpan.FromSeconds(2), "B to see v2");
    }

    [Test]
    public async Task SingleUseMarkers_NeverInL1()
    {
        var hybrid = await CreateHybridAsync();

        await hybrid.AddIfAbsentAsync("once:abc", B("1"), TimeSpan.FromMinutes(1));
        await hybrid.GetAsync("once:abc");

        Assert.That(await hybrid.Local.ExistsAsync("once:abc"), Is.False);
    }

    [Test]
    public async Task SingleUseMarkers_FiftyAttemptsOverThreeReplicas_ExactlyOneWins()
    {
        var replicas = new[] { await CreateHybridAsync(), await CreateHybridAsync(), await CreateHybridAsync() };

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => replicas[i % 3].AddIfAbsentAsync("once:jti-contended", B($"{i}"), TimeSpan.FromMinutes(1)))));

        Assert.That(results.Count(r => r), Is.EqualTo(1));
    }

    [Test]
    public async Task RedisRestart_L1Flushed()
    {
        await using var redis = await RedisServer.StartAsync();
        var connection = new RedisConnection(RedisCacheBackendTests.Options(redis.Address, "flush"), NullLogger<RedisConnection>.Instance);
        _disposables.Add(connection);
        var hybrid = Hybrid(connection, TimeSpan.FromMinutes(5));
        _disposables.Add(hybrid);
        await hybrid.Ready;
        await hybrid.SetAsync("session:s", B("1"), TimeSpan.FromMinutes(5));
        Assert.That(hybrid.Local.Count, Is.EqualTo(1));

        await redis.StopAsync();

        await TestPaths.WaitUntilAsync(() => Task.FromResult(hybrid.Local.Count == 0), TimeSpan.FromSeconds(10), "L1 to be flushed after the link dropped");
        Assert.ThrowsAsync<CacheUnavailableException>(() => hybrid.GetAsync("session:s"), "with the link down, L1 is not trusted");
    }
}
