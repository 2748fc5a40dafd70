using System.Net;
using System.Text;
using ForwardAuth.Tests.Support;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// Open redirects: after a login the browser goes back only to the host the login started from, whatever the original
/// URI or an explicit <c>/oauth2/start?rd=</c> says — slashes and backslashes, whitespace and control characters
/// between them, userinfo, look-alike and IDN hosts, <c>javascript:</c>/<c>data:</c>, nested redirects, CR/LF meant
/// to split the <c>Location</c> header. Each target is walked through a real login on the real provider.
/// </summary>
[TestFixture]
public class RedirectTests
{
    private const string Site = "http://app.test/";

    private ForwardAuthInstance _cookieDomain = null!;

    [OneTimeSetUp]
    public async Task StartCookieDomainReplica() =>
        _cookieDomain = await StartReplicaAsync(new Dictionary<string, string> { ["COOKIE_DOMAIN"] = "app.test" });

    [OneTimeTearDown]
    public async Task StopCookieDomainReplica() => await _cookieDomain.DisposeAsync();

    internal static readonly string[] HostileTargets =
    [
        // slashes and backslashes
        "//evil.example", "//evil.example/path", "///evil.example", "////evil.example", "/\\evil.example", "\\/evil.example",
        "/\\/evil.example", "\\\\evil.example", "/%2F%2Fevil.example", "/%2f/evil.example", "/%5C%5Cevil.example", "/%5Cevil.example",
        "//evil.example\\@app.test", "/.evil.example", "/..//evil.example", "/%2e%2e//evil.example",
        // whitespace and control characters between them
        "/%09/evil.example", "/%0d%0a/evil.example", "/ /evil.example", "/\t/evil.example", "/\r\n/evil.example", "/\u0000//evil.example",
        "/%00//evil.example", " //evil.example", "\t//evil.example", "/\u2028//evil.example", "/%E2%80%A8//evil.example",
        // absolute URLs and userinfo
        "https://evil.example", "http://evil.example/", "http:evil.example", "https:/evil.example", "//app.test@evil.example",
        "/@evil.example", "https://app.test@evil.example/", "http://evil.example@app.test/", "http://app.test:80@evil.example",
        "http://evil.example%23@app.test/", "http://127.0.0.1:1/", "file:///etc/passwd",
        // look-alike and IDN hosts
        "http://app.test.evil.example/", "http://evil.example/app.test", "http://app-test.example/", "http://\u0430pp.test/",
        "http://xn--pp-7ka.test/", "http://app.test%2eevil.example/", "http://\uff41pp.test/",
        // scripts and data
        "javascript:alert(1)", "JavaScript:alert(document.cookie)", "javascript://app.test/%0aalert(1)", "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
        // nested redirects
        "/oauth2/start?rd=https://evil.example", "/oauth2/start?rd=%2F%2Fevil.example", "/oauth2/callback?state=x&code=y",
        "/oauth2/logout?rd=https://evil.example",
        // CR/LF in Location
        "/x%0d%0aLocation:%20https://evil.example", "/x\r\nSet-Cookie: pwned=1", "/x%0aSet-Cookie:%20pwned=1", "/x\rLocation: https://evil.example",
    ];

    public static IEnumerable<TestCaseData> Targets() => HostileTargets.Select(t => new TestCaseData(t).SetArgDisplayNames(Printable(t)));

