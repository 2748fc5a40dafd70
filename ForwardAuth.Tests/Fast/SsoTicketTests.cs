using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Single sign-on across domains, decided in process: the joining host's redirect to the auth host, the auth host's
/// ticket (or its refusal), and the redemption of a ticket with every way one is refused (replay, expiry, another
/// origin, another browser's state), and logout ending the whole login.
/// </summary>
[TestFixture]
[Category("Fast")]
public class SsoTicketTests
{
    private const string AuthHost = "https://auth.fast-auth.test";
    private const string App = FastStack.Origin; // https://app.fast.test
    private const string OtherApp = "https://app.fast-two.test";

    private static Task<FastStack> StartAsync() => FastStack.StartAsync(("AUTH_URL", AuthHost), ("SSO_DOMAINS", "fast.test,fast-two.test"));

    private static AuthRequest At(string origin, string pathAndQuery, string? cookieHeader) =>
        Requests.Navigation(pathAndQuery, cookieHeader) with { Origin = origin };

    private static Task<AuthOutcome> SendAsync(FastStack stack, string origin, string pathAndQuery, string? cookieHeader = null) =>
        stack.Exchange.HandleAsync(At(origin, pathAndQuery, cookieHeader), PolicyRules.None, CancellationToken.None);

    private static Task<AuthOutcome> IssueAsync(FastStack stack, string pathAndQuery, string? cookieHeader) =>
        stack.Services.GetRequiredService<SsoFlow>().IssueAsync(At(AuthHost, pathAndQuery, cookieHeader), CancellationToken.None);

    private static string Join(params string?[] cookies) => string.Join("; ", cookies.Where(c => c is not null));

    /// <summary>The joining host's challenge: the auth host's URL, and the state cookie as the browser now holds it.</summary>
    private static async Task<(Uri IssueUrl, string StateCookie)> ChallengeAsync(FastStack stack, string origin, string path = "/page?x=1")
    {
        var redirect = (AuthOutcome.LoginRedirect)await SendAsync(stack, origin, path);
        return (new Uri(redirect.AuthorizeUrl), redirect.BindingCookieName + "=" + redirect.BindingValue);
    }

    /// <summary>A ticket URL on <paramref name="origin"/> issued for the auth host's session <paramref name="authSession"/>.</summary>
    private static async Task<(Uri TicketUrl, string StateCookie)> TicketAsync(FastStack stack, string origin, string authSession)
    {
        var (issueUrl, state) = await ChallengeAsync(stack, origin);
        var issued = await IssueAsync(stack, issueUrl.PathAndQuery, stack.CookieHeader(authSession));
        return (new Uri(((AuthOutcome.Redirect)issued).Url), state);
    }

    private static Task<AuthOutcome> RedeemAsync(FastStack stack, Uri ticketUrl, string? cookieHeader, string? onOrigin = null) =>
        SendAsync(stack, onOrigin ?? ticketUrl.GetLeftPart(UriPartial.Authority), ticketUrl.PathAndQuery, cookieHeader);

    private static double Tickets(FastStack stack, string result) =>
        stack.Services.GetRequiredService<ForwardAuthMetrics>().SsoTicketResults.WithLabels(result).Value;

    [Test]
    public async Task Challenge_OnJoiningHost_RedirectsToAuthHostWithTheStateHashAndSetsTheStateCookie()
    {
        await using var stack = await StartAsync();

        var redirect = (AuthOutcome.LoginRedirect)await SendAsync(stack, App, "/page?x=1");

        var url = new Uri(redirect.AuthorizeUrl);
        var query = QueryHelpers.ParseQuery(url.Query);
        Assert.That(url.GetLeftPart(UriPartial.Path), Is.EqualTo(AuthHost + "/oauth2/sso"));
        Assert.That(query["rd"].ToString(), Is.EqualTo(App + "/page?x=1"));
        Assert.That(query["state"].ToString(), Is.EqualTo(StoreKeys.Hash(redirect.BindingValue)), "only the state's hash travels");
        Assert.That(redirect.BindingCookieName, Does.StartWith("_forwardauth_sso_"));
        Assert.That(redirect.Challenged, Is.True);
        Assert.That(stack.Provider.TokenRequests, Is.Empty);
    }

