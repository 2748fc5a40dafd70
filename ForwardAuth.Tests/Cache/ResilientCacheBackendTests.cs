using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The breaker, fallback and journal around a store that really fails (a hand-written fake in place of Redis), in the
/// production composition (<see cref="StoreStack"/>, redis mode, its monitor running), on a fake clock.
/// </summary>
public class ResilientCacheBackendTests
{
    private static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(60);
    private FakeTimeProvider _time = null!;
    private FlakyBackend _redis = null!;
    private StoreStack _stack = null!;
    private ResilientCacheBackend _cache = null!;

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    // Threshold 3, open timeout 60 s, a health check every 5 s.
    internal static RedisOptions Options() => RedisTestOptions.FromEnvironment(new Dictionary<string, string>
    {
        ["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "3",
        ["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "60",
        ["REDIS_HEALTH_CHECK_INTERVAL"] = "5",
    });

    private async Task<ResilientCacheBackend> OverAsync(ICacheBackend shared)
    {
        _stack = await StoreStack.OverAsync(shared, _time, Options());
        return _stack.Get<ResilientCacheBackend>();
    }

    [SetUp]
    public async Task SetUp()
    {
        _time = new FakeTimeProvider();
        _redis = new FlakyBackend(new MemoryCacheBackend(_time));
        _cache = await OverAsync(_redis);
    }

    [TearDown]
    public async Task TearDown() => await _stack.DisposeAsync();

    private async Task OpenTheCircuitAsync()
    {
        _redis.Down = true;
        for (var i = 0; i < 3; i++)
        {
            await _cache.GetAsync("session:probe");
        }

        Assert.That(_cache.Breaker.State, Is.EqualTo(CircuitState.Open));
    }

    // The probe loop arms its timer on its own thread: let fake time pass in steps until the condition holds.
    private Task TimePassesUntilAsync(Func<bool> condition, string what) =>
        TestPaths.WaitUntilAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromSeconds(5));
                return Task.FromResult(condition());
            },
            TimeSpan.FromSeconds(10),
            what);

    [Test]
    public async Task Closed_OperationsGoToRedis()
    {
        await _cache.SetAsync("session:a", B("1"), TimeSpan.FromMinutes(5));

        Assert.That(await _redis.Inner.GetAsync("session:a"), Is.EqualTo(B("1")));
        Assert.That(_cache.Fallback.Count, Is.Zero);
    }

    [Test]
    public async Task RedisFails_CallServedFromMemoryNotAnError()
    {
        _redis.Down = true;

        await _cache.SetAsync("session:a", B("1"), TimeSpan.FromMinutes(5));

        Assert.That(await _cache.GetAsync("session:a"), Is.EqualTo(B("1")));
    }

    [Test]
    public async Task Open_NoCallReachesRedis()
    {
        await OpenTheCircuitAsync();
        var callsWhenOpened = _redis.Calls;

        for (var i = 0; i < 50; i++)
        {
            await _cache.GetAsync("session:x");
        }

        Assert.That(_redis.Calls, Is.EqualTo(callsWhenOpened));
    }

    [Test]
    public async Task Recovery_ProbeClosesTheCircuitAndReplaysOutageWrites()
    {
        await OpenTheCircuitAsync();
        await _cache.SetAsync("session:new", B("during outage"), TimeSpan.FromMinutes(30));
        await _cache.SetAsync("revoked:old", B("1"), TimeSpan.FromMinutes(30));
        await _cache.DeleteAsync("session:old");
        Assert.That(_cache.Journal.Count, Is.EqualTo(3));

        _redis.Down = false;
        await TimePassesUntilAsync(() => _cache.Breaker.State == CircuitState.Closed, "the background probe to close the circuit");
        await _cache.LastReplay;

        Assert.Multiple(async () =>
        {
            Assert.That(await _redis.Inner.GetAsync("session:new"), Is.EqualTo(B("during outage")));
            Assert.That(await _redis.Inner.ExistsAsync("revoked:old"), Is.True);
            Assert.That(_cache.Journal.Count, Is.Zero);
            Assert.That(_cache.Fallback.Count, Is.Zero, "memory is emptied once Redis has everything");
        });
    }

    [Test]
    public async Task Recovery_RedisAnswersTheHealthProbe_ClosedLongBeforeTheOpenTimeout()
    {
        // Issue 18: a replica never holds its breaker open while Redis answers. Without the health probe while open, the
        // circuit would stay open for the whole circuitBreakerTimeout (60 s here).
        await OpenTheCircuitAsync();
        var openedAt = _time.GetUtcNow();
        var transitions = new List<CircuitState>();
        _cache.Breaker.StateChanged += (_, to) =>
        {
            lock (transitions)
            {
                transitions.Add(to);
            }
        };

        _redis.Down = false;
        await TimePassesUntilAsync(() => _cache.Breaker.State == CircuitState.Closed, "the health probe to close the circuit");

        var open = _time.GetUtcNow() - openedAt;
        Assert.That(open, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(15)), $"closed {open.TotalSeconds:F0} s after opening: within a few health intervals (5 s), not the 60 s timeout");
        lock (transitions)
        {
            Assert.That(transitions, Is.EqualTo(new[] { CircuitState.HalfOpen, CircuitState.Closed }), "through half-open, as the state machine goes");
        }
    }

    [Test]
    public async Task Open_RedisStillDown_HealthProbeEveryIntervalButNoHalfOpenBeforeTheTimeout()
    {
        await OpenTheCircuitAsync();
        var openedAt = _time.GetUtcNow();
        var checks = _redis.HealthChecks;

        await TimePassesUntilAsync(() => _redis.HealthChecks >= checks + 3, "three health probes while open");

        Assert.That(_time.GetUtcNow() - openedAt, Is.LessThan(OpenTimeout), "probed every health interval, not once per timeout");
        Assert.That(_cache.Breaker.State, Is.EqualTo(CircuitState.Open), "an unanswered probe changes nothing");
    }

    [Test]
    public async Task Recovery_RedisStillDown_StaysOpenAndKeepsTheJournal()
    {
        await OpenTheCircuitAsync();
        await _cache.SetAsync("session:new", B("1"), TimeSpan.FromMinutes(30));

        await TimePassesUntilAsync(() => _redis.HealthChecks >= 2, "two failed probes");

        Assert.That(_cache.Breaker.State, Is.EqualTo(CircuitState.Open));
        Assert.That(_cache.Journal.Count, Is.EqualTo(1));
        Assert.That(await _cache.GetAsync("session:new"), Is.EqualTo(B("1")));
    }

    [Test]
    public async Task Closed_NoTraffic_HealthChecksOpenTheCircuitWhenRedisFails()
    {
        _redis.Down = true;

        await TimePassesUntilAsync(() => _cache.Breaker.State == CircuitState.Open, "background health checks to open the circuit");

        Assert.That(_redis.HealthChecks, Is.GreaterThanOrEqualTo(3));
        Assert.That(_redis.Calls, Is.Zero, "no request was needed");
    }

    [Test]
    public async Task Open_SingleUseMarkers_LocalModeUsesMemoryAndJournals()
    {
        await OpenTheCircuitAsync();

        Assert.That(await _cache.AddIfAbsentAsync("once:jti-1", B("1"), TimeSpan.FromMinutes(5), Guarantee.BestEffort), Is.EqualTo(AddResult.Added));
        Assert.That(await _cache.AddIfAbsentAsync("once:jti-1", B("1"), TimeSpan.FromMinutes(5), Guarantee.BestEffort), Is.EqualTo(AddResult.AlreadyPresent));
        Assert.That(_cache.Journal.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Open_AddAcrossReplicas_CannotGuaranteeAndWritesNothing()
    {
        await OpenTheCircuitAsync();

        Assert.That(await _cache.AddIfAbsentAsync("once:jti-1", B("1"), TimeSpan.FromMinutes(5), Guarantee.AcrossReplicas), Is.EqualTo(AddResult.CannotGuarantee));
        Assert.That(await _cache.AddIfAbsentAsync("session:adopted", B("1"), TimeSpan.FromMinutes(5), Guarantee.BestEffort), Is.EqualTo(AddResult.Added), "only the guarantee decides, not the key");
        Assert.That(await _cache.ExistsAsync("once:jti-1"), Is.False);
        Assert.That(_cache.Journal.Count, Is.EqualTo(1), "only the best-effort add is journalled");
    }

    [Test]
    public async Task Closed_AddAcrossReplicas_DecidedByRedis()
    {
        Assert.That(await _cache.AddIfAbsentAsync("once:jti-2", B("1"), TimeSpan.FromMinutes(5), Guarantee.AcrossReplicas), Is.EqualTo(AddResult.Added));
        Assert.That(await _redis.Inner.ExistsAsync("once:jti-2"), Is.True);
    }

    [Test]
    public async Task Cancelled_NotCountedAgainstTheBreaker()
    {
        await _stack.DisposeAsync();
        var cache = await OverAsync(new HangingBackend());

        // More cancelled calls than the threshold (3): none is an outage.
        for (var i = 0; i < 5; i++)
        {
            using var request = new CancellationTokenSource();
            var call = cache.GetAsync("session:x", request.Token);
            await request.CancelAsync();
            Assert.CatchAsync<OperationCanceledException>(() => call);
        }

        Assert.Multiple(() =>
        {
            Assert.That(cache.Breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(cache.Breaker.ConsecutiveFailures, Is.Zero);
        });
    }

    [Test]
    public async Task Open_GetAndDeleteFromMemory_JournalledAsDelete()
    {
        await OpenTheCircuitAsync();
        await _cache.SetAsync("login:s", B("record"), TimeSpan.FromMinutes(5));

        Assert.That(await _cache.GetAndDeleteAsync("login:s"), Is.EqualTo(B("record")));
        Assert.That(await _cache.GetAndDeleteAsync("login:s"), Is.Null);

        _redis.Down = false;
        await _cache.Journal.ReplayAsync(_redis, CancellationToken.None);
        Assert.That(await _redis.Inner.ExistsAsync("login:s"), Is.False, "a login consumed during the outage is not resurrected by the replay");
    }

    [Test]
    public async Task NonOutageError_PropagatesAndIsNotCounted()
    {
        await _stack.DisposeAsync();
        var cache = await OverAsync(new ThrowingBackend());

        Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("k"));
        Assert.That(cache.Breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(cache.Breaker.ConsecutiveFailures, Is.Zero);
    }

    private sealed class ThrowingBackend : ICacheBackend
    {
        public string Name => "broken";
        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => throw new InvalidOperationException("a bug, not an outage");
        public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task ClearAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
        public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) => throw new InvalidOperationException();
    }

    /// <summary>A Redis that never answers: every call waits until its caller cancels.</summary>
    private sealed class HangingBackend : ICacheBackend
    {
        public string Name => "hanging";
        private static async Task<T> Hang<T>(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return default!;
        }

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => Hang<byte[]?>(cancellationToken);
        public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task ClearAsync(CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) => Hang<CacheHealth>(cancellationToken);
        public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) => Hang<AddResult>(cancellationToken);
        public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default) => Hang<byte[]?>(cancellationToken);
        public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) => Hang<long>(cancellationToken);
        public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) => Hang<bool>(cancellationToken);
        public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) => Hang<IReadOnlyCollection<string>>(cancellationToken);
    }
}
