using System.Text;
using ForwardAuth.Cache;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// One request waits for Redis at most once (issue 18, the Cluster case): after one of its store calls met an outage,
/// its later calls are served from memory at once, without reaching Redis; the next request tries Redis again.
/// </summary>
[Category("Fast")]
public class OutageScopeTests
{
    [Test]
    public async Task AfterAnOutageInARequest_ItsLaterCallsGoToMemoryAtOnce()
    {
        var time = new FakeTimeProvider();
        var redis = new FlakyBackend(new MemoryCacheBackend(time));
        await using var stack = await StoreStack.OverAsync(redis, time, ResilientCacheBackendTests.Options());
        var cache = stack.Get<ResilientCacheBackend>();
        redis.Down = true;

        using (OutageScope.Begin())
        {
            Assert.That(await cache.GetAsync("session"), Is.Null);
            Assert.That(cache.Breaker.ConsecutiveFailures, Is.EqualTo(1));

            await cache.SetAsync("activity", Encoding.UTF8.GetBytes("now"), TimeSpan.FromMinutes(1));
            Assert.That(await cache.ExistsAsync("revoked"), Is.False);
            Assert.That(cache.Breaker.ConsecutiveFailures, Is.EqualTo(1), "the request's later calls did not go to Redis");
            Assert.That(cache.Journal.Count, Is.EqualTo(1), "its write is journalled like any fallback write");
        }

        using (OutageScope.Begin())
        {
            Assert.That(await cache.GetAsync("session"), Is.Null);
            Assert.That(cache.Breaker.ConsecutiveFailures, Is.EqualTo(2), "the next request tries Redis again");
        }

        Assert.That(await cache.GetAsync("outside"), Is.Null);
        Assert.That(await cache.GetAsync("outside"), Is.Null);
        Assert.That(cache.Breaker.State, Is.EqualTo(CircuitState.Open), "outside a request scope every call still counts");
    }
}
