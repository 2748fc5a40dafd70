using ForwardAuth.Auth;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// <c>claimsFromUserinfo</c>: a provider whose ID tokens carry only <c>sub</c>; userinfo (called with the access token)
/// is merged after the code exchange and after each refresh, and must be about the same <c>sub</c>.
/// </summary>
[TestFixture]
[Category("Fast")]
public class UserinfoClaimsTests
{
    private static readonly (string, string) FromUserinfo = ("CLAIMS_FROM_USERINFO", "true");

    /// <summary>An ID token with nothing but the protocol claims and <c>sub</c>.</summary>
    private static string ThinIdToken(FastStack stack, string sub, string? nonce) =>
        stack.Provider.IdToken(sub, nonce, c =>
        {
            c.Remove("email");
            c.Remove("email_verified");
            c.Remove("groups");
        }, TimeSpan.FromHours(2));

    private static Dictionary<string, object?> Claims(string sub, string email, params string[] groups) =>
        new() { ["sub"] = sub, ["email"] = email, ["email_verified"] = true, ["groups"] = groups };

    private static async Task<SessionRecord> SessionAsync(FastStack stack, string cookie) =>
        ((SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None)).Record;

    [Test]
    public async Task Login_ThinIdToken_UserinfoClaimsMergedIntoTheIdentity()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = token => token == "at-1" ? Claims("alice", "alice@corp.test", "admins") : null;

        var cookie = await stack.SignInAsync("alice", login => new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1"));

        var identity = (await SessionAsync(stack, cookie)).Identity;
        Assert.That(identity.Email, Is.EqualTo("alice@corp.test"));
        Assert.That(identity.Identifier, Is.EqualTo("alice@corp.test"));
        Assert.That(identity.Groups, Is.EqualTo(new[] { "admins" }));
        Assert.That(stack.Provider.UserInfoRequests, Is.EqualTo(new[] { "at-1" }), "called once, with the access token");
    }

    [Test]
    public async Task Login_SettingOff_UserinfoNotCalled_IdentityFromTheIdTokenAlone()
    {
        await using var stack = await FastStack.StartAsync();
        stack.Provider.UserInfo = _ => Claims("alice", "alice@corp.test", "admins");

        var cookie = await stack.SignInAsync("alice", login => new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1"));

        var identity = (await SessionAsync(stack, cookie)).Identity;
        Assert.That(identity.Email, Is.Null);
        Assert.That(identity.Groups, Is.Empty);
        Assert.That(stack.Provider.UserInfoRequests, Is.Empty);
    }

    [Test]
    public async Task Login_UserinfoAboutAnotherSubject_403_NoSession()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = _ => Claims("mallory", "mallory@corp.test", "admins");
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1")));

        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(403));
        Assert.That(failed.Reason, Does.Contain("userinfo answer is about another user"));
    }

    [Test]
    public async Task Login_UserinfoEndpointFails_502()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = _ => null;
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1")));

        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(502));
        Assert.That(failed.Reason, Does.Contain("userinfo endpoint did not answer"));
    }

    [Test]
    public async Task Login_ProviderHasNoUserinfoEndpoint_502NamesIt()
    {
        // Set before the stack starts: its warm-up reads the discovery document in the background at once (setting it
        // afterwards raced that read, and a document with the endpoint could be the one cached).
        var settings = FastStack.DefaultSettings();
        settings[FromUserinfo.Item1] = FromUserinfo.Item2;
        await using var stack = await FastStack.StartAsync(settings, provider => provider.NoUserinfoEndpoint = true);
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1")));

        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(502));
        Assert.That(failed.Reason, Does.Contain("no userinfo_endpoint"));
        Assert.That(stack.Provider.UserInfoRequests, Is.Empty);
    }

    [Test]
    public async Task Refresh_UserinfoCalledWithTheNewAccessToken_ItsClaimsReplaceTheOldOnes()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = token => token == "at-1" ? Claims("alice", "alice@corp.test", "staff") : Claims("alice", "alice@corp.test", "admins", "staff");
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1", "r1", 300));
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, "at-2", "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var refreshed = await SessionAsync(stack, cookie);

        Assert.That(refreshed.AccessToken, Is.EqualTo("at-2"));
        Assert.That(refreshed.Identity.Groups, Is.EqualTo(new[] { "admins", "staff" }), "what userinfo says now");
        Assert.That(refreshed.Identity.Email, Is.EqualTo("alice@corp.test"));
        Assert.That(stack.Provider.UserInfoRequests, Is.EqualTo(new[] { "at-1", "at-2" }));
    }

    [Test]
    public async Task Refresh_UserinfoFails_TokensRefreshed_IdentityKept()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = token => token == "at-1" ? Claims("alice", "alice@corp.test", "staff") : null;
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1", "r1", 300));
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, "at-2", "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var refreshed = await SessionAsync(stack, cookie);

        Assert.That(refreshed.RefreshToken, Is.EqualTo("r2"), "the rotated refresh token is kept");
        Assert.That(refreshed.Identity.Groups, Is.EqualTo(new[] { "staff" }));
    }

    [Test]
    public async Task Refresh_UserinfoAboutAnotherSubject_SessionEnds()
    {
        await using var stack = await FastStack.StartAsync(FromUserinfo);
        stack.Provider.UserInfo = token => token == "at-1" ? Claims("alice", "alice@corp.test", "staff") : Claims("mallory", "mallory@corp.test", "admins");
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(ThinIdToken(stack, "alice", login.Nonce), "at-1", "r1", 300));
        stack.Provider.OnRefresh("r1", () => new TokenSet(null, "at-2", "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(lookup, Is.Not.TypeOf<SessionLookup.Found>());
        Assert.That(await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None), Is.Not.TypeOf<SessionLookup.Found>(), "ended for good");
    }
}