    private static string Printable(string s) => new StringBuilder().AppendJoin("", s.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString())).ToString();

    /// <summary>The target as a request line would carry it: control characters, spaces and non-ASCII percent-encoded.</summary>
    private static string AsRequestTarget(string target)
    {
        var path = target.StartsWith('/') ? target : "/" + target;
        return string.Concat(path.Select(c => c is <= ' ' or > '~' ? Uri.EscapeDataString(c.ToString()) : c.ToString()));
    }

    private static string RawLocation(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Location", out var values) ? values.Single() : "";

    /// <summary>
    /// Whatever the answer, it sends the browser nowhere but the provider's login, its end-session page (returning to
    /// the site) or the site itself, and never with a control character in a header.
    /// </summary>
    private static void AssertSafeAnswer(HttpResponseMessage response)
    {
        Assert.That((int)response.StatusCode, Is.LessThan(500));
        var location = RawLocation(response);
        if (location.StartsWith(Provider.Issuer + "/session/end", StringComparison.Ordinal))
        {
            Assert.That(ForwardAuthClient.Query(new Uri(location).PathAndQuery)["post_logout_redirect_uri"], Is.EqualTo(Site));
        }
        else if (location.Length > 0)
        {
            Assert.That(location, Does.StartWith(Site).Or.StartWith(Provider.Issuer + "/auth?"));
        }

        if (response.Headers.TryGetValues("X-Auth-Redirect", out var loginUrls))
        {
            Assert.That(loginUrls.Single(), Does.StartWith(Site + "oauth2/start?rd=%2F"));
        }

        foreach (var header in response.Headers)
        {
            Assert.That(header.Value, Has.None.Matches("[\\x00-\\x1f\\x7f]"), header.Key);
        }
    }

    private static void AssertStaysOnTheSite(HttpResponseMessage done)
    {
        Assert.That((int)done.StatusCode, Is.EqualTo(302), "the login completes");
        var location = RawLocation(done);
        Assert.Multiple(() =>
        {
            Assert.That(location, Does.StartWith(Site), "the browser returns to the protected host, scheme and port");
            Assert.That(location.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)), Is.False, "no whitespace or control character in Location");
            Assert.That(done.Headers.Contains("X-Injected"), Is.False);
            var cookies = done.Headers.TryGetValues("Set-Cookie", out var set) ? set.ToList() : [];
            Assert.That(cookies, Has.None.Contain("pwned"));
        });
    }

    [TestCaseSource(nameof(Targets))]
    public async Task OriginalUri_HostileTarget_LoginReturnsToTheProtectedHost(string target)
    {
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", AsRequestTarget(target), ForwardAuthClient.Navigation);
        AssertSafeAnswer(challenge);
        if (!RawLocation(challenge).StartsWith(Provider.Issuer + "/auth?", StringComparison.Ordinal))
        {
            return; // refused outright (400), or one of ForwardAuth's own paths answered safely
        }

        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        AssertStaysOnTheSite(done);
    }

    [TestCaseSource(nameof(Targets))]
    public async Task LoginRd_HostileTarget_LoginReturnsToTheProtectedHost(string target)
    {
        using var client = new ForwardAuthClient();
        using var start = await client.AuthAsync(A, "GET", "/oauth2/start?rd=" + Uri.EscapeDataString(target), ForwardAuthClient.Navigation);
        Assert.That(RawLocation(start), Does.StartWith(Provider.Issuer + "/auth?"));
        var callback = await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice");

        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        AssertStaysOnTheSite(done);
    }

    [TestCaseSource(nameof(Targets))]
    public async Task ApiChallenge_HostileTarget_LoginUrlStaysOnTheProtectedHost(string target)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", AsRequestTarget(target), r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));

        AssertSafeAnswer(response);
        if (!target.Contains("oauth2/", StringComparison.Ordinal))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(401).Or.EqualTo(400));
        }
    }

    [TestCase("/oauth2/start?rd=https%3A%2F%2Fevil.example", "/oauth2/start?rd=https%3A%2F%2Fevil.example")]
    [TestCase("/oauth2/start?rd=%2F%2Fevil.example", "/oauth2/start?rd=%2F%2Fevil.example")]
    public async Task NestedStart_FollowedToTheEnd_NeverLeavesTheSite(string first, string expectedReturn)
    {
        using var client = new ForwardAuthClient();
        using var start = await client.AuthAsync(A, "GET", "/oauth2/start?rd=" + Uri.EscapeDataString(first), ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice");
        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        Assert.That(RawLocation(done), Is.EqualTo("http://app.test" + expectedReturn));

        // The browser follows it: a second login whose own rd is hostile ends on the site's root.
        using var second = await client.AuthAsync(A, "GET", expectedReturn, ForwardAuthClient.Navigation);
        var secondCallback = await client.ProviderRoundTripAsync(second.Headers.Location!.AbsoluteUri, "alice");
        using var end = await client.AuthAsync(B, "GET", secondCallback, ForwardAuthClient.Navigation);

        Assert.That(RawLocation(end), Is.EqualTo(Site));
    }

    [TestCase("/oauth2/logout?rd=https%3A%2F%2Fevil.example")]
    [TestCase("/oauth2/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.example")]
    [TestCase("/oauth2/logout?redirect_uri=%2F%2Fevil.example")]
    public async Task Logout_WithRedirectParameters_ProviderSendsBackToTheConfiguredPlace(string uri)
    {
        using var client = await Attack.LoggedInAsync("alice");

        using var logout = await client.AuthAsync(A, "GET", uri, ForwardAuthClient.Navigation);

        var location = RawLocation(logout);
        Assert.That(location, Does.StartWith(Provider.Issuer + "/session/end"));
        Assert.That(ForwardAuthClient.Query(new Uri(location).PathAndQuery)["post_logout_redirect_uri"], Is.EqualTo(Site));
    }

    [TestCase("https://shop.app.test/cart", "https://shop.app.test/cart")]
    [TestCase("http://app.test/x", "http://app.test/x")]
    [TestCase("HTTPS://SHOP.APP.TEST/", "https://shop.app.test/")]
    [TestCase("https://app.test.evil.example/", Site)]
    [TestCase("https://evilapp.test/", Site)]
    [TestCase("https://shop.app.test@evil.example/", Site)]
    [TestCase("https://evil.example@shop.app.test/", Site)]
    [TestCase("https://evil.example\\.app.test/", Site)]
    [TestCase("https://evil.example#.app.test", Site)]
    [TestCase("https://evil.example?.app.test", Site)]
    [TestCase("https://evil.example%2f.app.test/", Site)]
    [TestCase("https://\u0430pp.test/", Site)]
    [TestCase("https://xn--\u00e9.app.test/", Site)]
    [TestCase("http://xn--\u00e9/", Site)]
    [TestCase("//\u200e", Site)]
    [TestCase("/\\\u200e", Site)]
    [TestCase("\\\\\u202c", Site)]
    [TestCase("https://b\u00fccher.app.test/", Site)]
    [TestCase("javascript://shop.app.test/%0aalert(1)", Site)]
    [TestCase("ftp://shop.app.test/", Site)]
    [TestCase("https://shop.app.test /", Site)]
    [TestCase("https://shop.app.test/\r\nSet-Cookie:x=1", Site)]
    public async Task CookieDomain_AbsoluteRd_OnlyHostsUnderTheCookieDomain(string rd, string expected)
    {
        using var client = new ForwardAuthClient();
        using var start = await client.AuthAsync(_cookieDomain, "GET", "/oauth2/start?rd=" + Uri.EscapeDataString(rd), ForwardAuthClient.Navigation);
        Assert.That(RawLocation(start), Does.StartWith(Provider.Issuer + "/auth?"), "no server error for any rd");
        var callback = await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice");

        using var done = await client.AuthAsync(_cookieDomain, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(RawLocation(done), Is.EqualTo(expected));
    }

    [TestCase("/x\r\nSet-Cookie: pwned=1")]
    [TestCase("//evil.example")]
    public async Task CallbackFailurePage_HostileState_LinksOnlyToTheSite(string state)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/oauth2/callback?code=x&state=" + Uri.EscapeDataString(state), ForwardAuthClient.Navigation);
        var page = await response.Content.ReadAsStringAsync();

        Assert.That((int)response.StatusCode, Is.AnyOf(400, 403));
        Assert.That(page, Does.Contain("href=\"http://app.test/\"").And.Not.Contain("evil.example").And.Not.Contain("pwned"));
    }
}