    [Test]
    public async Task Challenge_OnHostOutsideSsoDomains_StartsTheNormalProviderLogin()
    {
        await using var stack = await StartAsync();

        var redirect = (AuthOutcome.LoginRedirect)await SendAsync(stack, "https://app.elsewhere.test", "/");

        Assert.That(redirect.AuthorizeUrl, Does.StartWith(FakeProvider.Issuer));
    }

    [Test]
    public async Task Issue_WithSessionOnAuthHost_RedirectsToTheTargetsTicketPath()
    {
        await using var stack = await StartAsync();
        var authSession = await stack.SignInAsync();

        var (ticketUrl, _) = await TicketAsync(stack, App, authSession);

        var query = QueryHelpers.ParseQuery(ticketUrl.Query);
        Assert.That(ticketUrl.GetLeftPart(UriPartial.Path), Is.EqualTo(App + "/oauth2/ticket"));
        Assert.That(query["rd"].ToString(), Is.EqualTo(App + "/page?x=1"));
        Assert.That(Convert.FromBase64String(query["ticket"].ToString().Replace('-', '+').Replace('_', '/') + "="), Has.Length.EqualTo(32), "256 random bits");
        Assert.That(Tickets(stack, "issued"), Is.EqualTo(1));
    }

    [Test]
    public async Task Issue_WithoutSession_LogsInOnTheAuthHostAndComesBackForTheTicket()
    {
        await using var stack = await StartAsync();
        var (issueUrl, _) = await ChallengeAsync(stack, App);

        var redirect = (AuthOutcome.LoginRedirect)await IssueAsync(stack, issueUrl.PathAndQuery, null);
        Assert.That(QueryHelpers.ParseQuery(new Uri(redirect.AuthorizeUrl).Query)["redirect_uri"].ToString(), Is.EqualTo(AuthHost + "/oauth2/callback"));

        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        var login = new LoginAttempt(redirect, state, nonce, redirect.BindingCookieName + "=" + redirect.BindingValue);
        var signedIn = (AuthOutcome.SignedIn)await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", nonce), stack.Provider.AccessToken("alice"))));
        Assert.That(signedIn.ReturnUrl, Is.EqualTo(AuthHost + issueUrl.PathAndQuery));

        var issued = await IssueAsync(stack, issueUrl.PathAndQuery, stack.CookieHeader(signedIn.SessionCookie));
        Assert.That(((AuthOutcome.Redirect)issued).Url, Does.StartWith(App + "/oauth2/ticket?ticket="));
    }

