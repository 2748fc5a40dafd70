using System.Diagnostics;
using System.Globalization;
using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The contract through Sentinel: <c>REDIS_ADDRESS</c> lists the three Sentinels, <c>REDIS_SENTINEL_MASTER_NAME</c>
/// names the master, the data nodes have a password, and database 2 is used — once with Sentinels that need no
/// password and once with Sentinels that have the same one.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
public class RedisSentinelCacheBackendTests(bool sentinelsRequirePassword) : CacheBackendContract
{
    internal const string Password = "sentinel-data-secret";
    private const string Prefix = "sentinelcontract";
    private const int Db = 2;
    private RedisSentinel _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        _redis = await RedisSentinel.StartAsync(Password, sentinelsRequirePassword);
        TestContext.Progress.WriteLine($"Sentinel topology (sentinels with password: {sentinelsRequirePassword}) ready in {_redis.StartupTime.TotalMilliseconds:F0} ms");
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

    internal static RedisOptions Options(RedisSentinel redis, string prefix, int db = 0) => RedisTestOptions.FromEnvironment(new Dictionary<string, string>
    {
        ["REDIS_ADDRESS"] = redis.SentinelAddresses,
        ["REDIS_SENTINEL_MASTER_NAME"] = RedisSentinel.MasterName,
        ["REDIS_PASSWORD"] = Password,
        ["REDIS_DB"] = db.ToString(CultureInfo.InvariantCulture),
        ["REDIS_KEY_PREFIX"] = prefix,
        ["REDIS_DIAL_TIMEOUT"] = "2",
    });

    internal override Task<ICacheBackend> CreateAsync() => _connections.StoreAsync(Options(_redis, Prefix, Db));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task Set_GoesThroughTheSentinelsToTheMaster_AndReplicates()
    {
        var cache = await CreateAsync();
        await cache.SetAsync("session:via-sentinel", Encoding.UTF8.GetBytes("v"), TimeSpan.FromMinutes(1));
        await _redis.WaitForReplicaSyncAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await Resp.CommandAsync(_redis.Master.Port, ["GET", Prefix + ":session:via-sentinel"], Password, db: Db), Is.EqualTo("v"));
            Assert.That(await Resp.CommandAsync(_redis.Replica!.Port, ["GET", Prefix + ":session:via-sentinel"], Password, db: Db), Is.EqualTo("v"));
            Assert.That(await Resp.CommandAsync(_redis.Master.Port, ["EXISTS", Prefix + ":session:via-sentinel"], Password), Is.EqualTo(0L), "database 0");
        });
    }

    [Test]
    public async Task Connection_TalksToTheDataNodes_NotTheSentinels()
    {
        var connection = await _connections.OpenAsync(Options(_redis, Prefix, Db));
        var multiplexer = await connection.GetAsync();
        var primaries = multiplexer.GetServers().Where(s => s.IsConnected && !s.IsReplica).Select(s => s.EndPoint.ToString()).ToList();

        Assert.That(primaries, Is.EqualTo(new[] { _redis.Master.Address }));
    }

    [Test]
    public async Task Clear_DoesNotTouchTheReplicaDirectly_AndEmptiesBoth()
    {
        var cache = await CreateAsync();
        await cache.SetAsync("c:1", [1], TimeSpan.FromMinutes(1));
        await _redis.WaitForReplicaSyncAsync();

        await cache.ClearAsync();
        await _redis.WaitForReplicaSyncAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await Resp.CommandAsync(_redis.Master.Port, ["EXISTS", Prefix + ":c:1"], Password, db: Db), Is.EqualTo(0L));
            Assert.That(await Resp.CommandAsync(_redis.Replica!.Port, ["EXISTS", Prefix + ":c:1"], Password, db: Db), Is.EqualTo(0L));
        });
    }
}

