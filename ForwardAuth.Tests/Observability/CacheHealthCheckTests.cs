using ForwardAuth.Observability;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ForwardAuth.Tests.Observability;

/// <summary>The store's health check reads only the diagnostics view: Redis's answer and what the breaker believes.</summary>
public class CacheHealthCheckTests
{
    private static StoreSnapshot Snapshot(string? breaker, int journal = 0) => new(
        "redis", MemoryEntries: 0, MemoryBytes: 0,
        Breaker: breaker is null ? null : new BreakerSnapshot(breaker, breaker == BreakerSnapshot.Closed ? 0 : 3),
        Journal: new JournalSnapshot(journal, 0),
        Redis: new RedisLinkSnapshot(true, 1, 0));

    private static Task<HealthCheckResult> CheckAsync(StoreProbe probe, StoreSnapshot snapshot) =>
        new CacheHealthCheck(new FixedDiagnostics(probe, snapshot)).CheckHealthAsync(new HealthCheckContext());

    [Test]
    public async Task Reachable_BreakerClosed_Healthy()
    {
        var result = await CheckAsync(new StoreProbe(true, TimeSpan.FromMilliseconds(1), null), Snapshot(BreakerSnapshot.Closed));

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [TestCase(BreakerSnapshot.Open)]
    [TestCase(BreakerSnapshot.HalfOpen)]
    public async Task Reachable_BreakerNotClosed_DegradedWithTheJournal(string state)
    {
        var result = await CheckAsync(new StoreProbe(true, TimeSpan.FromMilliseconds(1), null), Snapshot(state, journal: 7));

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(result.Description, Does.Contain("circuit breaker " + state).And.Contain("7 write(s) in the outage journal"));
            Assert.That(result.Data[CacheHealthCheck.SnapshotKey], Is.InstanceOf<StoreSnapshot>());
        });
    }

    [Test]
    public async Task Unreachable_DegradedWithTheHint()
    {
        var result = await CheckAsync(new StoreProbe(false, null, "check redis.address"), Snapshot(BreakerSnapshot.Closed));

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded), "never unhealthy: the service still decides");
            Assert.That(result.Description, Is.EqualTo("check redis.address"));
        });
    }

    [Test]
    public async Task MemoryMode_NoBreaker_Healthy()
    {
        var memory = new StoreSnapshot("memory", 3, 100);

        var result = await CheckAsync(new StoreProbe(true, TimeSpan.Zero, null), memory);

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy));
    }

    private sealed class FixedDiagnostics(StoreProbe probe, StoreSnapshot snapshot) : IStoreDiagnostics
    {
        public StoreSnapshot Snapshot() => snapshot;

        public bool AwaitingFirstConnect => false;

        public Task<StoreProbe> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(probe);
    }
}
