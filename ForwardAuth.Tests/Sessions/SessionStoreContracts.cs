using ForwardAuth.Auth;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Sessions;

/// <summary>The session contract over the in-process memory store (no Redis: part of the fast tier).</summary>
[TestFixture]
[Category("Fast")]
public class MemorySessionStoreContractTests : SessionStoreContract
{
    private protected override IReadOnlyDictionary<string, string> StoreSettings(string keyPrefix) =>
        new Dictionary<string, string> { ["REDIS_ENABLED"] = "false" };
}

/// <summary>The session contract over Redis behind the circuit breaker, as <c>cacheMode: redis</c> composes it.</summary>
[TestFixture]
public class RedisSessionStoreContractTests : SharedSessionStoreContract
{
    private protected override string CacheMode => "redis";
}

/// <summary>The session contract over the hybrid store (L1 with invalidation over Redis), as <c>cacheMode: hybrid</c> composes it.</summary>
[TestFixture]
public class HybridSessionStoreContractTests : SharedSessionStoreContract
{
    private protected override string CacheMode => "hybrid";
}

/// <summary>
/// The contract over a real redis-server, plus what only a shared store promises: every replica sees a session made,
/// changed or ended on another (at once for Redis; for the hybrid store, as soon as the invalidation arrives — polled
/// with a deadline, never slept).
/// </summary>
public abstract class SharedSessionStoreContract : SessionStoreContract
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private RedisServer _redis = null!;

    private protected abstract string CacheMode { get; }

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    private protected override IReadOnlyDictionary<string, string> StoreSettings(string keyPrefix) => new Dictionary<string, string>
    {
        ["REDIS_ENABLED"] = "true",
        ["REDIS_ADDRESS"] = _redis.Address,
        ["REDIS_CACHE_MODE"] = CacheMode,
        ["REDIS_KEY_PREFIX"] = keyPrefix,
    };

    [Test]
    public async Task Resolve_SessionMadeOnAnotherReplica_FullRecordFound()
    {
        var other = await StartReplicaAsync();
        var cookie = await Store.CreateAsync(Record("alice", accessToken: "at-1", refreshToken: "rt-1"), CancellationToken.None);

        var resolved = await other.Sessions.ResolveAsync(cookie, CancellationToken.None);

        Assert.That(resolved!.FromCookieOnly, Is.False);
        Assert.That(resolved.Record.HasRefreshToken, Is.True);
        Assert.That((await other.Sessions.WithTokensAsync(StoreKeys.Hash(resolved.Handle), resolved.Record, CancellationToken.None)).RefreshToken, Is.EqualTo("rt-1"));
    }

    [Test]
    public async Task End_OnAnotherReplica_RefusedHereToo()
    {
        var other = await StartReplicaAsync();
        var cookie = await Store.CreateAsync(Record("alice"), CancellationToken.None);
        Assert.That(await Store.ResolveAsync(cookie, CancellationToken.None), Is.Not.Null);
        var there = (await other.Sessions.ResolveAsync(cookie, CancellationToken.None))!;

        await other.Sessions.EndAsync(there.Handle, there.Record, CancellationToken.None);

        Assert.That(await EventuallyNullAsync(cookie), Is.True, "the session ended on the other replica is refused here");
    }

    [Test]
    public async Task EndAll_OnAnotherReplica_RefusedHereToo()
    {
        var other = await StartReplicaAsync();
        var cookie = await Store.CreateAsync(Record("alice", sid: "sid-x"), CancellationToken.None);
        Assert.That(await Store.ResolveAsync(cookie, CancellationToken.None), Is.Not.Null);

        var ended = await other.Sessions.EndAllAsync("sid-x", null, CancellationToken.None);

        Assert.That(ended, Is.EqualTo(1));
        Assert.That(await EventuallyNullAsync(cookie), Is.True);
    }

    [Test]
    public async Task Update_OnAnotherReplica_SeenHere()
    {
        var other = await StartReplicaAsync();
        var cookie = await Store.CreateAsync(Record("alice", refreshToken: "rt-1"), CancellationToken.None);
        var handle = (await Store.ResolveAsync(cookie, CancellationToken.None))!.Handle;
        Assert.That((await Store.ReloadAsync(handle, CancellationToken.None))!.RefreshToken, Is.EqualTo("rt-1"));
        var there = (await other.Sessions.ReloadAsync(handle, CancellationToken.None))!;

        await other.Sessions.UpdateAsync(handle, there with { RefreshToken = "rt-2" }, CancellationToken.None);

        var deadline = DateTime.UtcNow + Deadline;
        string? seen;
        do
        {
            seen = (await Store.ReloadAsync(handle, CancellationToken.None))?.RefreshToken;
        }
        while (seen != "rt-2" && DateTime.UtcNow < deadline && await Pause());

        Assert.That(seen, Is.EqualTo("rt-2"));
    }

    [Test]
    public async Task Logout_OnOneReplica_BrowserChallengedOnTheOther()
    {
        var other = await StartReplicaAsync();
        var cookie = await Stack.SignInAsync("alice");
        Assert.That(await other.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());

        await Stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", Stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        var deadline = DateTime.UtcNow + Deadline;
        AuthOutcome outcome;
        do
        {
            outcome = await other.NavigateAsync("/", cookie);
        }
        while (outcome is AuthOutcome.Allow && DateTime.UtcNow < deadline && await Pause());

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    private async Task<bool> EventuallyNullAsync(string cookie)
    {
        var deadline = DateTime.UtcNow + Deadline;
        do
        {
            if (await Store.ResolveAsync(cookie, CancellationToken.None) is null)
            {
                return true;
            }
        }
        while (DateTime.UtcNow < deadline && await Pause());

        return false;
    }

    private static async Task<bool> Pause()
    {
        await Task.Delay(10);
        return true;
    }
}