    [TestCase("https://app.elsewhere.test/")]
    [TestCase("https://fast.test.evil.test/")]
    [TestCase("https://evilfast.test/")]
    [TestCase("https://fast.test@evil.test/")]
    [TestCase("https://user@app.fast.test/")]
    [TestCase("//app.fast.test/")]
    [TestCase("/local")]
    [TestCase("javascript:alert(1)")]
    [TestCase("ftp://app.fast.test/")]
    public async Task Issue_TargetOutsideSsoDomains_RefusedWithoutTicket(string rd)
    {
        await using var stack = await StartAsync();
        var authSession = await stack.SignInAsync();

        var outcome = await IssueAsync(stack, "/oauth2/sso?rd=" + Uri.EscapeDataString(rd) + "&state=" + new string('a', 64), stack.CookieHeader(authSession));

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(400));
        Assert.That(Tickets(stack, "issued"), Is.Zero);
        Assert.That(Tickets(stack, "target_refused"), Is.EqualTo(1));
    }

    [Test]
    public async Task Issue_WithoutState_RefusedWithoutTicket()
    {
        await using var stack = await StartAsync();
        var authSession = await stack.SignInAsync();

        var outcome = await IssueAsync(stack, "/oauth2/sso?rd=" + Uri.EscapeDataString(App + "/"), stack.CookieHeader(authSession));

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(400));
        Assert.That(Tickets(stack, "issued"), Is.Zero);
    }

    [Test]
    public async Task Redeem_WithTheStateCookie_SessionForTheSameUserAndBackToRd()
    {
        await using var stack = await FastStack.StartAsync(("AUTH_URL", AuthHost), ("SSO_DOMAINS", "fast.test,fast-two.test"), ("PASS_AUTHORIZATION_HEADER", "true"));
        var authSession = await stack.SignInAsync("alice");
        var (ticketUrl, state) = await TicketAsync(stack, App, authSession);

        var signedIn = (AuthOutcome.SignedIn)await RedeemAsync(stack, ticketUrl, state);

        Assert.That(signedIn.ReturnUrl, Is.EqualTo(App + "/page?x=1"));
        Assert.That(signedIn.BindingCookieName, Is.EqualTo(state.Split('=')[0]), "the state cookie is cleared");
        Assert.That(signedIn.SessionCookie, Is.Not.EqualTo(authSession), "a session of its own");
        var allowed = (AuthOutcome.Allow)await SendAsync(stack, App, "/page", stack.CookieHeader(signedIn.SessionCookie));
        Assert.That(allowed.Identity!.Subject, Is.EqualTo("alice"));
        Assert.That(allowed.AccessToken, Is.Not.Null, "the login's tokens (forwarded here), without a provider round trip");
        Assert.That(stack.Provider.TokenRequests, Has.Count.EqualTo(1), "only the auth host's login exchanged a code");
    }

    [Test]
    public async Task Redeem_Twice_SecondRefused()
    {
        await using var stack = await StartAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, await stack.SignInAsync());
        Assert.That(await RedeemAsync(stack, ticketUrl, state), Is.TypeOf<AuthOutcome.SignedIn>());

        var replay = await RedeemAsync(stack, ticketUrl, state);

        Assert.That(replay, Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(403));
    }

    [Test]
    public async Task Redeem_After30Seconds_Refused()
    {
        await using var stack = await StartAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, await stack.SignInAsync());

        stack.Time.Advance(TimeSpan.FromSeconds(31));

        Assert.That(await RedeemAsync(stack, ticketUrl, state), Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(403));
    }

    [Test]
    public async Task Redeem_Unknown_Refused()
    {
        await using var stack = await StartAsync();

        var outcome = await SendAsync(stack, App, "/oauth2/ticket?ticket=not-a-ticket&rd=%2F");

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(403));
    }

    [Test]
    public async Task Redeem_OnAnotherOrigin_RefusedAndNotBurned()
    {
        await using var stack = await StartAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, await stack.SignInAsync());

        var elsewhere = await RedeemAsync(stack, ticketUrl, state, onOrigin: OtherApp);

        Assert.That(elsewhere, Is.TypeOf<AuthOutcome.SignInFailed>().With.Property("Reason").Contains("another site"));
        Assert.That(await RedeemAsync(stack, ticketUrl, state), Is.TypeOf<AuthOutcome.SignedIn>(), "its own origin can still use it");
    }

    [Test]
    public async Task Redeem_AttackersTicketInVictimsBrowser_RefusedNoSession()
    {
        // Login CSRF: the attacker obtains a ticket for their own login (their own state cookie) and sends the victim,
        // whose browser holds another state (or none), to it. The victim must not be signed in as the attacker.
        await using var stack = await StartAsync();
        var (attackersTicket, attackersState) = await TicketAsync(stack, App, await stack.SignInAsync("mallory"));
        var (_, victimsState) = await ChallengeAsync(stack, App);

        var withOtherState = await RedeemAsync(stack, attackersTicket, victimsState);
        var withoutState = await RedeemAsync(stack, attackersTicket, null);
        var withForgedValue = await RedeemAsync(stack, attackersTicket, attackersState.Split('=')[0] + "=forged");

        Assert.That(new[] { withOtherState, withoutState, withForgedValue }, Has.All.TypeOf<AuthOutcome.SignInFailed>().With.Property("Status").EqualTo(403));
        Assert.That(Tickets(stack, "other_browser"), Is.EqualTo(3));
        Assert.That(Tickets(stack, "redeemed"), Is.Zero);
    }

    [Test]
    public async Task Redeem_RdOnAnotherHost_GoesToTheOriginsRoot()
    {
        await using var stack = await StartAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, await stack.SignInAsync());
        var ticket = QueryHelpers.ParseQuery(ticketUrl.Query)["ticket"].ToString();

        var signedIn = (AuthOutcome.SignedIn)await SendAsync(stack, App, "/oauth2/ticket?ticket=" + ticket + "&rd=" + Uri.EscapeDataString("https://evil.test/x"), state);

        Assert.That(signedIn.ReturnUrl, Is.EqualTo(App + "/"));
    }

    [Test]
    public async Task Redeem_AfterTheAuthHostLoggedOut_Refused()
    {
        await using var stack = await StartAsync();
        var authSession = await stack.SignInAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, authSession);
        await stack.Logout.LogoutAsync(At(AuthHost, "/oauth2/logout", stack.CookieHeader(authSession)), CancellationToken.None);

        Assert.That(await RedeemAsync(stack, ticketUrl, state), Is.TypeOf<AuthOutcome.SignInFailed>());
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Logout_OnEitherDomain_EndsEverySessionOfTheLogin(bool onJoinedHost)
    {
        await using var stack = await StartAsync();
        var authSession = await stack.SignInAsync();
        var (ticketUrl, state) = await TicketAsync(stack, App, authSession);
        var appSession = ((AuthOutcome.SignedIn)await RedeemAsync(stack, ticketUrl, state)).SessionCookie;
        var (otherTicket, otherState) = await TicketAsync(stack, OtherApp, authSession);
        var otherSession = ((AuthOutcome.SignedIn)await RedeemAsync(stack, otherTicket, otherState)).SessionCookie;

        var loggingOut = onJoinedHost ? appSession : authSession;
        await stack.Logout.LogoutAsync(At(onJoinedHost ? App : AuthHost, "/oauth2/logout", stack.CookieHeader(loggingOut)), CancellationToken.None);

        foreach (var cookie in new[] { authSession, appSession, otherSession })
        {
            Assert.That(await stack.Sessions.ResolveAsync(cookie, CancellationToken.None), Is.Null);
        }
    }

    [Test]
    public async Task WithoutSso_LoginsCarryNoLoginId()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();

        var session = await stack.Sessions.ResolveAsync(cookie, CancellationToken.None);

        Assert.That(session!.Record.LoginId, Is.Null);
        Assert.That(stack.Options.Sso, Is.Null);
    }

    [TestCase("AUTH_URL", "https://auth.example.net", "ssoDomains (SSO_DOMAINS)")]
    [TestCase("SSO_DOMAINS", "example.org", "authURL (AUTH_URL)")]
    public void Config_OneWithoutTheOther_StartupErrorNamesTheMissingField(string variable, string value, string expected)
    {
        var settings = FastStack.DefaultSettings();
        settings[variable] = value;

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], settings.GetValueOrDefault))!;

        Assert.That(error.Problems, Has.Some.StartsWith(expected));
    }

    [TestCase("auth.example.net", "example.org", "authURL (AUTH_URL)")]
    [TestCase("https://auth.example.net/sub", "example.org", "authURL (AUTH_URL)")]
    [TestCase("https://auth.example.net/?x=1", "example.org", "authURL (AUTH_URL)")]
    [TestCase("https://auth.example.net", "*.example.org", "ssoDomains (SSO_DOMAINS)")]
    [TestCase("https://auth.example.net", "org", "ssoDomains (SSO_DOMAINS)")]
    [TestCase("https://auth.example.net", "example.org,https://example.com", "ssoDomains (SSO_DOMAINS)")]
    [TestCase("https://auth.example.net", "example.org:443", "ssoDomains (SSO_DOMAINS)")]
    public void Config_Invalid_StartupErrorNamesTheField(string authUrl, string domains, string expected)
    {
        var settings = FastStack.DefaultSettings();
        settings["AUTH_URL"] = authUrl;
        settings["SSO_DOMAINS"] = domains;

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], settings.GetValueOrDefault))!;

        Assert.That(error.Problems, Has.Some.StartsWith(expected));
    }

    [Test]
    public void Config_Valid_DomainsNormalisedAndCoverSubdomains()
    {
        var settings = FastStack.DefaultSettings();
        settings["AUTH_URL"] = "https://auth.example.net";
        settings["SSO_DOMAINS"] = ".Example.org, example.com";

        var sso = ConfigurationLoader.Load([], settings.GetValueOrDefault).Sso!;

        Assert.That(sso.Domains, Is.EqualTo(new[] { "example.org", "example.com" }));
        Assert.That(sso.Covers("app.example.org"), Is.True);
        Assert.That(sso.Covers("example.com"), Is.True);
        Assert.That(sso.Covers("badexample.org"), Is.False);
        Assert.That(sso.AuthOrigin, Is.EqualTo("https://auth.example.net"));
    }
}
