using System.Text;
using ForwardAuth.Cache;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// One behaviour suite for the storage seam, run over the store as the service composes it
/// (<see cref="StoreStack"/>) in every mode and on every topology — memory, Redis, hybrid, TLS, Sentinel, Cluster, a
/// Redis without the 6.2+ commands, and the resilient layer over a failing Redis.
/// </summary>
public abstract class CacheBackendContract
{
    private ICacheBackend _cache = null!;

    internal abstract Task<ICacheBackend> CreateAsync();

    /// <summary>Lets time pass for TTL checks: a fake clock for memory, a short real wait for Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    /// <summary>Shortest TTL the backend can observe expiring.</summary>
    protected virtual TimeSpan ShortTtl => TimeSpan.FromMilliseconds(300);

    /// <summary>Whether the shared store answers (false only for the stack over a failing Redis).</summary>
    protected virtual bool SharedStoreAnswers => true;

    [SetUp]
    public async Task CreateBackend() => _cache = await CreateAsync();

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string Key() => "test:" + Guid.NewGuid().ToString("N");

    [Test]
    public async Task Get_Missing_ReturnsNull() => Assert.That(await _cache.GetAsync(Key()), Is.Null);

    [Test]
    public async Task Set_ThenGet_ReturnsTheValue()
    {
        var key = Key();
        await _cache.SetAsync(key, B("v1"), TimeSpan.FromMinutes(1));

        Assert.That(await _cache.GetAsync(key), Is.EqualTo(B("v1")));
    }

    [Test]
    public async Task Set_Twice_Overwrites()
    {
        var key = Key();
        await _cache.SetAsync(key, B("v1"), TimeSpan.FromMinutes(1));
        await _cache.SetAsync(key, B("v2"), TimeSpan.FromMinutes(1));

        Assert.That(await _cache.GetAsync(key), Is.EqualTo(B("v2")));
    }

