using System.Text;
using ForwardAuth.Cache;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

public class OutageJournalTests
{
    private readonly FakeTimeProvider _time = new();

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Test]
    public async Task Replay_AppliesInOrderWithRemainingTtl()
    {
        var journal = new OutageJournal(100, _time);
        var target = new MemoryCacheBackend(_time);
        journal.Set("session:a", B("1"), TimeSpan.FromMinutes(10));
        journal.Set("session:b", B("2"), TimeSpan.FromMinutes(10));
        journal.Delete("session:b");
        journal.AddIfAbsent("once:x", B("1"), TimeSpan.FromMinutes(10));
        _time.Advance(TimeSpan.FromMinutes(4));

        var applied = await journal.ReplayAsync(target, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(applied, Is.EqualTo(4));
            Assert.That(journal.Count, Is.Zero);
            Assert.That(await target.GetAsync("session:a"), Is.EqualTo(B("1")));
            Assert.That(await target.ExistsAsync("session:b"), Is.False);
            Assert.That(target.TimeToLive("session:a"), Is.EqualTo(TimeSpan.FromMinutes(6)));
            Assert.That(await target.ExistsAsync("once:x"), Is.True);
        });
    }

    [Test]
    public async Task Clear_ForgetsWhatCameBefore_AndReplaysTheClearInOrder()
    {
        var journal = new OutageJournal(100, _time);
        var target = new MemoryCacheBackend(_time);
        await target.SetAsync("session:old", B("in redis"), TimeSpan.FromMinutes(10));
        journal.Set("session:a", B("1"), TimeSpan.FromMinutes(10));
        journal.Clear();
        journal.Set("session:b", B("2"), TimeSpan.FromMinutes(10));

        var applied = await journal.ReplayAsync(target, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(applied, Is.EqualTo(2), "the clear, then the write after it");
            Assert.That(await target.ExistsAsync("session:old"), Is.False);
            Assert.That(await target.ExistsAsync("session:a"), Is.False);
            Assert.That(await target.GetAsync("session:b"), Is.EqualTo(B("2")));
        });
    }

    [Test]
    public async Task Replay_AddIfAbsent_NeverClobbersWhatRedisHas()
    {
        var journal = new OutageJournal(100, _time);
        var target = new MemoryCacheBackend(_time);
        await target.SetAsync("session:a", B("full record"), TimeSpan.FromMinutes(10));
        journal.AddIfAbsent("session:a", B("adopted"), TimeSpan.FromMinutes(10));

        await journal.ReplayAsync(target, CancellationToken.None);

        Assert.That(await target.GetAsync("session:a"), Is.EqualTo(B("full record")));
    }

    [Test]
    public async Task Replay_ExpiredEntries_Skipped()
    {
        var journal = new OutageJournal(100, _time);
        var target = new MemoryCacheBackend(_time);
        journal.Set("login:a", B("1"), TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));

        await journal.ReplayAsync(target, CancellationToken.None);

        Assert.That(await target.ExistsAsync("login:a"), Is.False);
    }

    [Test]
    public void Append_BeyondCapacity_DropsOldestAndCounts()
    {
        var journal = new OutageJournal(3, _time);
        var dropped = 0;
        journal.EntryDropped += () => dropped++;

        for (var i = 0; i < 5; i++)
        {
            journal.Set($"k{i}", B("v"), TimeSpan.FromMinutes(1));
        }

        Assert.That(journal.Count, Is.EqualTo(3));
        Assert.That(journal.Dropped, Is.EqualTo(2));
        Assert.That(dropped, Is.EqualTo(2));
    }

    [Test]
    public async Task Replay_TargetFailsMidway_KeepsTheRestInOrder()
    {
        var journal = new OutageJournal(100, _time);
        journal.Set("a", B("1"), TimeSpan.FromMinutes(1));
        journal.Set("b", B("2"), TimeSpan.FromMinutes(1));
        journal.Set("c", B("3"), TimeSpan.FromMinutes(1));
        var flaky = new FlakyBackend(new MemoryCacheBackend(_time), failAfter: 1);

        Assert.ThrowsAsync<CacheUnavailableException>(() => journal.ReplayAsync(flaky, CancellationToken.None));
        Assert.That(journal.Count, Is.EqualTo(2));

        flaky.FailAfter = int.MaxValue;
        await journal.ReplayAsync(flaky, CancellationToken.None);
        Assert.That(await flaky.Inner.GetAsync("c"), Is.EqualTo(B("3")));
    }
}
