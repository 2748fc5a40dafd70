using ForwardAuth.Auth;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// <c>sessionCheckInterval</c> on the fake clock: a session is checked at the provider once its last check (or login,
/// or refresh) is older than the interval, in the background of a request that is answered at once; a lease held by
/// another replica defers it; <c>invalid_grant</c> or a userinfo 401 ends it, an outage skips the check and keeps it.
/// </summary>
[TestFixture]
[Category("Fast")]
public class SessionCheckTests
{
    private const int Interval = 60;

    [Test]
    public async Task Off_ByDefault_NoProviderTrafficWhateverTheRequests()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");

        for (var i = 0; i < 4; i++)
        {
            stack.Time.Advance(TimeSpan.FromSeconds(50));
            Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
        }

        await Checks(stack).SweepAsync();
        Assert.That(RefreshRequests(stack), Is.Zero);
        Assert.That(stack.Provider.UserInfoRequests, Is.Empty);
        Assert.That(Checks(stack).TrackedCount, Is.Zero);
    }

    [Test]
    public async Task Due_OnlyOnceTheIntervalHasPassed_ThenOncePerInterval_RotatedTokenKept()
    {
        await using var stack = await StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(Interval - 1));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.Zero, "not due before the interval");

        stack.Time.Advance(TimeSpan.FromSeconds(1));
        await NavigateAndSettleAsync(stack, cookie);
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.EqualTo(1), "due: one check, not one per request");
        Assert.That((await stack.StoredAsync(cookie))!.RefreshToken, Is.EqualTo("r2"));

        stack.Provider.OnRefresh("r2", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r3", 300));
        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.EqualTo(2));
        Assert.That(stack.Provider.TokenRequests.Last()["refresh_token"], Is.EqualTo("r2"), "the check refreshed with the rotated token");
        Assert.That(CheckCount(stack, "ok"), Is.EqualTo(2));
    }

    [Test]
    public async Task LeaseHeldByAnotherReplica_NotCheckedHere_UntilItsIntervalEnds()
    {
        await using var stack = await StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r2", 300));
        var handle = (await stack.Sessions.ResolveAsync(cookie, CancellationToken.None))!.Handle;

        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        var claimedElsewhere = await stack.Services.GetRequiredService<CheckLeases>().TryClaimAsync(handle, TimeSpan.FromSeconds(Interval), CancellationToken.None);
        Assert.That(claimedElsewhere, Is.Null, "the other replica won this interval's check");
        await NavigateAndSettleAsync(stack, cookie);
        stack.Time.Advance(TimeSpan.FromSeconds(Interval - 1));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.Zero);

        stack.Time.Advance(TimeSpan.FromSeconds(1));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.EqualTo(1), "due again once the other replica's interval ended");
    }

    [Test]
    public async Task InvalidGrant_RequestAnsweredAtOnce_SessionEndedEverywhereForTheNextRequest()
    {
        await using var stack = await StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r-revoked-at-provider");

        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        var answer = await stack.NavigateAsync("/", cookie);
        await Checks(stack).WhenIdleAsync();
        var next = await stack.NavigateAsync("/", cookie);

        Assert.That(answer, Is.TypeOf<AuthOutcome.Allow>(), "the request that started the check is answered with the current decision");
        Assert.That(next, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.Sessions.ResolveAsync(cookie, CancellationToken.None), Is.Null, "record deleted, revocation marker: never adopted from the cookie");
        Assert.That(CheckCount(stack, "ended"), Is.EqualTo(1));
        var line = stack.Logs.Lines.Single(l => l.EventId == 245).Message;
        Assert.That(line, Does.Contain("alice@example.com").And.Contain("invalid_grant"));
        Assert.That(stack.Logs.Lines.Select(l => l.Message), Has.None.Contain("r-revoked-at-provider"));
    }

    [Test]
    public async Task ProviderOutage_CheckSkipped_SessionKept_RetriedAtTheNextInterval()
    {
        await using var stack = await StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.TokenEndpointDown = true;

        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        await NavigateAndSettleAsync(stack, cookie);

        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(CheckCount(stack, "skipped"), Is.EqualTo(1));
        Assert.That(CheckCount(stack, "ended"), Is.Zero);
        Assert.That(RefreshRequests(stack), Is.EqualTo(1), "not retried before the next interval");
        Assert.That(stack.Logs.Lines.Count(l => l.EventId == 246), Is.EqualTo(1));

        stack.Provider.TokenEndpointDown = false;
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r2", 300));
        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(RefreshRequests(stack), Is.EqualTo(2));
        Assert.That(CheckCount(stack, "ok"), Is.EqualTo(1));
    }

    [Test]
    public async Task WithoutRefreshToken_Userinfo401_Ended_Userinfo500_Skipped()
    {
        await using var stack = await StartAsync();
        var token = stack.Provider.AccessToken("alice", lifetime: TimeSpan.FromHours(2));
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), token, null, 7200));
        stack.Provider.UserInfo = _ => null;

        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(CheckCount(stack, "skipped"), Is.EqualTo(1), "userinfo 500: an outage");
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());

        stack.Provider.UserInfo = _ => new() { ["sub"] = "alice" };
        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(CheckCount(stack, "ok"), Is.EqualTo(1));

        stack.Provider.UserInfoRevoked = t => t == token;
        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(CheckCount(stack, "ended"), Is.EqualTo(1));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(stack.Provider.UserInfoRequests, Has.Count.EqualTo(3));
        Assert.That(RefreshRequests(stack), Is.Zero);
    }

    [Test]
    public async Task WithoutRefreshToken_ExpiredAccessToken_SkippedNeverEnded()
    {
        await using var stack = await StartAsync();
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice", lifetime: TimeSpan.FromSeconds(30)), null, 30));
        stack.Provider.UserInfoRevoked = _ => true;

        stack.Time.Advance(TimeSpan.FromSeconds(Interval));
        await NavigateAndSettleAsync(stack, cookie);

        Assert.That(stack.Provider.UserInfoRequests, Is.Empty, "an expired token would get a 401 for its expiry");
        Assert.That(CheckCount(stack, "skipped"), Is.EqualTo(1));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Sweep_IdleSessionSeenHere_CheckedWithoutARequest()
    {
        await using var stack = await StartAsync();
        var alice = await SignInWithRefreshAsync(stack, "r-alice-revoked");
        var bob = await stack.SignInAsync("bob", login => new TokenSet(
            stack.Provider.IdToken("bob", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("bob"), "r-bob", 300));
        stack.Provider.OnRefresh("r-bob", () => new TokenSet(null, stack.Provider.AccessToken("bob"), "r-bob-2", 300));
        await NavigateAndSettleAsync(stack, alice);
        await NavigateAndSettleAsync(stack, bob);

        stack.Time.Advance(TimeSpan.FromSeconds(Interval - 1));
        await Checks(stack).SweepAsync();
        Assert.That(RefreshRequests(stack), Is.Zero, "not due yet");

        stack.Time.Advance(TimeSpan.FromSeconds(1));
        await Checks(stack).SweepAsync();

        Assert.That(RefreshRequests(stack), Is.EqualTo(2), "both idle sessions checked by the sweep");
        Assert.That(await stack.Sessions.ResolveAsync(alice, CancellationToken.None), Is.Null);
        Assert.That(await stack.NavigateAsync("/", bob), Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(Checks(stack).TrackedCount, Is.EqualTo(1), "the ended session is no longer tracked");
    }

    [Test]
    public async Task Sweep_ForgetsSessionsNotSeenWithinSessionMaxAge()
    {
        await using var stack = await StartAsync(("SESSION_MAX_AGE", "600"));
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        await NavigateAndSettleAsync(stack, cookie);
        Assert.That(Checks(stack).TrackedCount, Is.EqualTo(1));

        stack.Time.Advance(TimeSpan.FromSeconds(600));
        await Checks(stack).SweepAsync();

        Assert.That(Checks(stack).TrackedCount, Is.Zero);
    }

    private static Task<FastStack> StartAsync(params (string Key, string Value)[] more) =>
        FastStack.StartAsync([("SESSION_CHECK_INTERVAL", Interval.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. more]);

    private static SessionChecks Checks(FastStack stack) => stack.Services.GetRequiredService<SessionChecks>();

    private static async Task NavigateAndSettleAsync(FastStack stack, string cookie)
    {
        await stack.NavigateAsync("/", cookie);
        await Checks(stack).WhenIdleAsync();
    }

    private static double CheckCount(FastStack stack, string outcome) =>
        stack.Services.GetRequiredService<ForwardAuthMetrics>().SessionCheckOutcomes.WithLabels(outcome).Value;

    private static Task<string> SignInWithRefreshAsync(FastStack stack, string refreshToken) =>
        stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice"), refreshToken, 300));

    private static int RefreshRequests(FastStack stack) => stack.Provider.TokenRequests.Count(f => f["grant_type"] == "refresh_token");
}
