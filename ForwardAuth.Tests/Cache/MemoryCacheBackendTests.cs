using System.Text;
using ForwardAuth.Cache;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

[TestFixture]
public class MemoryCacheBackendTests : CacheBackendContract
{
    private readonly FakeTimeProvider _time = new();
    private StoreStack? _stack;

    // Memory mode as the service composes it (metered → memory), on the fake clock.
    internal override async Task<ICacheBackend> CreateAsync()
    {
        _stack = await StoreStack.StartAsync(RedisTestOptions.Memory(), s => s.AddSingleton<TimeProvider>(_time));
        return _stack.Store;
    }

    [TearDown]
    public async Task DisposeStack()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    [Test]
    public async Task Set_BeyondCapacity_StaysBoundedAndKeepsLongestLived()
    {
        var cache = new MemoryCacheBackend(_time, maxEntries: 100);
        for (var i = 0; i < 500; i++)
        {
            await cache.SetAsync($"k{i}", [1], TimeSpan.FromSeconds(1000 + i));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(cache.Count, Is.LessThanOrEqualTo(100));
            Assert.That(await cache.ExistsAsync("k499"), Is.True);
            Assert.That(await cache.ExistsAsync("k0"), Is.False);
        });
    }

    [Test]
    public async Task Bytes_TracksStoredValues()
    {
        var cache = new MemoryCacheBackend(_time);
        await cache.SetAsync("a", Encoding.ASCII.GetBytes("12345"), TimeSpan.FromMinutes(1));
        await cache.SetAsync("b", Encoding.ASCII.GetBytes("123"), TimeSpan.FromMinutes(1));
        await cache.DeleteAsync("a");

        Assert.That(cache.Bytes, Is.EqualTo(3));
    }

    [Test]
    public void Set_NonPositiveTtl_Refused() =>
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new MemoryCacheBackend(_time).SetAsync("k", [1], TimeSpan.Zero));
}
