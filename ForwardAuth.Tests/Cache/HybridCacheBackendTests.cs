using System.Diagnostics;
using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

/// <summary>The contract suite over the hybrid backend, plus what only hybrid promises: L1 and its invalidation.</summary>
[TestFixture]
public class HybridCacheBackendTests : CacheBackendContract
{
    private RedisServer _redis = null!;
    private readonly RedisTestOptions.Connections _stacks = new();

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _stacks.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    // Hybrid mode as the service composes it (metered → L1 → breaker and fallback → Redis), once L1 is in use. The
    // tests below that look into L1 use its hybrid layer.
    private async Task<StoreStack> CreateStackAsync(string address, string prefix)
    {
        var stack = await _stacks.StackAsync(RedisCacheBackendTests.Options(address, prefix) with { CacheMode = CacheMode.Hybrid, LocalCacheTtl = TimeSpan.FromMinutes(5) });
        await stack.ReadyAsync();
        return stack;
    }

    internal async Task<HybridCacheBackend> CreateHybridAsync() => (await CreateStackAsync(_redis.Address, "hybrid")).Get<HybridCacheBackend>();

    internal override async Task<ICacheBackend> CreateAsync() => (await CreateStackAsync(_redis.Address, "hybrid")).Store;

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

        await hybrid.AddIfAbsentAsync("once:abc", B("1"), TimeSpan.FromMinutes(1), Guarantee.BestEffort);

        Assert.That(await hybrid.Local.ExistsAsync("once:abc"), Is.False);
    }

    [Test]
    public async Task AtomicOperations_NeverAnsweredFromL1()
    {
        var hybrid = await CreateHybridAsync();
        var admin = await _redis.AdminAsync();
        var id = Guid.NewGuid().ToString("N");

        // L1 holds a plain read's copy; Redis changes behind its back (no invalidation).
        await admin.StringSetAsync($"hybrid:login:{id}", "v1", TimeSpan.FromMinutes(1));
        await TestPaths.WaitUntilAsync(
            async () => (await hybrid.GetAsync($"login:{id}"))!.SequenceEqual(B("v1")) && await hybrid.Local.ExistsAsync($"login:{id}"),
            TimeSpan.FromSeconds(2),
            "L1 to hold the copy");
        await admin.StringSetAsync($"hybrid:login:{id}", "v2", TimeSpan.FromMinutes(1));

        // L1 remembers an absence; Redis gets the key behind its back.
        Assert.That(await hybrid.ExistsAsync($"lease:{id}"), Is.False);
        await admin.StringSetAsync($"hybrid:lease:{id}", "holder", TimeSpan.FromMinutes(1));

        Assert.Multiple(async () =>
        {
            Assert.That(await hybrid.GetAndDeleteAsync($"login:{id}"), Is.EqualTo(B("v2")), "taken from Redis, not from L1's copy");
            Assert.That(await hybrid.AddIfAbsentAsync($"lease:{id}", B("me"), TimeSpan.FromMinutes(1), Guarantee.BestEffort), Is.EqualTo(AddResult.AlreadyPresent));
            Assert.That(await hybrid.RenewIfValueAsync($"lease:{id}", B("holder"), TimeSpan.FromMinutes(1)), Is.True);
            Assert.That(await hybrid.DeleteIfValueAsync($"lease:{id}", B("holder")), Is.True);
            Assert.That(await hybrid.ExistsAsync($"lease:{id}"), Is.False);
        });
    }

    [Test]
    public async Task SingleUseMarkers_FiftyAttemptsOverThreeReplicas_ExactlyOneWins()
    {
        var replicas = new[] { await CreateHybridAsync(), await CreateHybridAsync(), await CreateHybridAsync() };

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => replicas[i % 3].AddIfAbsentAsync("once:jti-contended", B($"{i}"), TimeSpan.FromMinutes(1), Guarantee.AcrossReplicas))));

        Assert.That(results.Count(r => r == AddResult.Added), Is.EqualTo(1));
    }

    [Test]
    public async Task RedisRestart_L1Flushed()
    {
        await using var redis = await RedisServer.StartAsync();
        var hybrid = (await CreateStackAsync(redis.Address, "flush")).Get<HybridCacheBackend>();
        await hybrid.SetAsync("session:s", B("1"), TimeSpan.FromMinutes(5));
        Assert.That(hybrid.Local.Count, Is.EqualTo(1));

        await redis.StopAsync();

        await TestPaths.WaitUntilAsync(() => Task.FromResult(hybrid.Local.Count == 0), TimeSpan.FromSeconds(10), "L1 to be flushed after the link dropped");
        // The read goes past L1 to the breaker, whose fallback does not have the key: not the L1 copy.
        Assert.That(await hybrid.GetAsync("session:s"), Is.Null, "with the link down, L1 is not trusted");
    }
}
