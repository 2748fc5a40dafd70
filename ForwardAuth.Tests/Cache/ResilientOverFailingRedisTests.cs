using ForwardAuth.Cache;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The contract over the production redis-mode stack while Redis fails on every call (a hand-written fake in its
/// place): the breaker opens at once and every operation — atomic ones included — is served by the memory fallback,
/// except an add that must hold across replicas, which cannot be guaranteed.
/// </summary>
[TestFixture]
public class ResilientOverFailingRedisTests : CacheBackendContract
{
    private readonly FakeTimeProvider _time = new();
    private StoreStack? _stack;

    protected override bool SharedStoreAnswers => false;

    internal override async Task<ICacheBackend> CreateAsync()
    {
        var redis = new FlakyBackend(new MemoryCacheBackend(_time)) { Down = true };
        _stack = await StoreStack.OverAsync(redis, _time, ResilientCacheBackendTests.Options());
        return _stack.Store;
    }

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    [TearDown]
    public async Task DisposeStack()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    [Test]
    public async Task EveryCallFallsBack_TheBreakerOpens()
    {
        var store = _stack!.Store;
        for (var i = 0; i < 3; i++)
        {
            await store.GetAsync("session:probe");
        }

        Assert.That(_stack.Get<ResilientCacheBackend>().Breaker.State, Is.EqualTo(CircuitState.Open));
    }
}
