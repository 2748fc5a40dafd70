using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// OIDC Front-Channel Logout 1.0 (<c>enableFrontchannelLogout</c>): <c>iss</c> + <c>sid</c> end every session of that
/// sid when <c>iss</c> is the provider's issuer; anything else is refused with nothing ended.
/// </summary>
[TestFixture]
[Category("Fast")]
public class FrontchannelLogoutTests
{
    private static readonly (string, string)[] Enabled = [("ENABLE_FRONTCHANNEL_LOGOUT", "true")];

    [Test]
    public async Task Frontchannel_IssuerAndSid_EndsEverySessionOfTheSidOnly()
    {
        await using var stack = await FastStack.StartAsync(Enabled);
        var first = await SignInWithSidAsync(stack, "alice", "sid-shared");
        var second = await SignInWithSidAsync(stack, "alice", "sid-shared");
        var otherSid = await SignInWithSidAsync(stack, "alice", "sid-other");

        var outcome = await stack.Logout.FrontchannelAsync(FakeProvider.Issuer, "sid-shared", CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.FrontchannelLoggedOut(2)));
        Assert.That(await stack.NavigateAsync("/", first), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", second), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", otherSid), Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(stack.Logs.Lines.Any(l => l.EventId == 217), Is.True);
    }

    [TestCase("https://evil.test", "iss is not the provider's issuer")]
    [TestCase(FakeProvider.Issuer + "/", "iss is not the provider's issuer")]
    [TestCase("", "no iss query parameter")]
    public async Task Frontchannel_WrongOrMissingIssuer_RefusedNothingEnded(string iss, string reason)
    {
        await using var stack = await FastStack.StartAsync(Enabled);
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        var outcome = await stack.Logout.FrontchannelAsync(iss, "sid-1", CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BadRequest(reason)));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(stack.Logs.Lines.Any(l => l.EventId == 218), Is.True);
    }

    [Test]
    public async Task Frontchannel_MissingSid_RefusedNothingEnded()
    {
        await using var stack = await FastStack.StartAsync(Enabled);
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        var outcome = await stack.Logout.FrontchannelAsync(FakeProvider.Issuer, "", CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BadRequest("no sid query parameter")));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("bad_request"));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Frontchannel_UnknownSid_AcceptedEndsNothing()
    {
        await using var stack = await FastStack.StartAsync(Enabled);
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        var outcome = await stack.Logout.FrontchannelAsync(FakeProvider.Issuer, "sid-unknown", CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.FrontchannelLoggedOut(0)));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Settings_Default_DisabledAtTheOAuth2Path()
    {
        await using var stack = await FastStack.StartAsync();

        Assert.That(stack.Options.EnableFrontchannelLogout, Is.False);
        Assert.That(stack.Options.FrontchannelLogoutPath, Is.EqualTo("/oauth2/frontchannel-logout"));
    }

    [Test]
    public async Task Settings_PluginKeys_EnableAtTheConfiguredPath()
    {
        await using var stack = await FastStack.StartAsync(("ENABLE_FRONTCHANNEL_LOGOUT", "true"), ("FRONTCHANNEL_LOGOUT_URL", "/logout/fc/"));

        Assert.That(stack.Options.EnableFrontchannelLogout, Is.True);
        Assert.That(stack.Options.FrontchannelLogoutPath, Is.EqualTo("/logout/fc"));
        Assert.That(ForwardAuth.Configuration.PluginKeyNotices.For("enableFrontchannelLogout"), Is.Null, "no 'not implemented' notice");
        Assert.That(ForwardAuth.Configuration.PluginKeyNotices.For("frontchannelLogoutURL"), Is.Null);
    }

    [Test]
    public async Task Exchange_FrontchannelPathOnTheProtectedHost_IsADecisionNotALogout()
    {
        await using var stack = await FastStack.StartAsync(Enabled);
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        var outcome = await stack.NavigateAsync("/oauth2/frontchannel-logout?iss=" + Uri.EscapeDataString(FakeProvider.Issuer) + "&sid=sid-1", cookie);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.Allow>(), "served on ForwardAuth directly, like back-channel logout");
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    private static Task<string> SignInWithSidAsync(FastStack stack, string sub, string sid) =>
        stack.SignInAsync(sub, login => new TokenSet(stack.Provider.IdToken(sub, login.Nonce, c => c["sid"] = sid)));
}
