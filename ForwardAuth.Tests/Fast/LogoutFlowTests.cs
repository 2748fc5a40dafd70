using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Fast;

/// <summary>RP-initiated logout on the protected host's logout path, and the provider's back-channel logout.</summary>
[TestFixture]
[Category("Fast")]
public class LogoutFlowTests
{
    [Test]
    public async Task Logout_WithSession_SessionEndsAndOldCookieRefused()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();

        var outcome = await LogoutAsync(stack, cookie);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedOut>());
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.Exchange.HandleAsync(Requests.Api("/", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None), Is.TypeOf<AuthOutcome.LoginRequired>());
    }

    [Test]
    public async Task Logout_WithRefreshToken_RefreshTokenRevokedAtProvider()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), null, "refresh-to-revoke"));

        await LogoutAsync(stack, cookie);

        Assert.That(stack.Provider.RevokedTokens, Is.EqualTo(new[] { "refresh-to-revoke" }));
    }

    [Test]
    public async Task Logout_WithoutRefreshToken_NothingRevoked()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();

        await LogoutAsync(stack, cookie);

        Assert.That(stack.Provider.RevokedTokens, Is.Empty);
    }

    [Test]
    public async Task Logout_WithSession_EndSessionUrlWithIdTokenHint()
    {
        await using var stack = await FastStack.StartAsync();
        var idToken = "";
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(idToken = stack.Provider.IdToken("alice", login.Nonce)));

        var outcome = (AuthOutcome.SignedOut)await LogoutAsync(stack, cookie);

        var url = new Uri(outcome.RedirectUrl);
        var query = QueryHelpers.ParseQuery(url.Query);
        Assert.That(url.GetLeftPart(UriPartial.Path), Is.EqualTo(FakeProvider.EndSessionEndpoint));
        Assert.That(query["id_token_hint"].ToString(), Is.EqualTo(idToken));
        Assert.That(query["post_logout_redirect_uri"].ToString(), Is.EqualTo(FastStack.Origin + "/"));
    }

    [TestCase(null)]
    [TestCase("garbage")]
    public async Task Logout_WithoutSession_EndSessionUrlWithoutHint(string? cookie)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = (AuthOutcome.SignedOut)await LogoutAsync(stack, cookie);

        var query = QueryHelpers.ParseQuery(new Uri(outcome.RedirectUrl).Query);
        Assert.That(outcome.RedirectUrl, Does.StartWith(FakeProvider.EndSessionEndpoint));
        Assert.That(query.ContainsKey("id_token_hint"), Is.False);
        Assert.That(stack.Provider.RevokedTokens, Is.Empty);
    }

    [Test]
    public async Task Logout_ConfiguredPostLogoutRedirect_Used()
    {
        await using var stack = await FastStack.StartAsync(("POST_LOGOUT_REDIRECT_URI", "https://www.fast.test/bye"));
        var cookie = await stack.SignInAsync();

        var outcome = (AuthOutcome.SignedOut)await LogoutAsync(stack, cookie);

        Assert.That(QueryHelpers.ParseQuery(new Uri(outcome.RedirectUrl).Query)["post_logout_redirect_uri"].ToString(), Is.EqualTo("https://www.fast.test/bye"));
    }

    [Test]
    public async Task Logout_OneSession_OtherSessionsOfTheUserUnaffected()
    {
        await using var stack = await FastStack.StartAsync();
        var laptop = await stack.SignInAsync("alice");
        var phone = await stack.SignInAsync("alice");

        await LogoutAsync(stack, laptop);

        Assert.That(await stack.NavigateAsync("/", phone), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Logout_AccessTokenOfSession_RevokedForBearerUse()
    {
        // Forwarded to backends (passAuthorizationHeader), the access token is kept and revoked at logout.
        await using var stack = await FastStack.StartAsync(("PASS_AUTHORIZATION_HEADER", "true"));
        var accessToken = stack.Provider.AccessToken("alice");
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), accessToken));

        await LogoutAsync(stack, cookie);

        Assert.That(((AuthOutcome.LoginRequired)await stack.BearerAsync(accessToken)).Reason, Is.EqualTo("token revoked"));
    }

    [Test]
    public async Task Backchannel_ValidToken_EndsEverySessionOfTheSid()
    {
        await using var stack = await FastStack.StartAsync();
        var first = await SignInWithSidAsync(stack, "alice", "sid-shared");
        var second = await SignInWithSidAsync(stack, "alice", "sid-shared");
        var otherSid = await SignInWithSidAsync(stack, "alice", "sid-other");

        var outcome = await stack.Logout.BackchannelAsync(stack.Provider.LogoutToken("sid-shared", "alice"), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BackchannelLoggedOut(2)));
        Assert.That(await stack.NavigateAsync("/", first), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", second), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", otherSid), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Backchannel_SubOnly_EndsEverySessionOfTheUser()
    {
        await using var stack = await FastStack.StartAsync();
        var a = await SignInWithSidAsync(stack, "alice", "sid-1");
        var b = await SignInWithSidAsync(stack, "alice", "sid-2");
        var bob = await SignInWithSidAsync(stack, "bob", "sid-3");

        var outcome = await stack.Logout.BackchannelAsync(stack.Provider.LogoutToken(null, "alice"), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BackchannelLoggedOut(2)));
        Assert.That(await stack.NavigateAsync("/", a), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", b), Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(await stack.NavigateAsync("/", bob), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Backchannel_UnknownSid_AcceptedEndsNothing()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        var outcome = await stack.Logout.BackchannelAsync(stack.Provider.LogoutToken("sid-unknown", null), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BackchannelLoggedOut(0)));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Backchannel_EndedSession_CookieNeverAdoptedAgain()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");

        await stack.Logout.BackchannelAsync(stack.Provider.LogoutToken("sid-1", "alice"), CancellationToken.None);
        var first = await stack.NavigateAsync("/", cookie);
        var second = await stack.NavigateAsync("/", cookie);

        Assert.That(first, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(second, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Backchannel_ReplayedJti_Refused()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.LogoutToken("sid-1", "alice");

        var first = await stack.Logout.BackchannelAsync(token, CancellationToken.None);
        var second = await stack.Logout.BackchannelAsync(token, CancellationToken.None);

        Assert.That(first, Is.TypeOf<AuthOutcome.BackchannelLoggedOut>());
        Assert.That(second, Is.EqualTo(new AuthOutcome.BadRequest("this logout_token was already used")));
    }

    [Test]
    public async Task Backchannel_MissingToken_Refused()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.Logout.BackchannelAsync("", CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BadRequest("no logout_token in a form body")));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("bad_request"));
    }

    [TestCase("garbage", "not a well-formed JWT")]
    [TestCase("id-token", "a logout token carries no nonce")]
    [TestCase("no-event", "no back-channel logout event")]
    [TestCase("events-not-object", "no back-channel logout event")]
    [TestCase("other-event", "no back-channel logout event")]
    [TestCase("no-jti", "no jti")]
    [TestCase("empty-jti", "no jti")]
    [TestCase("neither-sid-nor-sub", "neither sid nor sub")]
    [TestCase("iat-too-old", "iat missing or outside the accepted window")]
    [TestCase("iat-in-future", "token issued in the future")]
    [TestCase("no-iat", "iat missing or outside the accepted window")]
    [TestCase("typ-at+jwt", "typ is not logout+jwt")]
    [TestCase("wrong-audience", "wrong audience")]
    [TestCase("wrong-issuer", "wrong issuer")]
    [TestCase("expired", "token expired")]
    [TestCase("unknown-key", "unknown signing key")]
    [TestCase("tampered", "invalid signature")]
    public async Task Backchannel_InvalidToken_RefusedWithReason(string forgery, string reason)
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInWithSidAsync(stack, "alice", "sid-1");
        var p = stack.Provider;
        var token = forgery switch
        {
            "garbage" => "garbage",
            "id-token" => p.IdToken("alice", "n"),
            "no-event" => p.LogoutToken("sid-1", "alice", c => c.Remove("events")),
            "events-not-object" => p.LogoutToken("sid-1", "alice", c => c["events"] = new[] { FakeProvider.BackchannelEvent }),
            "other-event" => p.LogoutToken("sid-1", "alice", c => c["events"] = new Dictionary<string, object> { ["urn:other"] = new() }),
            "no-jti" => p.LogoutToken("sid-1", "alice", c => c.Remove("jti")),
            "empty-jti" => p.LogoutToken("sid-1", "alice", c => c["jti"] = ""),
            "neither-sid-nor-sub" => p.LogoutToken(null, null),
            "iat-too-old" => p.LogoutToken("sid-1", "alice", c => c["iat"] = p.Now - 7200),
            "iat-in-future" => p.LogoutToken("sid-1", "alice", c => c["iat"] = p.Now + 3600),
            "no-iat" => p.LogoutToken("sid-1", "alice", c => c.Remove("iat")),
            "typ-at+jwt" => p.Sign(LogoutClaims(p), "at+jwt"),
            "wrong-audience" => p.LogoutToken("sid-1", "alice", c => c["aud"] = "another-client"),
            "wrong-issuer" => p.LogoutToken("sid-1", "alice", c => c["iss"] = "https://evil.test"),
            "expired" => p.LogoutToken("sid-1", "alice", c => c["exp"] = p.Now - 120),
            "unknown-key" => p.Sign(LogoutClaims(p), "logout+jwt", FakeProvider.RotatedKey, "key-9"),
            _ => Tamper(p.LogoutToken("sid-1", "alice"), LogoutClaims(p, sid: "sid-everyone")),
        };

        var outcome = await stack.Logout.BackchannelAsync(token, CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(new AuthOutcome.BadRequest(reason)));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>(), "a refused logout token ends nothing");
    }

    [TestCase("logout+jwt")]
    [TestCase("JWT")]
    [TestCase("application/logout+jwt")]
    public async Task Backchannel_AcceptedTyp_Accepted(string typ)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.Logout.BackchannelAsync(stack.Provider.Sign(LogoutClaims(stack.Provider), typ), CancellationToken.None);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.BackchannelLoggedOut>());
    }

    private static Dictionary<string, object?> LogoutClaims(FakeProvider p, string sid = "sid-1") => new()
    {
        ["iss"] = FakeProvider.Issuer, ["aud"] = FakeProvider.ClientId, ["iat"] = p.Now, ["exp"] = p.Now + 120, ["jti"] = Guid.NewGuid().ToString("N"),
        ["sid"] = sid, ["events"] = new Dictionary<string, object> { [FakeProvider.BackchannelEvent] = new Dictionary<string, object>() },
    };

    private static string Tamper(string token, Dictionary<string, object?> payload)
    {
        var parts = token.Split('.');
        return parts[0] + "." + FakeProvider.Segment(payload) + "." + parts[2];
    }

    private static Task<AuthOutcome> LogoutAsync(FastStack stack, string? cookie) =>
        stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", cookie is null ? null : stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

    private static Task<string> SignInWithSidAsync(FastStack stack, string sub, string sid) =>
        stack.SignInAsync(sub, login => new TokenSet(stack.Provider.IdToken(sub, login.Nonce, c => c["sid"] = sid)));
}