/// <summary>
/// A crash of the Sentinel master: the service keeps its one connection, sees only <see cref="CacheUnavailableException"/>
/// while there is no master, and serves reads and writes again through the promoted replica — with the data written
/// before the crash.
/// </summary>
[TestFixture]
public class RedisSentinelFailoverTests
{
    private RedisSentinel _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        _redis = await RedisSentinel.StartAsync(RedisSentinelCacheBackendTests.Password);
        TestContext.Progress.WriteLine($"Sentinel topology ready in {_redis.StartupTime.TotalMilliseconds:F0} ms");
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
    public async Task MasterKilled_BackendFollowsThePromotedReplica()
    {
        var cache = await _connections.RedisLayerAsync(RedisSentinelCacheBackendTests.Options(_redis, "failover"));
        var oldMaster = _redis.Master.Address;
        await cache.SetAsync("session:before", Encoding.UTF8.GetBytes("kept"), TimeSpan.FromMinutes(5));
        await _redis.WaitForReplicaSyncAsync();

        using var load = new FailoverLoad(cache);
        await TestPaths.WaitUntilAsync(() => Task.FromResult(load.Elapsed > TimeSpan.FromMilliseconds(100)), TimeSpan.FromSeconds(5), "some load before the kill");
        var killedAt = load.Elapsed;
        var killed = Stopwatch.GetTimestamp();
        var sentinelFailover = await _redis.KillMasterAsync();

        byte[]? read = null;
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                try
                {
                    await cache.SetAsync("session:after", Encoding.UTF8.GetBytes("new"), TimeSpan.FromMinutes(5));
                    read = await cache.GetAsync("session:before");
                    return true;
                }
                catch (CacheUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(30),
            "the backend to write through the promoted master");
        var recovered = Stopwatch.GetElapsedTime(killed);
        var outcome = await load.StopAsync();
        TestContext.Progress.WriteLine(
            $"Sentinel failover: master killed at {killedAt.TotalMilliseconds:F0} ms; sentinels promoted {_redis.Master.Address} {sentinelFailover.TotalMilliseconds:F0} ms after the kill; "
            + $"backend writing again after {recovered.TotalMilliseconds:F0} ms; background load: {outcome}");

        Assert.Multiple(async () =>
        {
            Assert.That(_redis.Master.Address, Is.Not.EqualTo(oldMaster));
            Assert.That(read, Is.EqualTo(Encoding.UTF8.GetBytes("kept")), "a key written (and replicated) before the crash");
            Assert.That(await Resp.CommandAsync(_redis.Master.Port, ["GET", "failover:session:after"], RedisSentinelCacheBackendTests.Password), Is.EqualTo("new"));
            Assert.That(outcome.Unexpected, Is.Empty, "only CacheUnavailableException may escape the backend during a failover");
            Assert.That((await cache.HealthAsync()).Healthy, Is.True);
        });
    }
}

/// <summary>
/// Reads and writes in a loop while a topology fails over, counting what the backend did: succeeded, threw
/// <see cref="CacheUnavailableException"/> (expected while there is no master), or anything else (a bug).
/// </summary>
internal sealed class FailoverLoad : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task<Outcome> _loop;

    public FailoverLoad(ICacheBackend cache, string keyPrefix = "load")
    {
        _loop = Task.Run(async () =>
        {
            var outcome = new Outcome();
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                var key = $"{keyPrefix}:{i % 50}";
                var started = Stopwatch.GetTimestamp();
                string kind;
                try
                {
                    await cache.SetAsync(key, [1], TimeSpan.FromMinutes(1));
                    await cache.GetAsync(key);
                    outcome.Succeeded++;
                    kind = "ok";
                }
                catch (CacheUnavailableException)
                {
                    outcome.Unavailable++;
                    kind = "unavailable";
                }
                catch (Exception e)
                {
                    outcome.Unexpected.Add(e.GetType().Name + ": " + e.Message);
                    kind = "unexpected";
                }

                var took = Stopwatch.GetElapsedTime(started);
                outcome.Slowest = took > outcome.Slowest ? took : outcome.Slowest;
                outcome.Record(kind, Stopwatch.GetElapsedTime(_started, started));
                if (kind != "ok")
                {
                    await Task.Delay(10);
                }
            }

            return outcome;
        });
    }

    /// <summary>Time since the load started, to place events (the kill, the promotion) on its timeline.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    public async Task<Outcome> StopAsync()
    {
        await _stop.CancelAsync();
        return await _loop;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    internal sealed class Outcome
    {
        private readonly List<(string Kind, int Count, TimeSpan From, TimeSpan To)> _timeline = [];

        public int Succeeded { get; set; }

        public int Unavailable { get; set; }

        public TimeSpan Slowest { get; set; }

        public List<string> Unexpected { get; } = [];

        public void Record(string kind, TimeSpan at)
        {
            if (_timeline.Count > 0 && _timeline[^1].Kind == kind)
            {
                var last = _timeline[^1];
                _timeline[^1] = (kind, last.Count + 1, last.From, at);
            }
            else
            {
                _timeline.Add((kind, 1, at, at));
            }
        }

        /// <summary>Run-length timeline, e.g. <c>ok×40 [0-5 ms] → unavailable×120 [6-2250 ms] → ok×900 [2260-2300 ms]</c>.</summary>
        public string Timeline => string.Join(" → ", _timeline.Select(t => $"{t.Kind}×{t.Count} [{t.From.TotalMilliseconds:F0}-{t.To.TotalMilliseconds:F0} ms]"));

        public override string ToString() =>
            $"{Succeeded} ok, {Unavailable} unavailable, {Unexpected.Count} unexpected, slowest operation {Slowest.TotalMilliseconds:F0} ms; {Timeline}"
            + (Unexpected.Count == 0 ? "" : " (" + string.Join("; ", Unexpected.Distinct().Take(3)) + ")");
    }
}
