using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>What the backend behind the real proxy receives.</summary>
[TestFixture]
public class ProxyHeaderTests : ProxiedStack
{
    private static async Task<JsonElement> EchoAsync(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static string? Header(JsonElement echo, string name) =>
        echo.EnumerateObject().Where(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Select(p => p.Value.GetString()).SingleOrDefault();

    [Test]
    public async Task LoginThroughCaddy_BackendSeesIdentity()
    {
        using var http = await LoggedInClientAsync("bob", "/start");

        var echo = await EchoAsync(await http.GetAsync(SiteUrl + "/whoami"));

        Assert.That(Header(echo, "X-Forwarded-User"), Is.EqualTo("bob@example.com"));
        Assert.That(Header(echo, "X-Auth-Request-Groups"), Is.EqualTo("users"));
        Assert.That(Header(echo, "X-Auth-Request-Preferred-Username"), Is.EqualTo("bob"));
    }

    [TestCase("X-Forwarded-User")]
    [TestCase("x-forwarded-user")]
    [TestCase("X-FORWARDED-USER")]
    [TestCase("X-Auth-Request-Email")]
    [TestCase("x-auth-request-groups")]
    [TestCase("X-Auth-Request-Preferred-Username")]
    public async Task ClientIdentityHeader_AnyCase_NeverReachesTheBackend(string header)
    {
        using var http = await LoggedInClientAsync("bob");
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/whoami");
        request.Headers.TryAddWithoutValidation(header, "admins");

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(echo.EnumerateObject().Select(p => p.Value.GetString()), Has.None.EqualTo("admins"));
    }

    [TestCase("X_Forwarded_User")]
    [TestCase("x_auth_request_email")]
    [TestCase("X-Auth_Request-Groups")]
    public async Task ClientIdentityHeader_WithUnderscores_RefusedBeforeTheBackend(string header)
    {
        using var http = await LoggedInClientAsync("bob");
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/whoami");
        request.Headers.TryAddWithoutValidation(header, "admin@example.com");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("x-echo-path"));
    }

    [Test]
    public async Task ExcludedPath_ClientIdentityHeadersOverwrittenWithEmpty()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/public/page");
        request.Headers.TryAddWithoutValidation("X-Forwarded-User", "admin@example.com");
        request.Headers.TryAddWithoutValidation("X-Auth-Request-Groups", "admins");

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(Header(echo, "X-Forwarded-User") ?? "", Is.Empty);
        Assert.That(Header(echo, "X-Auth-Request-Groups") ?? "", Is.Empty);
    }

    [Test]
    public async Task NoSession_ApiCallThroughCaddy_401WithLoginUrl()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/api/data");
        request.Headers.Add("X-Requested-With", "XMLHttpRequest");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.GetValues("X-Auth-Redirect").Single(), Is.EqualTo(SiteUrl + "/oauth2/start?rd=%2Fapi%2Fdata"));
    }

    [Test]
    public async Task Bearer_ThroughCaddy_BackendSeesIdentity()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/api/data");
        request.Headers.Add("Authorization", "Bearer " + tokens.AccessToken);

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(Header(echo, "X-Forwarded-User"), Is.EqualTo("alice@example.com"));
    }

    [TestCase("//evil.example/")]
    [TestCase("/%5Cevil.example")]
    [TestCase("/%2F%2Fevil.example")]
    public async Task OpenRedirect_ThroughCaddy_StaysOnTheSite(string path)
    {
        using var http = await LoggedInClientAsync("alice", "/");
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var fresh = new HttpClient(handler);
        var url = SiteUrl + path;
        string? finalLocation = null;
        for (var hop = 0; hop < 8; hop++)
        {
            using var response = await fresh.GetAsync(url);
            if (response.Headers.Location is null)
            {
                break;
            }

            finalLocation = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            url = finalLocation.StartsWith(Provider.Issuer + "/auth?", StringComparison.Ordinal) ? finalLocation + "&login_hint=alice" : finalLocation;
        }

        Assert.That(new Uri(finalLocation!).Authority, Is.EqualTo(new Uri(SiteUrl).Authority));
    }
}
