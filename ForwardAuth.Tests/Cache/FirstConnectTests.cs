using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// A slow first connection at start-up (issue 18, item 2): waiting for it is not an outage — the breaker counts none of
/// it, writes made meanwhile reach Redis once connected — and readiness waits for the first attempt, bounded.
/// </summary>
[Category("Fast")]
public class FirstConnectTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Test]
    public async Task WaitingForTheFirstConnection_NeverCountsAgainstTheBreaker_AndItsWritesAreReplayed()
    {
        var time = new FakeTimeProvider();
        var redis = new FlakyBackend(new MemoryCacheBackend(time)) { Connecting = true };
        await using var stack = await StoreStack.OverAsync(redis, time, ResilientCacheBackendTests.Options());
        var cache = stack.Get<ResilientCacheBackend>();

        // Threshold 3: ten calls and two health checks (every 5 s) while connecting.
        for (var i = 0; i < 10; i++)
        {
            await cache.SetAsync("k" + i, B("v"), TimeSpan.FromMinutes(5));
            Assert.That(await cache.GetAsync("k" + i), Is.EqualTo(B("v")), "served from memory meanwhile");
        }

        await TestPaths.WaitUntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromSeconds(5));
                return Task.FromResult(redis.HealthChecks >= 2);
            },
            TimeSpan.FromSeconds(10),
            "two health checks while connecting");

        Assert.That(cache.Breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(cache.Breaker.ConsecutiveFailures, Is.Zero);

        redis.Connecting = false;
        cache.OnFirstConnected();
        await cache.LastReplay;
        Assert.That(await redis.Inner.GetAsync("k9"), Is.EqualTo(B("v")), "the writes made while connecting reached Redis");
        Assert.That(cache.Journal.Count, Is.Zero);
    }

    [Test]
    public void Gate_WaitsForTheFirstAttempt_UntilItFinishes()
    {
        var time = new FakeTimeProvider();
        var gate = new FirstConnectGate(time, TimeSpan.FromSeconds(10));
        Assert.That(gate.Waiting, Is.True, "not started yet");

        var attempt = new TaskCompletionSource();
        gate.Started(attempt.Task);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.That(gate.Waiting, Is.True);

        attempt.SetResult();
        Assert.That(gate.Waiting, Is.False);
    }

    [Test]
    public void Gate_FailedAttempt_IsFinishedToo()
    {
        var gate = new FirstConnectGate(new FakeTimeProvider(), TimeSpan.FromSeconds(10));
        gate.Started(Task.FromException(new InvalidOperationException("refused")));
        Assert.That(gate.Waiting, Is.False);
    }

    [Test]
    public void Gate_AttemptStillRunning_StopsWaitingAtTheBound()
    {
        var time = new FakeTimeProvider();
        var gate = new FirstConnectGate(time, TimeSpan.FromSeconds(10));
        gate.Started(new TaskCompletionSource().Task);
        gate.Started(Task.CompletedTask);
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.That(gate.Waiting, Is.True, "a second Started does not replace the first attempt");

        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(gate.Waiting, Is.False, "a Redis that is really down still leaves the replica ready");
    }
}
