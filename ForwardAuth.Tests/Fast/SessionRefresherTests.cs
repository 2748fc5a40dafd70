using ForwardAuth.Auth;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// "Give me a fresh session" on the fake clock: a refresh when the tokens come within the grace period, exactly one,
/// with a rotated refresh token kept; a refused refresh ends the session; a failed one keeps it.
/// </summary>
[TestFixture]
[Category("Fast")]
public class SessionRefresherTests
{
    [Test]
    public async Task GetFresh_NoCookie_Missing()
    {
        await using var stack = await FastStack.StartAsync();

        Assert.That(await stack.Refresher.GetFreshAsync(null, CancellationToken.None), Is.EqualTo(new SessionLookup.Missing("no session", "no session cookie")));
        Assert.That(await stack.Refresher.GetFreshAsync("garbage", CancellationToken.None), Is.EqualTo(new SessionLookup.Missing("session invalid or ended", "cookie not sealed by this deployment's keys")));
    }

    [TestCase(0)]
    [TestCase(100)]
    [TestCase(239)]
    public async Task GetFresh_TokensNotYetDue_NoRefresh(int afterSeconds)
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");

        stack.Time.Advance(TimeSpan.FromSeconds(afterSeconds));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(lookup, Is.TypeOf<SessionLookup.Found>());
        Assert.That((await stack.StoredAsync(cookie))!.RefreshToken, Is.EqualTo("r1"));
        Assert.That(RefreshRequests(stack), Is.Zero);
    }

    [TestCase(240)]
    [TestCase(299)]
    [TestCase(400)]
    [TestCase(3000)]
    public async Task GetFresh_TokensDue_OneRefreshRotatedTokenKept(int afterSeconds)
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        var newAccessToken = stack.Provider.AccessToken("alice", lifetime: TimeSpan.FromHours(1));
        stack.Provider.OnRefresh("r1", () => new TokenSet(stack.Provider.IdToken("alice", null), newAccessToken, "r2", 3600));

        stack.Time.Advance(TimeSpan.FromSeconds(afterSeconds));
        var first = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);
        var second = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        var record = ((SessionLookup.Found)first).Record;
        Assert.That(record.RefreshToken, Is.EqualTo("r2"));
        Assert.That(record.AccessToken, Is.EqualTo(newAccessToken));
        Assert.That(record.AccessTokenExpiresAt, Is.EqualTo(stack.Time.GetUtcNow().AddSeconds(3600)));
        Assert.That(second, Is.TypeOf<SessionLookup.Found>());
        Assert.That((await stack.StoredAsync(cookie))!.RefreshToken, Is.EqualTo("r2"), "the rotated token was stored");
        Assert.That(RefreshRequests(stack), Is.EqualTo(1));
        Assert.That(stack.Provider.TokenRequests.Last()["refresh_token"], Is.EqualTo("r1"));
    }

    [Test]
    public async Task GetFresh_RepeatedRotation_EachRefreshUsesTheLatestToken()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r0");

        for (var i = 1; i <= 4; i++)
        {
            var next = "r" + i;
            stack.Provider.OnRefresh("r" + (i - 1), () => new TokenSet(null, stack.Provider.AccessToken("alice"), next, 300));
            stack.Time.Advance(TimeSpan.FromSeconds(250));
            var lookup = (SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);
            Assert.That(lookup.Record.RefreshToken, Is.EqualTo(next));
        }

        Assert.That(RefreshRequests(stack), Is.EqualTo(4));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task GetFresh_RefreshWithoutNewRefreshToken_OldOneKept()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), null, 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = (SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(lookup.Record.RefreshToken, Is.EqualTo("r1"));
    }

    [Test]
    public async Task GetFresh_InvalidGrant_SessionEndedEverywhere()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r-revoked-at-provider");

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);
        var afterwards = await stack.NavigateAsync("/", cookie);

        Assert.That(lookup, Is.TypeOf<SessionLookup.EndedByProvider>());
        Assert.That(afterwards, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.Sessions.ResolveAsync(cookie, CancellationToken.None), Is.Null, "never adopted from the cookie again");
    }

    [Test]
    public async Task Verify_SessionEndedByProvider_ApiGets401()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var outcome = await stack.Exchange.HandleAsync(Requests.Api("/api", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.That(((AuthOutcome.LoginRequired)outcome).Reason, Is.EqualTo("session ended by the provider"));
    }

    [Test]
    public async Task GetFresh_TokenEndpointUnreachable_SessionKeptWithOldTokens()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.TokenEndpointDown = true;

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(((SessionLookup.Found)lookup).Record.RefreshToken, Is.EqualTo("r1"));
    }

    [Test]
    public async Task GetFresh_RefreshedIdTokenOfAnotherSubject_SessionEnded()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(stack.Provider.IdToken("mallory", null), stack.Provider.AccessToken("mallory"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(lookup, Is.TypeOf<SessionLookup.EndedByProvider>());
    }

    [Test]
    public async Task GetFresh_RefreshedIdTokenWithFewerClaims_IdentityKeepsKnownClaims()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(
            stack.Provider.IdToken("alice", null, c => { c.Remove("email"); c.Remove("groups"); }), stack.Provider.AccessToken("alice"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var identity = ((SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None)).Record.Identity;

        Assert.That(identity.Identifier, Is.EqualTo("alice@example.com"));
        Assert.That(identity.Email, Is.EqualTo("alice@example.com"));
        Assert.That(identity.Groups, Is.EqualTo(new[] { "staff" }));
    }

    [Test]
    public async Task GetFresh_InvalidRefreshedIdToken_RotatedRefreshTokenStillKept()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(
            stack.Provider.IdToken("alice", null, c => c["aud"] = "another-client"), stack.Provider.AccessToken("alice"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(((SessionLookup.Found)lookup).Record.RefreshToken, Is.EqualTo("r2"));
    }

    [Test]
    public async Task GetFresh_RefreshNeverExtendsTheSession()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_MAX_AGE", "600"));
        var cookie = await SignInWithRefreshAsync(stack, "r1");
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r2", 3600));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var refreshed = (SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);
        stack.Time.Advance(TimeSpan.FromSeconds(351));
        var later = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(refreshed.Record.ExpiresAt, Is.EqualTo(FastStack.Start.AddSeconds(600)));
        Assert.That(later, Is.TypeOf<SessionLookup.Missing>());
    }

    [TestCase(60, 300, 240)]
    [TestCase(60, 100, 50)]
    [TestCase(0, 300, 300)]
    [TestCase(600, 300, 150)]
    public async Task GetFresh_GracePeriodAndShortTokens_DueAtTheRightMoment(int graceSeconds, int tokenSeconds, int dueAfterSeconds)
    {
        await using var stack = await FastStack.StartAsync(("REFRESH_GRACE_PERIOD_SECONDS", graceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice"), "r1", tokenSeconds));
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "r2", 3600));

        stack.Time.Advance(TimeSpan.FromSeconds(dueAfterSeconds - 1));
        await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);
        var before = RefreshRequests(stack);
        stack.Time.Advance(TimeSpan.FromSeconds(1));
        await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(before, Is.Zero);
        Assert.That(RefreshRequests(stack), Is.EqualTo(1));
    }

    private static Task<string> SignInWithRefreshAsync(FastStack stack, string refreshToken) =>
        stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice"), refreshToken, 300));

    private static int RefreshRequests(FastStack stack) => stack.Provider.TokenRequests.Count(f => f["grant_type"] == "refresh_token");
}
