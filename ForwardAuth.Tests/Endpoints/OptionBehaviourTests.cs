using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>Options that change what the answers carry: cookieDomain, forceHTTPS, stripAuthCookies, claimHeaders.</summary>
[TestFixture]
public class OptionBehaviourTests : ReplicaPair
{
    protected override Dictionary<string, string> ExtraSettings => new()
    {
        ["COOKIE_DOMAIN"] = "app.test",
        ["FORCE_HTTPS"] = "true",
        ["STRIP_AUTH_COOKIES"] = "true",
        ["CLAIM_HEADERS"] = "X-User-Sub=sub,X-User-Name=preferred_username",
        ["EXCLUDED_URLS"] = "/public",
    };

    [Test]
    public async Task ForceHttps_PlainHttpRequest_HttpsRedirectUriAndSecureCookie()
    {
        using var client = new ForwardAuthClient(proto: "http");

        using var challenge = await client.AuthAsync(A, "GET", "/page", ForwardAuthClient.Navigation);

        Assert.That(ForwardAuthClient.Query(challenge.Headers.Location!.PathAndQuery)["redirect_uri"], Is.EqualTo("https://app.test/oauth2/callback"));
        Assert.That(challenge.Headers.GetValues("Set-Cookie").Single(), Does.Contain("secure").IgnoreCase);
    }

    [Test]
    public async Task CookieDomain_SessionAndLoginCookies_CarryIt()
    {
        using var client = new ForwardAuthClient(proto: "https");
        using var challenge = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");

        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(challenge.Headers.GetValues("Set-Cookie").Single(), Does.Contain("domain=app.test").IgnoreCase);
        Assert.That(done.Headers.GetValues("Set-Cookie").Where(c => c.StartsWith("_forwardauth_session=", StringComparison.Ordinal)).Single(),
            Does.Contain("domain=app.test").IgnoreCase);
    }

    [Test]
    public async Task StripAuthCookies_OnAllow_CookieHeaderWithoutOwnCookies()
    {
        using var client = new ForwardAuthClient(proto: "https");
        using var _ = await client.LoginAsync(A, B, "/", "alice");
        client.Cookies["app_pref"] = "dark";

        using var allowed = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        var cookie = allowed.Headers.GetValues("Cookie").Single();
        Assert.That(cookie, Does.Contain("app_pref=dark"));
        Assert.That(cookie, Does.Not.Contain("_forwardauth_"));
    }

    [Test]
    public async Task ClaimHeaders_OnAllow_CarryTheClaims_EmptyOnExcludedPaths()
    {
        using var client = new ForwardAuthClient(proto: "https");
        using var _ = await client.LoginAsync(A, B, "/", "alice");

        using var allowed = await client.AuthAsync(B, "GET", "/", ForwardAuthClient.Navigation);
        using var excluded = await new ForwardAuthClient(proto: "https").AuthAsync(B, "GET", "/public/x", r => r.Headers.Add("X-User-Sub", "admin"));

        Assert.That(allowed.Headers.GetValues("X-User-Sub").Single(), Is.EqualTo("alice"));
        Assert.That(allowed.Headers.GetValues("X-User-Name").Single(), Is.EqualTo("alice"));
        Assert.That(excluded.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(excluded.Headers.GetValues("X-User-Sub").Single(), Is.Empty, "always present, so the proxy overwrites a client's value");
    }
}
