using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Single sign-on across unrelated domains through the real proxy, with the real provider and two replicas sharing
/// real Redis. Caddy serves three host names on one port: the auth host <c>auth.sso-auth.test</c> (routed straight to
/// ForwardAuth: <c>/oauth2/sso</c> on replica A, the callback on replica B) and two apps on other parent domains,
/// <c>app.sso-one.test</c> (forward_auth to A) and <c>app.sso-two.test</c> (forward_auth to B), so every ticket is
/// issued on A and redeemed on A or B. The client resolves every name to 127.0.0.1 and keeps cookies per host, as a
/// browser does.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SsoAcrossDomainsTests
{
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _a = null!;
    private ForwardAuthInstance _b = null!;
    private EchoBackend _backend = null!;
    private CaddyProxy _caddy = null!;
    private int _port;

    private string AuthHost => Site("auth.sso-auth.test");
    private string AppOne => Site("app.sso-one.test");
    private string AppTwo => Site("app.sso-two.test");
    private string Outside => Site("app.sso-outside.test");

    private string Site(string host) => "http://" + host + ":" + _port.ToString(CultureInfo.InvariantCulture);

    [OneTimeSetUp]
    public async Task StartStack()
    {
        using var caddyPort = PortReservation.Take();
        _port = caddyPort.Port;
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = [AuthHost + "/oauth2/callback", AppOne + "/oauth2/callback", AppTwo + "/oauth2/callback", Outside + "/oauth2/callback"],
            PostLogoutRedirectUris = [AuthHost + "/", AppOne + "/", AppTwo + "/"],
        });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["AUTH_URL"] = AuthHost;
        settings["SSO_DOMAINS"] = "sso-one.test,sso-two.test";
        var starting = new[] { ForwardAuthInstance.StartProcessAsync(settings), ForwardAuthInstance.StartProcessAsync(settings) };
        _a = await starting[0];
        _b = await starting[1];
        _backend = await EchoBackend.StartAsync();
        var a = "127.0.0.1:" + _a.Port.ToString(CultureInfo.InvariantCulture);
        var b = "127.0.0.1:" + _b.Port.ToString(CultureInfo.InvariantCulture);
        var backend = _backend.Port.ToString(CultureInfo.InvariantCulture);
        _caddy = await CaddyProxy.StartSitesAsync(caddyPort, new Dictionary<string, string>
        {
            // The auth host: its traffic goes to ForwardAuth itself (no forward_auth in front).
            ["auth.sso-auth.test"] = $$"""
                    @callback path /oauth2/callback
                    reverse_proxy @callback {{b}}
                    reverse_proxy {{a}}
                """,
            // Each app: every request, /oauth2/ticket and /oauth2/logout included, through forward_auth (X-Replica: b moves app one to B).
            ["app.sso-one.test"] = $$"""
                    @markedB header X-Replica b
                    @toA not header X-Replica b
                    forward_auth @markedB {{b}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }
                    forward_auth @toA {{a}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }
                    reverse_proxy 127.0.0.1:{{backend}}
                """,
            ["app.sso-two.test"] = CaddyProxy.ForwardAuthTo([b], _backend.Port),
            ["app.sso-outside.test"] = CaddyProxy.ForwardAuthTo([a], _backend.Port),
        });
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await _caddy.DisposeAsync();
        await _backend.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>A browser-like client: every name resolves to 127.0.0.1, cookies kept per host, redirects followed by hand.</summary>
    private static Browser Browser()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            CookieContainer = new CookieContainer(),
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var http = new Browser(handler);
        http.DefaultRequestHeaders.TryAddWithoutValidation("Accept", "text/html");
        return http;
    }

    /// <summary>Follows redirects (the provider auto-logs in the <c>login_hint</c> user) until an answer that is not one.</summary>
    private async Task<(HttpResponseMessage Final, List<string> Visited)> FollowAsync(HttpClient http, string url, string login = "alice", Func<string, bool>? stopAt = null)
    {
        var visited = new List<string>();
        for (var hop = 0; hop < 15; hop++)
        {
            visited.Add(url);
            if (stopAt?.Invoke(url) == true)
            {
                return (new HttpResponseMessage(HttpStatusCode.Continue), visited);
            }

            var response = await http.GetAsync(url);
            if (response.Headers.Location is null)
            {
                return (response, visited);
            }

            url = new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            response.Dispose();
            if (url.StartsWith(_provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        throw new InvalidOperationException("redirects did not settle: " + string.Join(" -> ", visited.Select(Redacted)));
    }

    // Tickets and codes stay out of test output.
    private static string Redacted(string url) => url.Split('?')[0];

    private async Task<Browser> SignedInOnAppOneAsync(string login = "alice")
    {
        var http = Browser();
        var (final, _) = await FollowAsync(http, AppOne + "/", login);
        Assert.That(final.StatusCode, Is.EqualTo(HttpStatusCode.OK), "signed in on app one");
        return http;
    }

    /// <summary>Follows an app's challenge up to (not into) its ticket URL.</summary>
    private async Task<string> TicketUrlAsync(HttpClient http, string app, string path = "/landing")
    {
        var (_, visited) = await FollowAsync(http, app + path, stopAt: u => u.Contains("/oauth2/ticket?", StringComparison.Ordinal));
        var ticketUrl = visited[^1];
        Assert.That(ticketUrl, Does.StartWith(app + "/oauth2/ticket?ticket="));
        return ticketUrl;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string url, string? replica = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (replica is not null)
        {
            request.Headers.Add("X-Replica", replica);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Test]
    public async Task SignedInOnOneDomain_ReachesAnAppOnAnotherDomain_WithoutAnotherAuthorizationRequest()
    {
        using var http = await SignedInOnAppOneAsync("alice");
        var authorizations = await _provider.AuthorizationCountAsync();
        var codes = await _provider.GrantCountAsync("authorization_code");

        var (final, visited) = await FollowAsync(http, AppTwo + "/dashboard?tab=2");

        Assert.That(final.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var echoed = JsonSerializer.Deserialize<Dictionary<string, string>>(await final.Content.ReadAsStringAsync())!;
        Assert.That(echoed["x-echo-path"], Is.EqualTo("/dashboard?tab=2"), "back where the user was going");
        Assert.That(echoed["X-Forwarded-User"], Is.EqualTo("alice@example.com"));
        Assert.That(visited.Select(Redacted), Is.EqualTo(new[] { AppTwo + "/dashboard", AuthHost + "/oauth2/sso", AppTwo + "/oauth2/ticket", AppTwo + "/dashboard" }));
        Assert.That(await _provider.AuthorizationCountAsync(), Is.EqualTo(authorizations), "no authorization request at the provider");
        Assert.That(await _provider.GrantCountAsync("authorization_code"), Is.EqualTo(codes), "no code exchanged");
        final.Dispose();
    }

    [Test]
    public async Task FirstVisitOnAJoiningHost_LogsInOnTheAuthHostOnce_ThenTheOtherDomainNeedsNoLogin()
    {
        using var http = Browser();
        var authorizations = await _provider.AuthorizationCountAsync();

        var (first, visited) = await FollowAsync(http, AppTwo + "/", "bob");
        var (second, _) = await FollowAsync(http, AppOne + "/");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(visited.Select(Redacted), Does.Contain(AuthHost + "/oauth2/callback"), "the provider came back to the auth host");
        Assert.That(await _provider.AuthorizationCountAsync(), Is.EqualTo(authorizations + 1), "one login for both domains");
        first.Dispose();
        second.Dispose();
    }

    [Test]
    public async Task Browser_SignedInOnAppOne_OpensAppTwoOnAnotherDomain_WithoutTheProvider()
    {
        using var browser = new HeadlessChromium("--host-resolver-rules=MAP *.test 127.0.0.1");
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(AppOne + "/one?from=browser");
        browser.LogInAtProvider(_provider.Issuer, "alice");
        browser.WaitFor(d => d.Url == AppOne + "/one?from=browser", "back on app one after the login on the auth host");
        var authorizations = await _provider.AuthorizationCountAsync();

        driver.Navigate().GoToUrl(AppTwo + "/two?from=browser");
        browser.WaitFor(d => d.Url == AppTwo + "/two?from=browser", "app two, through the auth host's ticket");

        var text = driver.FindElement(OpenQA.Selenium.By.TagName("body")).Text;
        var echoed = JsonDocument.Parse(text[text.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
        Assert.That(echoed.GetProperty("X-Forwarded-User").GetString(), Is.EqualTo("alice@example.com"));
        Assert.That(await _provider.AuthorizationCountAsync(), Is.EqualTo(authorizations), "no authorization request for the second domain");
        Assert.That(driver.Manage().Cookies.GetCookieNamed("_forwardauth_session"), Is.Not.Null.And.Property("IsHttpOnly").True, "app two's own cookie");
    }

    [Test]
    public async Task ReplayedTicket_Refused()
    {
        using var http = await SignedInOnAppOneAsync();
        var ticketUrl = await TicketUrlAsync(http, AppTwo);
        Assert.That(await StatusAsync(http, ticketUrl), Is.EqualTo(HttpStatusCode.Found), "first use signs in");

        using var replay = await http.GetAsync(ticketUrl);

        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await replay.Content.ReadAsStringAsync(), Does.Contain("expired or was already used"));
    }

    [Test]
    public async Task TargetOutsideSsoDomains_NeverReceivesATicket()
    {
        using var http = await SignedInOnAppOneAsync();
        // The auth host holds a session: a ticket would be issued for a joining host.
        var before = await _redis.KeysAsync("fa-test:ticket:*");

        using var refused = await http.GetAsync(AuthHost + "/oauth2/sso?rd=" + Uri.EscapeDataString(Outside + "/") + "&state=" + new string('a', 64));

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(refused.Headers.Location, Is.Null);
        Assert.That(await _redis.KeysAsync("fa-test:ticket:*"), Is.EquivalentTo(before), "no ticket written");
        var (outside, visited) = await FollowAsync(http, Outside + "/", stopAt: u => u.StartsWith(_provider.Issuer, StringComparison.Ordinal));
        Assert.That(visited.Select(Redacted), Has.None.EqualTo(AuthHost + "/oauth2/sso"), "a host outside ssoDomains logs in at the provider itself");
        outside.Dispose();
    }

    [Test]
    public async Task TicketUsedOnAnotherOrigin_Refused()
    {
        using var http = await SignedInOnAppOneAsync();
        var ticketUrl = await TicketUrlAsync(http, AppTwo);

        using var elsewhere = await http.GetAsync(ticketUrl.Replace(AppTwo, AppOne, StringComparison.Ordinal));

        Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await elsewhere.Content.ReadAsStringAsync(), Does.Contain("issued for another site"));
    }

    [Test]
    public async Task LoginCsrf_AttackersTicketInTheVictimsBrowser_RefusedAndVictimNotSignedIn()
    {
        using var attacker = await SignedInOnAppOneAsync("mallory");
        var attackersTicket = await TicketUrlAsync(attacker, AppTwo);
        using var victim = Browser();
        // The victim may even have started a sign-in of their own on app two (their own state cookie).
        await FollowAsync(victim, AppTwo + "/", stopAt: u => u.StartsWith(AuthHost, StringComparison.Ordinal));

        using var forced = await victim.GetAsync(attackersTicket);

        Assert.That(forced.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await forced.Content.ReadAsStringAsync(), Does.Contain("not requested by this browser"));
        Assert.That(await StatusAsync(victim, AppTwo + "/"), Is.EqualTo(HttpStatusCode.Found), "the victim has no session");
    }

    [TestCase("one")]
    [TestCase("two")]
    public async Task LogoutOnEitherDomain_EndsBoth_OnBothReplicas(string where)
    {
        using var http = await SignedInOnAppOneAsync();
        var (two, _) = await FollowAsync(http, AppTwo + "/");
        Assert.That(two.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        two.Dispose();

        var held = new[] { AuthHost, AppOne, AppTwo }.SelectMany(site => http.Jar.GetCookies(new Uri(site)).Cast<Cookie>()).ToList();
        Assert.That(held.Count(c => c.Name == "_forwardauth_session"), Is.EqualTo(3), "a session cookie on each host");

        using var logout = await http.GetAsync((where == "one" ? AppOne : AppTwo) + "/oauth2/logout");
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));

        // The logging-out domain's cookie was cleared: put every cookie held before back (as someone who copied them
        // would) — each must be refused, on both replicas.
        foreach (var cookie in held)
        {
            http.Jar.Add(new Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }

        Assert.That(await StatusAsync(http, AppOne + "/", replica: "a"), Is.EqualTo(HttpStatusCode.Found), "app one on A");
        Assert.That(await StatusAsync(http, AppOne + "/", replica: "b"), Is.EqualTo(HttpStatusCode.Found), "app one on B");
        Assert.That(await StatusAsync(http, AppTwo + "/"), Is.EqualTo(HttpStatusCode.Found), "app two on B");
        using var sso = await http.GetAsync(AuthHost + "/oauth2/sso?rd=" + Uri.EscapeDataString(AppOne + "/") + "&state=" + new string('a', 64));
        Assert.That(sso.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer + "/auth?"), "the auth host's session ended too: a login starts");
    }
}

/// <summary>An HTTP client with its cookie jar at hand.</summary>
internal sealed class Browser(SocketsHttpHandler handler) : HttpClient(handler)
{
    public CookieContainer Jar => handler.CookieContainer;
}