    [Test]
    public async Task Set_TtlPassed_Expires()
    {
        var key = Key();
        await _cache.SetAsync(key, B("v"), ShortTtl);
        await AdvanceAsync(ShortTtl * 2);

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.GetAsync(key), Is.Null);
            Assert.That(await _cache.ExistsAsync(key), Is.False);
        });
    }

    [Test]
    public async Task Delete_Existing_RemovesAndReportsIt()
    {
        var key = Key();
        await _cache.SetAsync(key, B("v"), TimeSpan.FromMinutes(1));

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.DeleteAsync(key), Is.True);
            Assert.That(await _cache.GetAsync(key), Is.Null);
            Assert.That(await _cache.DeleteAsync(key), Is.False);
        });
    }

    [Test]
    public async Task Exists_ReflectsPresence()
    {
        var key = Key();
        Assert.That(await _cache.ExistsAsync(key), Is.False);
        await _cache.SetAsync(key, B("v"), TimeSpan.FromMinutes(1));
        Assert.That(await _cache.ExistsAsync(key), Is.True);
    }

    [Test]
    public async Task AddIfAbsent_SecondCall_Refused()
    {
        var key = Key();

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.AddIfAbsentAsync(key, B("first"), TimeSpan.FromMinutes(1), Guarantee.BestEffort), Is.EqualTo(AddResult.Added));
            Assert.That(await _cache.AddIfAbsentAsync(key, B("second"), TimeSpan.FromMinutes(1), Guarantee.BestEffort), Is.EqualTo(AddResult.AlreadyPresent));
            Assert.That(await _cache.GetAsync(key), Is.EqualTo(B("first")));
        });
    }

    [Test]
    public async Task AddIfAbsent_AfterExpiry_Succeeds()
    {
        var key = Key();
        await _cache.AddIfAbsentAsync(key, B("first"), ShortTtl, Guarantee.BestEffort);
        await AdvanceAsync(ShortTtl * 2);

        Assert.That(await _cache.AddIfAbsentAsync(key, B("again"), TimeSpan.FromMinutes(1), Guarantee.BestEffort), Is.EqualTo(AddResult.Added));
    }

    [Test]
    public async Task AddIfAbsent_ManyConcurrentCallers_ExactlyOneWins()
    {
        var key = Key();

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => _cache.AddIfAbsentAsync(key, B($"v{i}"), TimeSpan.FromMinutes(1), Guarantee.BestEffort))));

        Assert.That(results.Count(r => r == AddResult.Added), Is.EqualTo(1));
    }

    [Test]
    public async Task AddIfAbsent_AcrossReplicas_DecidedByTheSharedStoreOrNotAtAll()
    {
        var key = "once:" + Guid.NewGuid().ToString("N");

        var first = await _cache.AddIfAbsentAsync(key, B("1"), TimeSpan.FromMinutes(1), Guarantee.AcrossReplicas);
        var second = await _cache.AddIfAbsentAsync(key, B("1"), TimeSpan.FromMinutes(1), Guarantee.AcrossReplicas);

        Assert.Multiple(async () =>
        {
            Assert.That(first, Is.EqualTo(SharedStoreAnswers ? AddResult.Added : AddResult.CannotGuarantee));
            Assert.That(second, Is.EqualTo(SharedStoreAnswers ? AddResult.AlreadyPresent : AddResult.CannotGuarantee));
            Assert.That(await _cache.ExistsAsync(key), Is.EqualTo(SharedStoreAnswers), "nothing is written when the guarantee cannot hold");
        });
    }

    [Test]
    public async Task GetAndDelete_AfterAPlainRead_StillTakesItOnce()
    {
        // A plain read may fill a hybrid L1; the atomic operation must not be answered from that copy.
        var key = Key();
        await _cache.SetAsync(key, B("once"), TimeSpan.FromMinutes(1));
        Assert.That(await _cache.GetAsync(key), Is.EqualTo(B("once")));
        Assert.That(await _cache.ExistsAsync(key), Is.True);

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.GetAndDeleteAsync(key), Is.EqualTo(B("once")));
            Assert.That(await _cache.GetAndDeleteAsync(key), Is.Null);
            Assert.That(await _cache.GetAsync(key), Is.Null);
            Assert.That(await _cache.ExistsAsync(key), Is.False);
        });
    }

    [Test]
    public async Task GetAndDelete_ReturnsOnceThenNull()
    {
        var key = Key();
        await _cache.SetAsync(key, B("once"), TimeSpan.FromMinutes(1));

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.GetAndDeleteAsync(key), Is.EqualTo(B("once")));
            Assert.That(await _cache.GetAndDeleteAsync(key), Is.Null);
            Assert.That(await _cache.ExistsAsync(key), Is.False);
        });
    }

    [Test]
    public async Task GetAndDelete_ManyConcurrentCallers_ExactlyOneGetsIt()
    {
        var key = Key();
        await _cache.SetAsync(key, B("once"), TimeSpan.FromMinutes(1));

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => _cache.GetAndDeleteAsync(key))));

        Assert.That(results.Count(r => r is not null), Is.EqualTo(1));
    }

    [Test]
    public async Task GetAndDelete_Expired_ReturnsNull()
    {
        var key = Key();
        await _cache.SetAsync(key, B("v"), ShortTtl);
        await AdvanceAsync(ShortTtl * 2);

        Assert.That(await _cache.GetAndDeleteAsync(key), Is.Null);
    }

    [Test]
    public async Task Increment_CountsFromOne()
    {
        var key = Key();

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.IncrementAsync(key, TimeSpan.FromMinutes(1)), Is.EqualTo(1));
            Assert.That(await _cache.IncrementAsync(key, TimeSpan.FromMinutes(1)), Is.EqualTo(2));
            Assert.That(await _cache.IncrementAsync(key, TimeSpan.FromMinutes(1)), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Increment_ManyConcurrentCallers_EachGetsItsOwnCount()
    {
        var key = Key();

        var counts = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => _cache.IncrementAsync(key, TimeSpan.FromMinutes(1)))));

        Assert.That(counts.Order(), Is.EqualTo(Enumerable.Range(1, 64).Select(i => (long)i)));
    }

    [Test]
    public async Task Increment_WindowIsFixedFromTheFirstCount()
    {
        // Later increments keep the first one's expiry: a client cannot keep a window open by failing slowly.
        var key = Key();
        await _cache.IncrementAsync(key, ShortTtl);
        await _cache.IncrementAsync(key, TimeSpan.FromMinutes(10));
        await AdvanceAsync(ShortTtl * 2);

        Assert.That(await _cache.IncrementAsync(key, ShortTtl), Is.EqualTo(1));
    }

    [Test]
    public async Task Clear_RemovesOwnKeys()
    {
        var a = Key();
        var b = Key();
        await _cache.SetAsync(a, B("1"), TimeSpan.FromMinutes(1));
        await _cache.SetAsync(b, B("2"), TimeSpan.FromMinutes(1));

        await _cache.ClearAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.ExistsAsync(a), Is.False);
            Assert.That(await _cache.ExistsAsync(b), Is.False);
        });
    }

    [Test]
    public async Task Health_Reachable_IsHealthy()
    {
        var health = await _cache.HealthAsync();

        Assert.That(health.Healthy, Is.EqualTo(SharedStoreAnswers), health.Problem);
    }

    [Test]
    public async Task RenewIfValue_OnlyTheHolderRenews()
    {
        var key = "lease:" + Guid.NewGuid().ToString("N");
        await _cache.AddIfAbsentAsync(key, B("holder-1"), ShortTtl, Guarantee.BestEffort);

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.RenewIfValueAsync(key, B("someone-else"), TimeSpan.FromMinutes(1)), Is.False);
            Assert.That(await _cache.RenewIfValueAsync(key, B("holder-1"), TimeSpan.FromMinutes(1)), Is.True);
        });
        await AdvanceAsync(ShortTtl * 2);
        Assert.That(await _cache.ExistsAsync(key), Is.True, "renewed beyond its first TTL");
    }

    [Test]
    public async Task DeleteIfValue_OnlyTheHolderReleases()
    {
        var key = "lease:" + Guid.NewGuid().ToString("N");
        await _cache.AddIfAbsentAsync(key, B("holder-1"), TimeSpan.FromMinutes(1), Guarantee.BestEffort);

        Assert.Multiple(async () =>
        {
            Assert.That(await _cache.DeleteIfValueAsync(key, B("someone-else")), Is.False);
            Assert.That(await _cache.ExistsAsync(key), Is.True);
            Assert.That(await _cache.DeleteIfValueAsync(key, B("holder-1")), Is.True);
            Assert.That(await _cache.ExistsAsync(key), Is.False);
        });
    }

    [Test]
    public async Task RenewIfValue_Missing_False() =>
        Assert.That(await _cache.RenewIfValueAsync("lease:" + Guid.NewGuid().ToString("N"), B("x"), TimeSpan.FromMinutes(1)), Is.False);

    [Test]
    public async Task SetAdd_MembersAccumulateAndExpireTogether()
    {
        var key = "index:" + Guid.NewGuid().ToString("N");
        await _cache.SetAddAsync(key, "a", TimeSpan.FromMinutes(1));
        await _cache.SetAddAsync(key, "b", TimeSpan.FromMinutes(1));
        await _cache.SetAddAsync(key, "a", TimeSpan.FromMinutes(1));

        Assert.That(await _cache.SetMembersAsync(key), Is.EquivalentTo(new[] { "a", "b" }));

        await _cache.SetAddAsync(key, "c", ShortTtl);
        await AdvanceAsync(ShortTtl * 2);
        Assert.That(await _cache.SetMembersAsync(key), Is.Empty);
    }

    [Test]
    public async Task SetMembers_Missing_Empty() =>
        Assert.That(await _cache.SetMembersAsync("index:" + Guid.NewGuid().ToString("N")), Is.Empty);

    [Test]
    public async Task Set_BinaryValue_RoundTripsExactly()
    {
        var key = Key();
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await _cache.SetAsync(key, value, TimeSpan.FromMinutes(1));

        Assert.That(await _cache.GetAsync(key), Is.EqualTo(value));
    }
}
