using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>The decision for a protected request: preflight, excluded paths, session cookies and the challenge.</summary>
[TestFixture]
[Category("Fast")]
public class RequestVerifierTests
{
    [Test]
    public async Task Verify_CorsPreflight_AllowedWithoutIdentity()
    {
        await using var stack = await FastStack.StartAsync();
        var request = Requests.Make("OPTIONS", "/api", null, ("Origin", "https://other.test"), ("Access-Control-Request-Method", "PUT"));

        var outcome = await stack.Exchange.HandleAsync(request, PolicyRules.None, CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(Requests.AllowedAnonymously("CORS preflight let through")));
    }

    [Test]
    public async Task Verify_CorsPreflightWhenDisabled_LoginStarted()
    {
        await using var stack = await FastStack.StartAsync(("ALLOW_CORS_PREFLIGHT", "false"));
        var request = Requests.Make("OPTIONS", "/api", null, ("Origin", "https://other.test"), ("Access-Control-Request-Method", "PUT"));

        var outcome = await stack.Exchange.HandleAsync(request, PolicyRules.None, CancellationToken.None);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [TestCase("OPTIONS", "https://other.test", null)]
    [TestCase("OPTIONS", null, "PUT")]
    [TestCase("GET", "https://other.test", "PUT")]
    public async Task Verify_NotAPreflight_NotAllowed(string method, string? origin, string? requestMethod)
    {
        await using var stack = await FastStack.StartAsync();
        var headers = new List<(string, string)>();
        if (origin is not null)
        {
            headers.Add(("Origin", origin));
        }

        if (requestMethod is not null)
        {
            headers.Add(("Access-Control-Request-Method", requestMethod));
        }

        var outcome = await stack.Exchange.HandleAsync(Requests.Make(method, "/api", null, [.. headers]), PolicyRules.None, CancellationToken.None);

        Assert.That(outcome, Is.Not.TypeOf<AuthOutcome.Allow>());
    }

    [TestCase("/public", true)]
    [TestCase("/public/", true)]
    [TestCase("/public/page", true)]
    [TestCase("/public/a/b/c", true)]
    [TestCase("/health", true)]
    [TestCase("//public/x", true)]
    [TestCase("/./public/x", true)]
    [TestCase("/publicity", false)]
    [TestCase("/PUBLIC", false)]
    [TestCase("/", false)]
    [TestCase("/private", false)]
    [TestCase("/public/../admin", false)]
    [TestCase("/public;x=1", false)]
    [TestCase("/public%5cadmin", false)]
    [TestCase("/public%252fadmin", false)]
    [TestCase("/healthz", false)]
    public async Task Verify_ExcludedPath_AllowedOnlyWhenExcluded(string path, bool excluded)
    {
        await using var stack = await FastStack.StartAsync(("EXCLUDED_URLS", "/public,/health"));

        var outcome = await stack.NavigateAsync(path);

        Assert.That(outcome, excluded ? Is.EqualTo(Requests.AllowedAnonymously("excluded path")) : Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_ExcludedPathWithQuery_QueryIgnored()
    {
        await using var stack = await FastStack.StartAsync(("EXCLUDED_URLS", "/public"));

        var allowed = await stack.NavigateAsync("/public/x?next=/admin");
        var challenged = await stack.NavigateAsync("/admin?x=/public");

        Assert.That(allowed, Is.EqualTo(Requests.AllowedAnonymously("excluded path")));
        Assert.That(challenged, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_NoSessionCookie_BrowserSentToLogin()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.NavigateAsync("/page?x=1");

        var redirect = (AuthOutcome.LoginRedirect)outcome;
        Assert.That(redirect.AuthorizeUrl, Does.StartWith(FakeProvider.Issuer + "/authorize?"));
        Assert.That(redirect.Challenged, Is.True);
        Assert.That(redirect.SeeOther, Is.False);
        Assert.That(redirect.BindingCookieName, Does.StartWith("_forwardauth_login_"));
        Assert.That(redirect.BindingValue, Has.Length.GreaterThanOrEqualTo(40));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("challenge"));
    }

    [TestCase("")]
    [TestCase("garbage")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("not base64url!")]
    [TestCase("eyJhbGciOiJub25lIn0.e30.")]
    public async Task Verify_GarbageSessionCookie_BrowserSentToLogin(string cookie)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.NavigateAsync("/", cookie);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_TamperedSessionCookie_BrowserSentToLogin()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync();
        var tampered = cookie[..^4] + (cookie[^4] == 'A' ? 'B' : 'A') + cookie[^3..];

        var outcome = await stack.NavigateAsync("/", tampered);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_CookieOfAnotherDeployment_BrowserSentToLogin()
    {
        await using var other = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", "another-deployment-key-0123456789abcdef"));
        await using var stack = await FastStack.StartAsync();
        var cookie = await other.SignInAsync();

        var outcome = await stack.NavigateAsync("/", cookie);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_ValidSessionCookie_AllowedWithIdentity()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice");

        var outcome = await stack.NavigateAsync("/page", cookie);

        var allow = (AuthOutcome.Allow)outcome;
        Assert.That(allow.Identity!.Subject, Is.EqualTo("alice"));
        Assert.That(allow.Identity.Email, Is.EqualTo("alice@example.com"));
        Assert.That(allow.Identity.Identifier, Is.EqualTo("alice@example.com"));
        Assert.That(allow.Identity.Groups, Is.EqualTo(new[] { "staff" }));
        Assert.That(allow.AccessToken, Is.Null, "no token is forwarded: the session keeps no access token, a decision reads none");
        Assert.That(allow.ReissuedSessionCookie, Is.Null);
    }

    [Test]
    public async Task Verify_SessionPastMaxAge_BrowserSentToLogin()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_MAX_AGE", "3600"));
        var cookie = await stack.SignInAsync();

        stack.Time.Advance(TimeSpan.FromMinutes(59));
        var before = await stack.NavigateAsync("/", cookie);
        stack.Time.Advance(TimeSpan.FromMinutes(1));
        var after = await stack.NavigateAsync("/", cookie);

        Assert.That(before, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(after, Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [TestCase(9, true)]
    [TestCase(10, true)]
    [TestCase(11, false)]
    [TestCase(30, false)]
    public async Task Verify_IdleTimeout_EndsSessionAfterIdleMinutes(int idleMinutes, bool allowed)
    {
        await using var stack = await FastStack.StartAsync(("SESSION_IDLE_TIMEOUT", "600"), ("SESSION_ACTIVITY_INTERVAL", "60"));
        var cookie = await stack.SignInAsync();

        stack.Time.Advance(TimeSpan.FromMinutes(idleMinutes));
        var outcome = await stack.NavigateAsync("/", cookie);

        Assert.That(outcome, allowed ? Is.TypeOf<AuthOutcome.Allow>() : Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task Verify_IdleTimeoutWithRegularActivity_SessionLivesOn()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_IDLE_TIMEOUT", "600"), ("SESSION_ACTIVITY_INTERVAL", "60"));
        var cookie = await stack.SignInAsync();

        for (var i = 0; i < 6; i++)
        {
            stack.Time.Advance(TimeSpan.FromMinutes(8));
            Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>(), $"after {(i + 1) * 8} minutes");
        }
    }

    [Test]
    public async Task Verify_IdleExpiredSession_StaysEndedWhenActiveAgain()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_IDLE_TIMEOUT", "600"));
        var cookie = await stack.SignInAsync();

        stack.Time.Advance(TimeSpan.FromMinutes(11));
        var ended = await stack.NavigateAsync("/", cookie);
        var again = await stack.NavigateAsync("/", cookie);

        Assert.That(ended, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(again, Is.TypeOf<AuthOutcome.LoginRedirect>(), "an idle-ended cookie is never adopted again");
    }

    [TestCase("GET", "navigate", "text/html", null, false)]
    [TestCase("HEAD", "navigate", "text/html", null, false)]
    [TestCase("GET", null, "text/html", null, false)]
    [TestCase("GET", null, "*/*", null, false)]
    [TestCase("GET", null, null, null, false)]
    [TestCase("POST", "navigate", "text/html", null, true)]
    [TestCase("PUT", null, "text/html", null, true)]
    [TestCase("DELETE", null, null, null, true)]
    public async Task Verify_UnauthenticatedBrowser_RedirectedWithStatusByMethod(string method, string? fetchMode, string? accept, string? requestedWith, bool seeOther)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.Exchange.HandleAsync(Request(method, fetchMode, accept, requestedWith), PolicyRules.None, CancellationToken.None);

        var redirect = (AuthOutcome.LoginRedirect)outcome;
        Assert.That(redirect.SeeOther, Is.EqualTo(seeOther));
        Assert.That(redirect.Challenged, Is.True);
    }

    [TestCase("GET", "cors", "*/*", null)]
    [TestCase("GET", "no-cors", "text/html", null)]
    [TestCase("GET", "same-origin", null, null)]
    [TestCase("GET", null, "application/json", null)]
    [TestCase("GET", null, "application/problem+json", null)]
    [TestCase("POST", null, "application/json", null)]
    [TestCase("GET", null, "text/html", "XMLHttpRequest")]
    [TestCase("GET", "navigate", "text/html", "XMLHttpRequest")]
    public async Task Verify_UnauthenticatedApiCall_401WithLoginUrl(string method, string? fetchMode, string? accept, string? requestedWith)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.Exchange.HandleAsync(Request(method, fetchMode, accept, requestedWith, "/api/items?page=2"), PolicyRules.None, CancellationToken.None);

        var required = (AuthOutcome.LoginRequired)outcome;
        Assert.That(required.InvalidToken, Is.False);
        Assert.That(required.Reason, Is.EqualTo("no session"));
        Assert.That(required.LoginUrl, Is.EqualTo(FastStack.Origin + "/oauth2/start?rd=%2Fapi%2Fitems%3Fpage%3D2"));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("unauthorized"));
    }

    [Test]
    public async Task Verify_ChallengedNavigation_ReturnsToTheRequestedPageAfterLogin()
    {
        await using var stack = await FastStack.StartAsync();
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/deep/page?tab=2");
        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        var login = new LoginAttempt(redirect, state, nonce, redirect.BindingCookieName + "=" + redirect.BindingValue);

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", nonce))));

        Assert.That(((AuthOutcome.SignedIn)outcome).ReturnUrl, Is.EqualTo(FastStack.Origin + "/deep/page?tab=2"));
    }

    [Test]
    public async Task Verify_SessionSealedWithOlderKey_AllowedAndCookieReissuedUnderCurrentKey()
    {
        const string oldKey = "the-previous-session-key-0123456789abcdef";
        await using var before = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", oldKey));
        var oldCookie = await before.SignInAsync("alice");
        await using var stack = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", FastStack.EncryptionKey + "," + oldKey));

        var outcome = await stack.NavigateAsync("/", oldCookie);
        var reissued = ((AuthOutcome.Allow)outcome).ReissuedSessionCookie;
        var withNewCookie = await stack.NavigateAsync("/", reissued);
        await using var withoutOldKey = await FastStack.StartAsync();
        var cookieOpens = withoutOldKey.Services.GetRequiredService<ForwardAuth.Sessions.SessionCookie>().TryOpen(reissued);

        Assert.That(reissued, Is.Not.Null.And.Not.EqualTo(oldCookie));
        Assert.That(((AuthOutcome.Allow)withNewCookie).ReissuedSessionCookie, Is.Null);
        Assert.That(((AuthOutcome.Allow)withNewCookie).Identity!.Subject, Is.EqualTo("alice"));
        Assert.That(cookieOpens?.Subject, Is.EqualTo("alice"), "sealed under the current key alone");
    }

    [Test]
    public async Task Verify_CookieOfRemovedKey_BrowserSentToLogin()
    {
        const string oldKey = "the-previous-session-key-0123456789abcdef";
        await using var before = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", oldKey));
        var oldCookie = await before.SignInAsync();
        await using var stack = await FastStack.StartAsync();

        Assert.That(await stack.NavigateAsync("/", oldCookie), Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    private static AuthRequest Request(string method, string? fetchMode, string? accept, string? requestedWith, string path = "/page")
    {
        var headers = new List<(string, string)>();
        if (fetchMode is not null)
        {
            headers.Add(("Sec-Fetch-Mode", fetchMode));
        }

        if (accept is not null)
        {
            headers.Add(("Accept", accept));
        }

        if (requestedWith is not null)
        {
            headers.Add(("X-Requested-With", requestedWith));
        }

        return Requests.Make(method, path, null, [.. headers]);
    }
}
