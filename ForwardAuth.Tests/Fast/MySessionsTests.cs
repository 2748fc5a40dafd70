using ForwardAuth.Auth;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>My sessions (<c>/oauth2/sessions</c>): listing, ending one or all others, CSRF, other users, old records.</summary>
[TestFixture]
[Category("Fast")]
public class MySessionsTests
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    private const string ChromeAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

    private static MySessions Page(FastStack stack) => stack.Services.GetRequiredService<MySessions>();

    /// <summary>A complete login of <paramref name="sub"/> from a browser with this User-Agent and address.</summary>
    private static async Task<string> SignInFromAsync(FastStack stack, string sub, string userAgent, string client = Requests.Client)
    {
        var login = await stack.StartLoginAsync();
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken(sub, login.Nonce), stack.Provider.AccessToken(sub)));
        var callback = Requests.Make("GET", stack.Options.CallbackPath + "?state=" + Uri.EscapeDataString(login.State) + "&code=" + Uri.EscapeDataString(code),
            login.BindingCookie, ("Accept", "text/html"), ("Sec-Fetch-Mode", "navigate"), ("User-Agent", userAgent)) with { Client = client };
        var outcome = await stack.Exchange.HandleAsync(callback, PolicyRules.None, CancellationToken.None);
        return ((AuthOutcome.SignedIn)outcome).SessionCookie;
    }

    private static async Task<AuthOutcome.SessionsListed> ListAsync(FastStack stack, string cookie) =>
        (AuthOutcome.SessionsListed)await Page(stack).ListAsync(Requests.Navigation("/oauth2/sessions", stack.CookieHeader(cookie)), CancellationToken.None);

    private static Task<AuthOutcome> RevokeAsync(FastStack stack, string cookie, string revoke, string? csrf) =>
        Page(stack).RevokeAsync(
            Requests.FormPost("/oauth2/sessions?revoke=" + Uri.EscapeDataString(revoke) + (csrf is null ? "" : "&csrf=" + Uri.EscapeDataString(csrf)), stack.CookieHeader(cookie)),
            CancellationToken.None);

    [Test]
    public async Task List_TwoSessionsOfAlice_BothListedCurrentFirstWithBrowserAndAddress()
    {
        await using var stack = await FastStack.StartAsync();
        var laptop = await SignInFromAsync(stack, "alice", Firefox, "203.0.113.7");
        await SignInFromAsync(stack, "alice", ChromeAndroid, "198.51.100.4");
        await SignInFromAsync(stack, "bob", Firefox);

        var listed = await ListAsync(stack, laptop);

        Assert.That(listed.Sessions, Has.Count.EqualTo(2), "alice's two sessions, not bob's");
        Assert.That(listed.Sessions.Select(s => s.Current), Is.EqualTo(new[] { true, false }));
        Assert.That(listed.Sessions.Select(s => s.Browser), Is.EqualTo(new[] { "Firefox on Linux", "Chrome on Android" }));
        Assert.That(listed.Sessions.Select(s => s.Address), Is.EqualTo(new[] { "203.0.113.7", "198.51.100.4" }));
        Assert.That(listed.Sessions.Select(s => s.CreatedAt), Is.All.EqualTo(FastStack.Start));
        Assert.That(listed.Identity.Subject, Is.EqualTo("alice"));
    }

    [Test]
    public async Task List_PublicIds_NeitherHandleNorStoreKeyNorCookie()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInFromAsync(stack, "alice", Firefox);
        var handle = stack.Services.GetRequiredService<SessionCookie>().TryOpen(cookie, out _)!.Handle;

        var listed = await ListAsync(stack, cookie);

        var id = listed.Sessions.Single().Id;
        Assert.That(id, Has.Length.EqualTo(22));
        string[] secrets = [handle, StoreKeys.Hash(handle), cookie];
        Assert.That(secrets.Any(s => s.Contains(id, StringComparison.Ordinal) || id.Contains(s, StringComparison.Ordinal)), Is.False);
        Assert.That(secrets.Any(s => s.Contains(listed.CsrfToken, StringComparison.Ordinal)), Is.False);
        Assert.That(listed.CsrfToken, Is.Not.EqualTo(id));
    }

    [Test]
    public async Task List_SessionCreatedBeforeTheUpgrade_ListedWithoutBrowserAndAddress()
    {
        await using var stack = await FastStack.StartAsync();
        var current = await SignInFromAsync(stack, "alice", Firefox);
        var now = stack.Time.GetUtcNow();
        await stack.Sessions.CreateAsync(
            new SessionRecord { Identity = new ForwardAuth.Oidc.UserIdentity("alice", "alice", null, null, null, new Dictionary<string, string>()), IssuedAt = now, ExpiresAt = now.AddHours(1) },
            CancellationToken.None);

        var listed = await ListAsync(stack, current);

        var old = listed.Sessions.Single(s => !s.Current);
        Assert.That((old.Browser, old.Address, old.LastSeenAt), Is.EqualTo(((string?)null, (string?)null, (DateTimeOffset?)null)));
    }

    [Test]
    public async Task List_LastSeen_RecordedAtMostOncePerActivityIntervalWithoutIdleTimeout()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_ACTIVITY_INTERVAL", "60"));
        var cookie = await SignInFromAsync(stack, "alice", Firefox);

        stack.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.That((await ListAsync(stack, cookie)).Sessions[0].LastSeenAt, Is.EqualTo(FastStack.Start), "within the interval nothing is written");
        stack.Time.Advance(TimeSpan.FromSeconds(2));
        await stack.NavigateAsync("/", cookie);
        Assert.That((await ListAsync(stack, cookie)).Sessions[0].LastSeenAt, Is.EqualTo(FastStack.Start.AddSeconds(61)), "a request after the interval records it");
    }

    [Test]
    public async Task List_Get_NeverEndsASessionEvenWithRevokeInTheQuery()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var other = await SignInFromAsync(stack, "alice", ChromeAndroid);
        var csrf = (await ListAsync(stack, mine)).CsrfToken;

        var outcome = await Page(stack).ListAsync(Requests.Navigation("/oauth2/sessions?revoke=all&csrf=" + csrf, stack.CookieHeader(mine)), CancellationToken.None);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SessionsListed>());
        Assert.That(await stack.NavigateAsync("/", other), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Revoke_OneOtherSession_ItEndsCurrentStaysCounted()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var other = await SignInFromAsync(stack, "alice", ChromeAndroid);
        var listed = await ListAsync(stack, mine);

        var outcome = await RevokeAsync(stack, mine, listed.Sessions[1].Id, listed.CsrfToken);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.SessionsEnded(1, "one")));
        Assert.That(await stack.NavigateAsync("/", other), Is.TypeOf<AuthOutcome.LoginRedirect>(), "the other session ended");
        Assert.That(await stack.NavigateAsync("/", mine), Is.TypeOf<AuthOutcome.Allow>(), "the current one lives on");
        Assert.That((await ListAsync(stack, mine)).Sessions, Has.Count.EqualTo(1));
        Assert.That(stack.Services.GetRequiredService<ForwardAuthMetrics>().SessionRevocations.WithLabels("one").Value, Is.EqualTo(1));
    }

    [Test]
    public async Task Revoke_All_EndsEveryOtherSessionOfTheUserOnly()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var others = new[] { await SignInFromAsync(stack, "alice", ChromeAndroid), await SignInFromAsync(stack, "alice", "curl/8.5.0") };
        var bob = await SignInFromAsync(stack, "bob", Firefox);

        var outcome = await RevokeAsync(stack, mine, "all", (await ListAsync(stack, mine)).CsrfToken);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.SessionsEnded(2, "all")));
        foreach (var other in others)
        {
            Assert.That(await stack.NavigateAsync("/", other), Is.TypeOf<AuthOutcome.LoginRedirect>());
        }

        Assert.That(await stack.NavigateAsync("/", mine), Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(await stack.NavigateAsync("/", bob), Is.TypeOf<AuthOutcome.Allow>(), "bob's session is not alice's to end");
        Assert.That(stack.Services.GetRequiredService<ForwardAuthMetrics>().SessionRevocations.WithLabels("all").Value, Is.EqualTo(2));
    }

    [Test]
    public async Task Revoke_WithRefreshToken_RevokedAtTheProviderAsLogoutDoes()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), null, "other-refresh-token"));
        var listed = await ListAsync(stack, mine);

        await RevokeAsync(stack, mine, listed.Sessions[1].Id, listed.CsrfToken);

        Assert.That(stack.Provider.RevokedTokens, Is.EqualTo(new[] { "other-refresh-token" }));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("wrong-token")]
    public async Task Revoke_MissingOrWrongCsrf_403AndNothingEnds(string? csrf)
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var other = await SignInFromAsync(stack, "alice", ChromeAndroid);

        var outcome = await RevokeAsync(stack, mine, "all", csrf);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SessionsRefused>().With.Property("Status").EqualTo(403));
        Assert.That(await stack.NavigateAsync("/", other), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Revoke_CsrfTokenOfAnotherSessionOfTheSameUser_403()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var other = await SignInFromAsync(stack, "alice", ChromeAndroid);
        var othersCsrf = (await ListAsync(stack, other)).CsrfToken;

        var outcome = await RevokeAsync(stack, mine, "all", othersCsrf);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SessionsRefused>().With.Property("Status").EqualTo(403));
    }

    [Test]
    public async Task Revoke_AliceWithBobsSessionId_404AndBobStaysSignedIn()
    {
        await using var stack = await FastStack.StartAsync();
        var alice = await SignInFromAsync(stack, "alice", Firefox);
        var bob = await SignInFromAsync(stack, "bob", Firefox);
        var bobsId = (await ListAsync(stack, bob)).Sessions.Single().Id;

        var outcome = await RevokeAsync(stack, alice, bobsId, (await ListAsync(stack, alice)).CsrfToken);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SessionsRefused>().With.Property("Status").EqualTo(404));
        Assert.That(await stack.NavigateAsync("/", bob), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Revoke_UnknownOrEndedId_404()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        await SignInFromAsync(stack, "alice", ChromeAndroid);
        var listed = await ListAsync(stack, mine);
        await RevokeAsync(stack, mine, listed.Sessions[1].Id, listed.CsrfToken);

        Assert.That(await RevokeAsync(stack, mine, listed.Sessions[1].Id, listed.CsrfToken), Is.TypeOf<AuthOutcome.SessionsRefused>().With.Property("Status").EqualTo(404), "already ended");
        Assert.That(await RevokeAsync(stack, mine, "AAAAAAAAAAAAAAAAAAAAAA", listed.CsrfToken), Is.TypeOf<AuthOutcome.SessionsRefused>().With.Property("Status").EqualTo(404), "never existed");
    }

    [Test]
    public async Task Revoke_MissingOrRepeatedRevoke_BadRequest()
    {
        await using var stack = await FastStack.StartAsync();
        var mine = await SignInFromAsync(stack, "alice", Firefox);
        var csrf = (await ListAsync(stack, mine)).CsrfToken;

        var missing = await Page(stack).RevokeAsync(Requests.FormPost("/oauth2/sessions?csrf=" + csrf, stack.CookieHeader(mine)), CancellationToken.None);
        var repeated = await Page(stack).RevokeAsync(Requests.FormPost("/oauth2/sessions?revoke=all&revoke=x&csrf=" + csrf, stack.CookieHeader(mine)), CancellationToken.None);

        Assert.That(missing, Is.TypeOf<AuthOutcome.BadRequest>());
        Assert.That(repeated, Is.TypeOf<AuthOutcome.BadRequest>());
    }

    [Test]
    public async Task WithoutSession_BrowserSentToLogInApiClient401LikeAuth()
    {
        await using var stack = await FastStack.StartAsync();

        var form = await Page(stack).RevokeAsync(Requests.FormPost("/oauth2/sessions?revoke=all&csrf=x"), CancellationToken.None);
        var page = await Page(stack).ListAsync(Requests.Navigation("/oauth2/sessions", stack.CookieHeader("garbage")), CancellationToken.None);
        var api = await Page(stack).ListAsync(Requests.Api("/oauth2/sessions"), CancellationToken.None);

        Assert.That(form, Is.TypeOf<AuthOutcome.LoginRedirect>().With.Property("SeeOther").True);
        Assert.That(page, Is.TypeOf<AuthOutcome.LoginRedirect>().With.Property("SeeOther").False);
        Assert.That(api, Is.TypeOf<AuthOutcome.LoginRequired>());
    }

    [Test]
    public async Task WithBearerTokenOnly_NoSession401()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await Page(stack).ListAsync(Requests.Api("/oauth2/sessions", authorization: "Bearer " + stack.Provider.AccessToken("alice")), CancellationToken.None);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRequired>());
    }
}
