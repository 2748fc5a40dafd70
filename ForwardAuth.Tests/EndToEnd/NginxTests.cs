using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// A real nginx running <c>examples/nginx/nginx.conf</c> (auth_request) in front of the echo backend, two ForwardAuth
/// processes sharing real Redis, and the real provider: a browser signs in through nginx, API calls get 401, the
/// backend sees the identity headers and never a forged one, bearer tokens and <c>/oauth2/userinfo</c> work.
/// </summary>
[TestFixture]
[NonParallelizable]
public class NginxTests
{
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _a = null!;
    private ForwardAuthInstance _b = null!;
    private EchoBackend _backend = null!;
    private NginxProxy _nginx = null!;
    private string _site = "";

    [OneTimeSetUp]
    public async Task StartStack()
    {
        var port = TestPaths.FreePort();
        _site = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = [_site + "/oauth2/callback"],
            PostLogoutRedirectUris = [_site + "/"],
        });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["EXCLUDED_URLS"] = "/public";
        var starting = new[] { ForwardAuthInstance.StartProcessAsync(settings), ForwardAuthInstance.StartProcessAsync(settings) };
        _a = await starting[0];
        _b = await starting[1];
        _backend = await EchoBackend.StartAsync();
        _nginx = await NginxProxy.StartAsync(port, [_a.Port, _b.Port], _backend.Port);
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await _nginx.DisposeAsync();
        await _backend.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static HttpClient NewBrowser() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });

    private static HttpRequestMessage Navigation(string url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", "text/html,application/xhtml+xml");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "navigate");
        return request;
    }

    /// <summary>A browser opening <paramref name="path"/>: nginx → 401 → sign-in → provider → callback → back. Returns the last answer.</summary>
    private async Task<(HttpClient Browser, HttpResponseMessage Page, List<string> Hops)> SignInAsync(string login, string path)
    {
        var browser = NewBrowser();
        var hops = new List<string>();
        var url = _site + path;
        for (var hop = 0; hop < 12; hop++)
        {
            hops.Add(url);
            using var request = Navigation(url);
            var response = await browser.SendAsync(request);
            if (response.Headers.Location is null)
            {
                return (browser, response, hops);
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            response.Dispose();
            if (url.StartsWith(_provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        throw new InvalidOperationException("the sign-in through nginx did not settle: " + string.Join(" → ", hops) + "\n" + _nginx.ErrorLog);
    }

    private static async Task<Dictionary<string, string>> EchoedAsync(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
    }

    [Test]
    public async Task Browser_SignsInThroughNginx_AndLandsOnTheRequestedPage()
    {
        var (browser, page, hops) = await SignInAsync("alice", "/dashboard?a=1&b=two");
        using var _ = browser;
        using var __ = page;

        var echoed = await EchoedAsync(page);
        Assert.Multiple(() =>
        {
            Assert.That(hops[1], Does.StartWith(_site + "/oauth2/start?rd="), "nginx's error_page 401 sends the browser to the sign-in URL");
            Assert.That(hops, Has.Some.StartWith(_site + "/oauth2/callback?"), "the callback came back through nginx");
            Assert.That(echoed["x-echo-path"], Is.EqualTo("/dashboard?a=1&b=two"), "back on the page first asked for, query intact");
            Assert.That(echoed["X-Auth-Request-User"], Does.Contain("alice"));
            Assert.That(echoed["X-Forwarded-User"], Does.Contain("alice"));
            Assert.That(echoed["X-Auth-Request-Email"], Does.Contain("alice@"));
            Assert.That(echoed["X-Auth-Request-Groups"], Does.Contain("admins"));
        });
    }

    [Test]
    public async Task ApiCall_WithoutCredentials_401_NoRedirect()
    {
        using var http = NewBrowser();
        using var request = new HttpRequestMessage(HttpMethod.Get, _site + "/api/items");
        request.Headers.Add("Accept", "application/json");
        request.Headers.Add("X-Requested-With", "XMLHttpRequest");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.Location, Is.Null);
    }

    [Test]
    public async Task ForgedIdentityHeaders_FromTheClient_NeverReachTheBackend()
    {
        var (browser, page, _) = await SignInAsync("bob", "/");
        using var __ = browser;
        page.Dispose();

        using var signedIn = Navigation(_site + "/whoami");
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, _site + "/public/page");
        foreach (var request in new[] { signedIn, anonymous })
        {
            request.Headers.TryAddWithoutValidation("X-Auth-Request-User", "mallory");
            request.Headers.TryAddWithoutValidation("X-Forwarded-User", "mallory");
            request.Headers.TryAddWithoutValidation("X-Auth-Request-Email", "mallory@evil.example");
            request.Headers.TryAddWithoutValidation("X-Auth-Request-Groups", "admins");
            request.Headers.TryAddWithoutValidation("X-Auth-Request-Preferred-Username", "mallory");
            request.Headers.TryAddWithoutValidation("X_Auth_Request_User", "mallory");
        }

        using var bobResponse = await browser.SendAsync(signedIn);
        using var publicResponse = await NewBrowser().SendAsync(anonymous);
        var bob = await EchoedAsync(bobResponse);
        var nobody = await EchoedAsync(publicResponse);

        Assert.Multiple(() =>
        {
            Assert.That(bob["X-Auth-Request-User"], Does.Contain("bob"));
            Assert.That(bob["X-Forwarded-User"], Does.Contain("bob"));
            Assert.That(bob["X-Auth-Request-Groups"], Does.Not.Contain("admins"));
            Assert.That(bob.Values, Has.None.Contains("mallory"));
            Assert.That(nobody.Values, Has.None.Contains("mallory"), "an excluded path: ForwardAuth answers empty headers, nginx drops the client's");
            Assert.That(nobody.Keys, Has.None.EqualTo("X-Auth-Request-Groups"));
        });
    }

    [Test]
    public async Task BearerToken_Accepted_AndRouteRulesApply()
    {
        var alice = await ProviderLogin.ObtainAsync(_provider, "alice");
        var bob = await ProviderLogin.ObtainAsync(_provider, "bob");
        using var http = NewBrowser();

        async Task<HttpResponseMessage> Call(string path, string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _site + path);
            request.Headers.Add("Authorization", "Bearer " + token);
            request.Headers.Add("Accept", "application/json");
            return await http.SendAsync(request);
        }

        using var api = await Call("/api/items", bob.AccessToken);
        using var adminAlice = await Call("/admin/panel", alice.AccessToken);
        using var adminBob = await Call("/admin/panel", bob.AccessToken);
        using var forged = await Call("/api/items", "not.a.token");

        var echoed = await EchoedAsync(api);
        Assert.Multiple(() =>
        {
            Assert.That(echoed["X-Auth-Request-User"], Does.Contain("bob"));
            Assert.That(echoed["Authorization"], Is.EqualTo("Bearer " + bob.AccessToken), "the application still gets its bearer token");
            Assert.That(adminAlice.StatusCode, Is.EqualTo(HttpStatusCode.OK), "alice is in admins");
            Assert.That(adminBob.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "bob is not");
            Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(forged.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"), "nginx passes WWW-Authenticate on");
        });
    }

    [Test]
    public async Task UserInfo_ThroughNginx()
    {
        var (browser, page, _) = await SignInAsync("alice", "/");
        using var __ = browser;
        page.Dispose();

        using var signedIn = await browser.GetAsync(_site + "/oauth2/userinfo");
        using var anonymous = await NewBrowser().GetAsync(_site + "/oauth2/userinfo");

        var identity = JsonDocument.Parse(await signedIn.Content.ReadAsStringAsync()).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(identity.GetProperty("user").GetString(), Does.Contain("alice"));
            Assert.That(identity.GetProperty("groups").EnumerateArray().Select(g => g.GetString()), Does.Contain("admins"));
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task TheDecisionEndpoint_IsNotReachableFromOutside()
    {
        using var http = NewBrowser();

        using var response = await http.GetAsync(_site + "/oauth2/auth");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "location = /oauth2/auth is internal");
    }
}
