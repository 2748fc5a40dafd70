using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>The exchange routes the callback, logout and login paths of the protected host; everything else is a decision.</summary>
[TestFixture]
[Category("Fast")]
public class AuthExchangeTests
{
    [TestCase("/oauth2/callback", typeof(AuthOutcome.SignInFailed))]
    [TestCase("/oauth2/logout", typeof(AuthOutcome.SignedOut))]
    [TestCase("/oauth2/start", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/oauth2/backchannel-logout", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/oauth2/callback/", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/OAUTH2/LOGOUT", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/anything", typeof(AuthOutcome.LoginRedirect))]
    public async Task Handle_DefaultPaths_RoutedByExactPath(string path, Type expected)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.NavigateAsync(path);

        Assert.That(outcome, Is.TypeOf(expected));
    }

    [TestCase("/auth/cb", typeof(AuthOutcome.SignInFailed))]
    [TestCase("/auth/bye", typeof(AuthOutcome.SignedOut))]
    [TestCase("/auth/go", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/oauth2/callback", typeof(AuthOutcome.LoginRedirect))]
    [TestCase("/oauth2/logout", typeof(AuthOutcome.LoginRedirect))]
    public async Task Handle_ConfiguredPaths_RoutedByConfiguredPath(string path, Type expected)
    {
        await using var stack = await FastStack.StartAsync(("CALLBACK_URL", "/auth/cb"), ("LOGOUT_URL", "/auth/bye"), ("LOGIN_URL", "/auth/go"));

        var outcome = await stack.NavigateAsync(path);

        Assert.That(outcome, Is.TypeOf(expected));
    }

    [Test]
    public async Task Handle_LoginPath_NotChallengedEvenWithSession()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();

        var outcome = await stack.NavigateAsync("/oauth2/start?rd=/x", cookie);

        Assert.That(((AuthOutcome.LoginRedirect)outcome).Challenged, Is.False);
    }

    [Test]
    public async Task Handle_LogoutPathForApiClient_StillSignsOut()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();

        var outcome = await stack.Exchange.HandleAsync(Requests.Api("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedOut>());
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Handle_ExcludedCallbackPath_StillTheCallback()
    {
        await using var stack = await FastStack.StartAsync(("EXCLUDED_URLS", "/oauth2"));

        Assert.That(await stack.NavigateAsync("/oauth2/callback"), Is.TypeOf<AuthOutcome.SignInFailed>());
        Assert.That(await stack.NavigateAsync("/oauth2/other"), Is.EqualTo(Requests.AllowedAnonymously("excluded path")));
    }

    [Test]
    public async Task Handle_FullBrowserJourney_ChallengeLoginAccessLogoutChallenge()
    {
        await using var stack = await FastStack.StartAsync();

        var challenge = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/app?x=1");
        var (state, nonce) = FakeProvider.Parse(challenge.AuthorizeUrl);
        var binding = challenge.BindingCookieName + "=" + challenge.BindingValue;
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", nonce), stack.Provider.AccessToken("alice"), "rt"));
        var signedIn = (AuthOutcome.SignedIn)await stack.Exchange.HandleAsync(
            Requests.Navigation("/oauth2/callback?state=" + Uri.EscapeDataString(state) + "&code=" + code, binding), PolicyRules.None, CancellationToken.None);
        var access = await stack.NavigateAsync("/app?x=1", signedIn.SessionCookie);
        var signedOut = await stack.NavigateAsync("/oauth2/logout", signedIn.SessionCookie);
        var again = await stack.NavigateAsync("/app?x=1", signedIn.SessionCookie);

        Assert.That(signedIn.ReturnUrl, Is.EqualTo(FastStack.Origin + "/app?x=1"));
        Assert.That(access, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(signedOut, Is.TypeOf<AuthOutcome.SignedOut>());
        Assert.That(again, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(stack.Provider.RevokedTokens, Is.EqualTo(new[] { "rt" }));
    }
}
