using ForwardAuth.Auth;
using ForwardAuth.Endpoints;
using ForwardAuth.Oidc;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Tests.Fast;

/// <summary>My sessions: the User-Agent descriptions, and the page's HTML (every value encoded, no script, its headers).</summary>
[TestFixture]
[Category("Fast")]
public class SessionsPageTests
{
    [TestCase("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Linux")]
    [TestCase("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on Android")]
    [TestCase("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge on Windows")]
    [TestCase("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "Safari on macOS")]
    [TestCase("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "Safari on iOS")]
    [TestCase("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", "Chrome (headless) on Linux")]
    [TestCase("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on ChromeOS")]
    [TestCase("curl/8.5.0", "curl")]
    [TestCase("python-requests/2.31.0", "python-requests")]
    [TestCase("<script>alert(1)</script>/1.0", "scriptalert")]
    [TestCase("Mozilla/5.0 (compatible; unknown)", null)]
    [TestCase("", null)]
    [TestCase(null, null)]
    public void Describe_UserAgent_ShortDescription(string? userAgent, string? expected) =>
        Assert.That(UserAgents.Describe(userAgent), Is.EqualTo(expected));

    [Test]
    public void Render_ValuesFromTheUserAndTheLogin_HtmlEncodedNoScript()
    {
        var identity = new UserIdentity("s", "<script>alert('who')</script>", null, null, null, new Dictionary<string, string>());
        var sessions = new[]
        {
            new SessionSummary("id-current", DateTimeOffset.UnixEpoch, null, "<img src=x onerror=alert(1)>", "\"><b>", Current: true, Adopted: false),
            new SessionSummary("id-other", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(1), null, null, Current: false, Adopted: false),
        };

        var html = SessionsPage.Render(new AuthOutcome.SessionsListed(identity, sessions, "csrf-token"), "/oauth2/sessions", "/oauth2/logout", ended: 1);

        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("<img").And.Not.Contain("<b>"));
        Assert.That(html, Does.Contain("&lt;script&gt;").And.Contain("&lt;img src=x onerror=alert(1)&gt;"));
        Assert.That(html, Does.Contain("action=\"/oauth2/sessions?revoke=id-other&amp;csrf=csrf-token\""), "the other session's form");
        Assert.That(html, Does.Not.Contain("revoke=id-current"), "the current session has no end button (logout ends it)");
        Assert.That(html, Does.Contain("revoke=all&amp;csrf=csrf-token"));
        Assert.That(html, Does.Contain("This session").And.Contain("Unknown browser").And.Contain(">unknown<").And.Contain("1 session ended."));
    }

    [Test]
    public void Secure_Headers_NoStoreNoScriptNotFramed()
    {
        var context = new DefaultHttpContext();

        SessionsPage.Secure(context.Response);

        var csp = context.Response.Headers.ContentSecurityPolicy.ToString();
        Assert.That(csp, Does.Contain("default-src 'none'").And.Not.Contain("script-src"));
        Assert.That(csp, Does.Contain("frame-ancestors 'none'"));
        Assert.That(context.Response.Headers.CacheControl.ToString(), Is.EqualTo("no-store"));
    }
}
