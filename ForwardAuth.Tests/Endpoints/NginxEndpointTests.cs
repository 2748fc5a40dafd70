using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// The nginx <c>auth_request</c> protocol against real replicas, the real provider and real Redis, as nginx and
/// ingress-nginx call it: <c>/oauth2/auth</c> answers 202/401/403 only, the original URL comes from trusted headers,
/// <c>/oauth2/userinfo</c> shows the identity. (Through a real nginx: EndToEnd/NginxTests.)
/// </summary>
[TestFixture]
public class NginxEndpointTests : ReplicaPair
{
    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    private static async Task<HttpResponseMessage> SubrequestAsync(
        ForwardAuthInstance replica, IDictionary<string, string> headers, string? cookie = null, string path = "/oauth2/auth")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, replica.BaseUrl + path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
        }

        return await Http.SendAsync(request);
    }

    private static Dictionary<string, string> Browser(string originalUrl) => new()
    {
        ["X-Original-URL"] = originalUrl,
        ["X-Original-Method"] = "GET",
        ["Accept"] = "text/html,application/xhtml+xml",
        ["Sec-Fetch-Mode"] = "navigate",
    };

    private async Task<string> SessionCookieAsync(string login = "alice")
    {
        using var client = new ForwardAuthClient();
        using var response = await client.LoginAsync(A, A, "/", login);
        return "_forwardauth_session=" + client.Cookies["_forwardauth_session"];
    }

    [Test]
    public async Task Browser_NoSession_401_NeverARedirect_NothingWritten()
    {
        var before = (await Redis.KeysAsync("fa-test:*")).Count;

        using var response = await SubrequestAsync(A, Browser("http://app.test/page?q=1"));

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(response.Headers.Location, Is.Null);
            Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "no login started, so no binding cookie");
            Assert.That(response.Headers.GetValues("X-Auth-Redirect").Single(), Is.EqualTo("http://app.test/oauth2/start?rd=%2Fpage%3Fq%3D1"));
            Assert.That((await Redis.KeysAsync("fa-test:*")).Count, Is.EqualTo(before), "an anonymous request writes nothing to the store");
        });
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    public async Task Browser_NoSession_OtherMethods_Also401(string method)
    {
        var headers = Browser("http://app.test/form");
        headers["X-Original-Method"] = method;

        using var response = await SubrequestAsync(A, headers);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Session_FromXOriginalUrl_202WithIdentityHeaders()
    {
        var cookie = await SessionCookieAsync();

        using var response = await SubrequestAsync(A, Browser("http://app.test/dashboard"), cookie);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(response.Headers.GetValues("X-Auth-Request-User").Single(), Does.Contain("alice"));
            Assert.That(response.Headers.GetValues("X-Auth-Request-Groups").Single(), Does.Contain("admins"));
            Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Does.Contain("alice"));
        });
    }

    [Test]
    public async Task Session_FromXForwardedHeaders_AndFromXAuthRequestRedirect_202()
    {
        var cookie = await SessionCookieAsync();

        using var forwarded = await SubrequestAsync(A, new Dictionary<string, string>
        {
            ["X-Forwarded-Uri"] = "/x", ["X-Forwarded-Host"] = "app.test", ["X-Forwarded-Proto"] = "https",
        }, cookie);
        using var redirect = await SubrequestAsync(A, new Dictionary<string, string> { ["X-Auth-Request-Redirect"] = "https://app.test/y?z=1" }, cookie);

        Assert.That(new[] { forwarded.StatusCode, redirect.StatusCode }, Is.EqualTo(new[] { HttpStatusCode.Accepted, HttpStatusCode.Accepted }));
    }

    [Test]
    public async Task OriginalUrl_DecidesThePath_ExcludedUrlsAndRouteRulesApply()
    {
        var cookie = await SessionCookieAsync("bob");

        using var excluded = await SubrequestAsync(A, new Dictionary<string, string> { ["X-Original-URL"] = "http://app.test/public/logo.png" });
        using var admins = await SubrequestAsync(A, Browser("http://app.test/admin"), cookie, "/oauth2/auth?allowedRolesAndGroups=admins");
        using var users = await SubrequestAsync(A, Browser("http://app.test/admin"), cookie, "/oauth2/auth?allowedRolesAndGroups=users");

        Assert.That(new[] { excluded.StatusCode, admins.StatusCode, users.StatusCode },
            Is.EqualTo(new[] { HttpStatusCode.Accepted, HttpStatusCode.Forbidden, HttpStatusCode.Accepted }));
    }

    [TestCase("not-a-url")]
    [TestCase("/relative/path")]
    [TestCase("ftp://app.test/")]
    [TestCase("http:///nohost")]
    [TestCase("http://user@app.test/")]
    [TestCase("http://app.test/a b")]
    [TestCase("http://app test/")]
    public async Task OriginalUrl_Malformed_400(string url)
    {
        using var response = await SubrequestAsync(A, new Dictionary<string, string> { ["X-Original-URL"] = url });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task OriginalUrl_Missing_400()
    {
        using var response = await SubrequestAsync(A, new Dictionary<string, string>());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("X-Original-URL"));
    }

    [Test]
    public async Task OriginalUrl_FromUntrustedPeer_Ignored()
    {
        await using var strict = await StartReplicaAsync(new() { ["TRUSTED_PROXIES"] = "10.0.0.0/8" });

        // Believed, the header would name an excluded path (202); ignored, the request is /oauth2/auth itself.
        using var response = await SubrequestAsync(strict, new Dictionary<string, string> { ["X-Original-URL"] = "http://app.test/public/x" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Bearer_Valid_202_Forged_401InvalidToken()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");
        var headers = new Dictionary<string, string> { ["X-Original-URL"] = "http://app.test/api", ["Authorization"] = "Bearer " + tokens.AccessToken };

        using var valid = await SubrequestAsync(A, headers);
        headers["Authorization"] = "Bearer not.a.token";
        using var forged = await SubrequestAsync(A, headers);

        Assert.That(valid.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(forged.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
    }

    [Test]
    public async Task Decisions_CountedLikeAuth()
    {
        string Metrics() => A.BaseUrl + "/metrics";
        double Unauthorized(string text) => PrometheusText.Parse(text).Sum("forwardauth_decisions_total", ("outcome", "unauthorized"));
        var before = Unauthorized(await Http.GetStringAsync(Metrics()));

        using var response = await SubrequestAsync(A, Browser("http://app.test/counted"));

        Assert.That(Unauthorized(await Http.GetStringAsync(Metrics())), Is.EqualTo(before + 1));
    }

    [Test]
    public async Task UserInfo_Session_Bearer_AndNone()
    {
        var cookie = await SessionCookieAsync();
        var tokens = await ProviderLogin.ObtainAsync(Provider, "bob");
        var host = new Dictionary<string, string> { ["X-Forwarded-Host"] = "app.test", ["X-Forwarded-Proto"] = "http" };

        using var session = await SubrequestAsync(A, host, cookie, "/oauth2/userinfo");
        using var bearer = await SubrequestAsync(A, new Dictionary<string, string>(host) { ["Authorization"] = "Bearer " + tokens.AccessToken }, path: "/oauth2/userinfo");
        using var none = await SubrequestAsync(A, host, path: "/oauth2/userinfo");

        var alice = JsonDocument.Parse(await session.Content.ReadAsStringAsync()).RootElement;
        var bob = JsonDocument.Parse(await bearer.Content.ReadAsStringAsync()).RootElement;
        Assert.Multiple(async () =>
        {
            Assert.That(session.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(session.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
            Assert.That(alice.GetProperty("user").GetString(), Does.Contain("alice"));
            Assert.That(alice.GetProperty("email").GetString(), Does.Contain("alice@"));
            Assert.That(alice.GetProperty("groups").EnumerateArray().Select(g => g.GetString()), Does.Contain("admins"));
            Assert.That(alice.TryGetProperty("preferred_username", out _), Is.True);
            Assert.That(alice.TryGetProperty("claims", out _), Is.True);
            Assert.That(bearer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(bob.GetProperty("user").GetString(), Does.Contain("bob"));
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(none.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
            Assert.That(await none.Content.ReadAsStringAsync(), Does.Contain("\"error\":\"unauthorized\""));
        });
    }
}
