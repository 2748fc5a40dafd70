using System.Net;
using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Fast;

/// <summary>The authorization code flow: start, callback, and every way a callback is refused.</summary>
[TestFixture]
[Category("Fast")]
public class LoginFlowTests
{
    [Test]
    public async Task Start_AuthorizeUrl_CarriesCodeFlowWithPkceStateAndNonce()
    {
        await using var stack = await FastStack.StartAsync();

        var login = await stack.StartLoginAsync();

        var query = QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query);
        Assert.That(login.Redirect.AuthorizeUrl, Does.StartWith(FakeProvider.Issuer + "/authorize?"));
        Assert.That(query["client_id"].ToString(), Is.EqualTo(FakeProvider.ClientId));
        Assert.That(query["response_type"].ToString(), Is.EqualTo("code"));
        Assert.That(query["redirect_uri"].ToString(), Is.EqualTo(FastStack.Origin + "/oauth2/callback"));
        Assert.That(query["scope"].ToString().Split(' '), Does.Contain("openid"));
        Assert.That(query["code_challenge_method"].ToString(), Is.EqualTo("S256"));
        Assert.That(query["code_challenge"].ToString(), Has.Length.EqualTo(43));
        Assert.That(login.State, Has.Length.GreaterThanOrEqualTo(43));
        Assert.That(login.Nonce, Has.Length.GreaterThanOrEqualTo(43));
        Assert.That(login.Redirect.BindingLifetime, Is.EqualTo(TimeSpan.FromMinutes(10)));
    }

    [Test]
    public async Task Start_TwoLogins_DifferentStateNonceAndBinding()
    {
        await using var stack = await FastStack.StartAsync();

        var a = await stack.StartLoginAsync();
        var b = await stack.StartLoginAsync();

        Assert.That(a.State, Is.Not.EqualTo(b.State));
        Assert.That(a.Nonce, Is.Not.EqualTo(b.Nonce));
        Assert.That(a.Redirect.BindingCookieName, Is.Not.EqualTo(b.Redirect.BindingCookieName));
        Assert.That(a.Redirect.BindingValue, Is.Not.EqualTo(b.Redirect.BindingValue));
    }

    [Test]
    public async Task Start_AbsoluteCallbackUrl_UsedAsRedirectUri()
    {
        await using var stack = await FastStack.StartAsync(("CALLBACK_URL", "https://auth.fast.test/oauth2/callback"));

        var login = await stack.StartLoginAsync();

        var query = QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query);
        Assert.That(query["redirect_uri"].ToString(), Is.EqualTo("https://auth.fast.test/oauth2/callback"));
    }

    [Test]
    public async Task Callback_Success_SignedInAndCookieWorksAtOnce()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync("/return?x=1");
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice"), "refresh-1"));

        var outcome = await stack.CallbackAsync(login, code);

        var signedIn = (AuthOutcome.SignedIn)outcome;
        Assert.That(signedIn.ReturnUrl, Is.EqualTo(FastStack.Origin + "/return?x=1"));
        Assert.That(signedIn.BindingCookieName, Is.EqualTo(login.Redirect.BindingCookieName));
        Assert.That(outcome.DecisionLabel, Is.Null);
        var allow = (AuthOutcome.Allow)await stack.NavigateAsync("/", signedIn.SessionCookie);
        Assert.That(allow.Identity!.Subject, Is.EqualTo("alice"));
    }

    [Test]
    public async Task Callback_CodeExchange_SendsCodeVerifierAndRedirectUri()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce)));

        await stack.CallbackAsync(login, code);

        var form = stack.Provider.TokenRequests.Single();
        Assert.That(form["grant_type"], Is.EqualTo("authorization_code"));
        Assert.That(form["code"], Is.EqualTo(code));
        Assert.That(form["redirect_uri"], Is.EqualTo(FastStack.Origin + "/oauth2/callback"));
        Assert.That(form["code_verifier"], Has.Length.GreaterThanOrEqualTo(43));
    }

    [Test]
    public async Task Callback_UnknownState_403()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login with { State = "not-a-state-we-issued" }, "code");

        AssertFailed(outcome, 403, "expired or was already used");
    }

    [TestCase("")]
    [TestCase(null)]
    public async Task Callback_NoState_400(string? state)
    {
        await using var stack = await FastStack.StartAsync();
        var query = state is null ? "?code=x" : "?state=&code=x";

        var outcome = await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/callback" + query), PolicyRules.None, CancellationToken.None);

        AssertFailed(outcome, 400, "no state");
    }

    [Test]
    public async Task Callback_OverlongState_400()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        AssertFailed(await stack.CallbackAsync(login with { State = new string('a', 201) }, "code"), 400, "no state");
    }

    [Test]
    public async Task Callback_RepeatedStateParameter_400()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var query = "?state=" + login.State + "&state=" + login.State + "&code=x";

        var outcome = await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/callback" + query, login.BindingCookie), PolicyRules.None, CancellationToken.None);

        AssertFailed(outcome, 400, "no state");
    }

    [Test]
    public async Task Callback_StateReplayed_SecondRefused()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var first = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce))));

        var second = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce))));

        Assert.That(first, Is.TypeOf<AuthOutcome.SignedIn>());
        AssertFailed(second, 403, "already used");
        Assert.That(stack.Provider.TokenRequests, Has.Count.EqualTo(1), "a replayed state never reaches the token endpoint");
    }

    [Test]
    public async Task Callback_StateExpired_403()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        stack.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce))));

        AssertFailed(outcome, 403, "expired");
    }

    [TestCase("no-cookie")]
    [TestCase("wrong-value")]
    [TestCase("other-login-cookie")]
    [TestCase("empty-value")]
    public async Task Callback_OtherBrowser_403AndStateNotBurned(string browser)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var other = await stack.StartLoginAsync();
        var cookie = browser switch
        {
            "no-cookie" => "unrelated=1",
            "wrong-value" => login.Redirect.BindingCookieName + "=" + other.Redirect.BindingValue,
            "other-login-cookie" => other.BindingCookie,
            _ => login.Redirect.BindingCookieName + "=",
        };
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce)));

        var stolen = await stack.CallbackAsync(login, code, cookie);
        var genuine = await stack.CallbackAsync(login, code);

        AssertFailed(stolen, 403, "another browser");
        Assert.That(genuine, Is.TypeOf<AuthOutcome.SignedIn>(), "the starting browser can still finish its login");
    }

    [TestCase("access_denied")]
    [TestCase("login_required")]
    [TestCase("interaction_required")]
    public async Task Callback_ProviderError_403WithTheError(string error)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, null, error: error);

        AssertFailed(outcome, 403, "the provider refused the login: " + error);
        Assert.That(stack.Provider.TokenRequests, Is.Empty);
    }

    [Test]
    public async Task Callback_ProviderErrorWithMarkup_ReasonIsPrintable()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        var outcome = (AuthOutcome.SignInFailed)await stack.CallbackAsync(login, null, error: "<script>alert(1)</script>&\u0001" + new string('x', 300));

        Assert.That(outcome.Reason, Does.Not.Contain("<").And.Not.Contain(">").And.Not.Contain("&").And.Not.Contain("\u0001"));
        Assert.That(outcome.Reason.Length, Is.LessThan(160));
    }

    [Test]
    public async Task Callback_MissingCode_400()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        AssertFailed(await stack.CallbackAsync(login, null), 400, "no code");
    }

    [TestCase("nonce-mismatch", "nonce does not match the login")]
    [TestCase("no-nonce", "nonce does not match the login")]
    [TestCase("wrong-audience", "wrong audience")]
    [TestCase("wrong-issuer", "wrong issuer")]
    [TestCase("expired", "token expired")]
    [TestCase("azp-other-client", "azp is not this client")]
    [TestCase("two-audiences-no-azp", "azp is not this client")]
    [TestCase("no-subject", "token has no subject")]
    [TestCase("unsigned", "")]
    public async Task Callback_InvalidIdToken_403WithReason(string forgery, string reason)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var p = stack.Provider;
        var idToken = forgery switch
        {
            "nonce-mismatch" => p.IdToken("alice", "another-login's-nonce"),
            "no-nonce" => p.IdToken("alice", null),
            "wrong-audience" => p.IdToken("alice", login.Nonce, c => c["aud"] = "another-client"),
            "wrong-issuer" => p.IdToken("alice", login.Nonce, c => c["iss"] = "https://evil.test"),
            "expired" => p.IdToken("alice", login.Nonce, c => c["exp"] = p.Now - 120),
            "azp-other-client" => p.IdToken("alice", login.Nonce, c => c["azp"] = "another-client"),
            "two-audiences-no-azp" => p.IdToken("alice", login.Nonce, c => c["aud"] = new[] { FakeProvider.ClientId, "another-client" }),
            "no-subject" => p.IdToken("alice", login.Nonce, c => c.Remove("sub")),
            _ => string.Join('.', p.IdToken("alice", login.Nonce).Split('.')[..2]) + ".",
        };

        var outcome = await stack.CallbackAsync(login, p.IssueCode(new TokenSet(idToken)));

        AssertFailed(outcome, 403, "the ID token is not valid: " + reason);
    }

    [Test]
    public async Task Callback_TwoAudiencesWithAzpOfThisClient_SignedIn()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var idToken = stack.Provider.IdToken("alice", login.Nonce, c => (c["aud"], c["azp"]) = (new[] { FakeProvider.ClientId, "api" }, FakeProvider.ClientId));

        Assert.That(await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(idToken))), Is.TypeOf<AuthOutcome.SignedIn>());
    }

    [Test]
    public async Task Callback_IdTokenJtiReplayed_403()
    {
        await using var stack = await FastStack.StartAsync();
        var first = await stack.StartLoginAsync();
        var second = await stack.StartLoginAsync();
        const string jti = "the-same-jti";

        var a = await stack.CallbackAsync(first, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", first.Nonce, c => c["jti"] = jti))));
        var b = await stack.CallbackAsync(second, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", second.Nonce, c => c["jti"] = jti))));

        Assert.That(a, Is.TypeOf<AuthOutcome.SignedIn>());
        AssertFailed(b, 403, "already used (replay)");
    }

    [Test]
    public async Task Callback_IdTokenJtiReplayedWithDetectionDisabled_SignedIn()
    {
        await using var stack = await FastStack.StartAsync(("DISABLE_REPLAY_DETECTION", "true"));
        var first = await stack.StartLoginAsync();
        var second = await stack.StartLoginAsync();

        var a = await stack.CallbackAsync(first, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", first.Nonce, c => c["jti"] = "j"))));
        var b = await stack.CallbackAsync(second, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", second.Nonce, c => c["jti"] = "j"))));

        Assert.That(a, Is.TypeOf<AuthOutcome.SignedIn>());
        Assert.That(b, Is.TypeOf<AuthOutcome.SignedIn>());
    }

    [TestCase(HttpStatusCode.BadRequest, "{\"error\":\"invalid_grant\"}", 403)]
    [TestCase(HttpStatusCode.Unauthorized, "{\"error\":\"invalid_client\"}", 502)]
    [TestCase(HttpStatusCode.BadRequest, "{\"error\":\"invalid_request\",\"error_description\":\"bad\"}", 403)]
    [TestCase(HttpStatusCode.OK, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}", 403)]
    [TestCase(HttpStatusCode.InternalServerError, "<html>oops</html>", 502)]
    [TestCase(HttpStatusCode.BadGateway, "", 502)]
    [TestCase(HttpStatusCode.ServiceUnavailable, "unavailable", 502)]
    public async Task Callback_TokenEndpointAnswer_RefusalIs403TransportFailureIs502(HttpStatusCode status, string body, int expected)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        stack.Provider.TokenAnswer = (status, body);

        var outcome = await stack.CallbackAsync(login, "any-code");
        if (body.Contains("invalid_grant", StringComparison.Ordinal))
        {
            // A voided code starts the login once more (a fresh state); the second refusal is the 403.
            outcome = await stack.CallbackAsync(Retried(outcome), "any-code");
        }

        AssertFailed(outcome, expected, "the provider did not accept the login");
    }

    [Test]
    public async Task Callback_TokenEndpointUnreachable_502()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        stack.Provider.TokenEndpointDown = true;

        AssertFailed(await stack.CallbackAsync(login, "any-code"), 502, "the provider did not accept the login");
    }

    [Test]
    public async Task Callback_CodeUnknownToProvider_403()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        var first = await stack.CallbackAsync(login, "never-issued");

        AssertFailed(await stack.CallbackAsync(Retried(first), "never-issued"), 403, "invalid_grant");
    }

    [Test]
    public async Task Callback_OnAbsoluteCallbackDeployment_ProtectedHostPathIsJustAPage()
    {
        await using var stack = await FastStack.StartAsync(("CALLBACK_URL", "https://auth.fast.test/oauth2/callback"));

        var outcome = await stack.NavigateAsync("/oauth2/callback?state=x&code=y");

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(((AuthOutcome.LoginRedirect)outcome).Challenged, Is.True);
    }

    [TestCase("/", "/")]
    [TestCase("/page", "/page")]
    [TestCase("/page?a=1&b=2", "/page?a=1&b=2")]
    [TestCase("/a/b/../c", "/a/c")]
    [TestCase("//evil.test", "/")]
    [TestCase("//evil.test/path", "/")]
    [TestCase("/\\evil.test", "/")]
    [TestCase("\\\\evil.test", "/")]
    [TestCase("https://evil.test/", "/")]
    [TestCase("http://app.fast.test/x", "/")]
    [TestCase("https://app.fast.test.evil.test/", "/")]
    [TestCase("https://user@app.fast.test/", "/")]
    [TestCase("javascript:alert(1)", "/")]
    [TestCase("data:text/html,x", "/")]
    [TestCase("evil.test", "/")]
    [TestCase("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x")]
    [TestCase("/ space", "/")]
    [TestCase("", "/")]
    [TestCase(null, "/")]
    public async Task Start_RdWithoutCookieDomain_OnlyLocalPathsKept(string? rd, string expectedPath)
    {
        await using var stack = await FastStack.StartAsync();

        var returnUrl = await ReturnUrlAfterLoginAsync(stack, rd);

        Assert.That(returnUrl, Is.EqualTo(FastStack.Origin + expectedPath));
    }

    [TestCase("https://other.fast.test/p", "https://other.fast.test/p")]
    [TestCase("https://fast.test/", "https://fast.test/")]
    [TestCase("http://a.b.fast.test/x?y=1", "http://a.b.fast.test/x?y=1")]
    [TestCase("https://FAST.TEST/", "https://fast.test/")]
    [TestCase("https://evilfast.test/", FastStack.Origin + "/")]
    [TestCase("https://fast.test.evil.test/", FastStack.Origin + "/")]
    [TestCase("https://user:pw@other.fast.test/", FastStack.Origin + "/")]
    [TestCase("ftp://other.fast.test/", FastStack.Origin + "/")]
    [TestCase("//other.fast.test/", FastStack.Origin + "/")]
    [TestCase("/local", FastStack.Origin + "/local")]
    public async Task Start_RdWithCookieDomain_HostsUnderTheDomainKept(string rd, string expected)
    {
        await using var stack = await FastStack.StartAsync(("COOKIE_DOMAIN", "fast.test"));

        Assert.That(await ReturnUrlAfterLoginAsync(stack, rd), Is.EqualTo(expected));
    }

    [Test]
    public async Task Start_LoginPath_StartsAnUnchallengedLogin()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.NavigateAsync("/oauth2/start?rd=%2Fx");

        var redirect = (AuthOutcome.LoginRedirect)outcome;
        Assert.That(redirect.Challenged, Is.False);
        Assert.That(redirect.SeeOther, Is.False);
        Assert.That(outcome.DecisionLabel, Is.Null);
    }

    private static async Task<string> ReturnUrlAfterLoginAsync(FastStack stack, string? rd)
    {
        var path = rd is null ? "/oauth2/start" : "/oauth2/start?rd=" + Uri.EscapeDataString(rd);
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync(path);
        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        var login = new LoginAttempt(redirect, state, nonce, redirect.BindingCookieName + "=" + redirect.BindingValue);
        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", nonce))));
        return ((AuthOutcome.SignedIn)outcome).ReturnUrl;
    }

    /// <summary>The login that an <c>invalid_grant</c> at the callback started once more (a new state and binding).</summary>
    private static LoginAttempt Retried(AuthOutcome outcome)
    {
        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>(), "the first invalid_grant restarts the login: " + outcome);
        var redirect = (AuthOutcome.LoginRedirect)outcome;
        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        return new LoginAttempt(redirect, state, nonce, redirect.BindingCookieName + "=" + redirect.BindingValue);
    }

    private static void AssertFailed(AuthOutcome outcome, int status, string reasonPart)
    {
        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>(), outcome.ToString());
        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(status), failed.Reason);
        Assert.That(failed.Reason, Does.Contain(reasonPart));
    }
}
