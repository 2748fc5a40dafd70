using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Step-up per route through the real proxy: Caddy sends <c>/admin</c> to <c>/auth?acr=gold</c>, <c>/fresh</c> to
/// <c>/auth?maxAge=2</c>, <c>/broken</c> to <c>/auth?maxAge=-1</c> and everything else to <c>/auth</c>, on replica A
/// (or B with <c>X-Replica: b</c>; the login callback always lands on B), two ForwardAuth processes sharing real Redis,
/// the real dev provider (which honours <c>acr_values</c> and <c>max_age</c>).
/// </summary>
[TestFixture]
public class StepUpProxyTests : ProxiedStack
{
    private string Site => SiteUrl;

    // One forward_auth per step-up route and replica, then the normal routes; the matchers do not overlap.
    private protected override string SiteBody(int a, int b, int backend)
    {
        const string stepUpPaths = "/admin /admin/* /fresh /fresh/* /broken";
        var routes = new (string Name, string Paths, string Address)[]
        {
            ("admin", "/admin /admin/*", "/auth?acr=gold"),
            ("fresh", "/fresh /fresh/*", "/auth?maxAge=2"),
            ("broken", "/broken", "/auth?maxAge=-1"),
        };
        var body = new System.Text.StringBuilder();
        foreach (var (replica, port, replicaMatch) in new[] { ("a", a, "not header X-Replica b"), ("b", b, "header X-Replica b") })
        {
            foreach (var (name, paths, address) in routes)
            {
                body.Append(CultureInfo.InvariantCulture, $$"""
                    @{{name}}{{replica}} {
                        path {{paths}}
                        {{replicaMatch}}
                    }
                    forward_auth @{{name}}{{replica}} 127.0.0.1:{{port}} {
                        uri {{address}}
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }

                    """);
            }
        }

        // Normal routes: the login callback and X-Replica b on B, the rest on A. "/auth?" and not "/auth": a rewrite URI
        // without a query keeps the client's query, which would reach ForwardAuth as its own (docs/proxies.md).
        body.Append(CultureInfo.InvariantCulture, $$"""
            @normalb {
                not path {{stepUpPaths}} /oauth2/callback
                header X-Replica b
            }
            @callback path /oauth2/callback
            @normala {
                not path {{stepUpPaths}} /oauth2/callback
                not header X-Replica b
            }
            forward_auth @normalb 127.0.0.1:{{b}} {
                uri /auth?
                copy_headers {{CaddyProxy.CopiedHeaders}}
            }
            forward_auth @callback 127.0.0.1:{{b}} {
                uri /auth?
                copy_headers {{CaddyProxy.CopiedHeaders}}
            }
            forward_auth @normala 127.0.0.1:{{a}} {
                uri /auth?
                copy_headers {{CaddyProxy.CopiedHeaders}}
            }
            reverse_proxy 127.0.0.1:{{backend}}
            """);
        return body.ToString();
    }

    [TearDown]
    public Task RestoreProvider() => Provider.ForceAcrAsync(null);

    /// <summary>A browser: cookies kept, redirects followed by hand (the provider's auto-login needs the login_hint).</summary>
    private sealed class Browser(string login) : IDisposable
    {
        private readonly HttpClientHandler _handler = new() { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        private HttpClient? _http;

        public HttpClient Http => _http ??= new HttpClient(_handler);

        public List<string> AuthorizeUrls { get; } = [];

        /// <summary>GET <paramref name="url"/> and follow redirects (through the provider) to the last answer.</summary>
        public async Task<HttpResponseMessage> VisitAsync(string url, string issuer, string? replica = null)
        {
            for (var hop = 0; hop < 12; hop++)
            {
                var response = await SendAsync(url, replica);
                if (response.Headers.Location is null)
                {
                    return response;
                }

                url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
                response.Dispose();
                if (url.StartsWith(issuer + "/auth?", StringComparison.Ordinal))
                {
                    AuthorizeUrls.Add(url);
                    url += "&login_hint=" + Uri.EscapeDataString(login);
                }
            }

            throw new InvalidOperationException("the redirects did not settle");
        }

        public async Task<HttpResponseMessage> SendAsync(string url, string? replica = null, string accept = "text/html")
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Accept", accept);
            if (accept.StartsWith("text/html", StringComparison.Ordinal))
            {
                request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "navigate");
            }

            if (replica is not null)
            {
                request.Headers.TryAddWithoutValidation("X-Replica", replica);
            }

            return await Http.SendAsync(request);
        }

        public string? SessionCookie(string site) => _handler.CookieContainer.GetCookies(new Uri(site))["_forwardauth_session"]?.Value;

        public void Dispose()
        {
            _http?.Dispose();
            _handler.Dispose();
        }
    }

    private static async Task<string> UserOf(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.EnumerateObject()
            .Single(p => string.Equals(p.Name, "X-Forwarded-User", StringComparison.OrdinalIgnoreCase)).Value.GetString()!;
    }

    private static Dictionary<string, string> QueryOf(string url) =>
        QueryHelpers.ParseQuery(new Uri(url).Query).ToDictionary(p => p.Key, p => p.Value.ToString());

    [Test]
    public async Task AcrRoute_StepUpOnTheProvider_SameSessionOpensStrictAndNormalRoutesOnBothReplicas()
    {
        using var browser = new Browser("alice");
        using (var first = await browser.VisitAsync(Site + "/", Provider.Issuer))
        {
            Assert.That(await UserOf(first), Is.EqualTo("alice@example.com"));
        }

        var cookieBefore = browser.SessionCookie(Site);
        Assert.That(cookieBefore, Is.Not.Null);
        Assert.That(browser.AuthorizeUrls.Single(), Does.Not.Contain("acr_values"));

        // The strict route sends the browser to the provider with acr_values=gold; it comes back stepped up.
        using (var strict = await browser.VisitAsync(Site + "/admin/panel", Provider.Issuer))
        {
            Assert.That(await UserOf(strict), Is.EqualTo("alice@example.com"));
        }

        Assert.That(browser.AuthorizeUrls, Has.Count.EqualTo(2));
        Assert.That(QueryOf(browser.AuthorizeUrls[1])["acr_values"], Is.EqualTo("gold"));

        // The same session (the callback ran on B, the strict route on A): the cookie opens every route on both replicas.
        foreach (var replica in new[] { "a", "b" })
        {
            using var strict = await browser.SendAsync(Site + "/admin/panel", replica);
            Assert.That(await UserOf(strict), Is.EqualTo("alice@example.com"), "strict route on " + replica);
            using var normal = await browser.SendAsync(Site + "/home", replica);
            Assert.That(await UserOf(normal), Is.EqualTo("alice@example.com"), "normal route on " + replica);
        }

        // The cookie the browser held before the step-up opens the same, now stepped-up session.
        using var oldCookie = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, Site + "/admin/panel");
        request.Headers.TryAddWithoutValidation("Cookie", "_forwardauth_session=" + cookieBefore);
        request.Headers.TryAddWithoutValidation("X-Replica", "b");
        using var withOldCookie = await oldCookie.SendAsync(request);
        Assert.That(await UserOf(withOldCookie), Is.EqualTo("alice@example.com"));
        Assert.That(browser.AuthorizeUrls, Has.Count.EqualTo(2), "no further login");
    }

    [Test]
    public async Task AcrRoute_ApiRequest_Rfc9470Challenge()
    {
        using var browser = new Browser("alice");
        (await browser.VisitAsync(Site + "/", Provider.Issuer)).Dispose();

        using var api = await browser.SendAsync(Site + "/admin/api", accept: "application/json");

        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(api.Headers.WwwAuthenticate.ToString(), Is.EqualTo(
            "Bearer realm=\"forwardauth\", error=\"insufficient_user_authentication\", " +
            "error_description=\"authentication with acr gold is required\", acr_values=\"gold\""));
        Assert.That(await api.Content.ReadAsStringAsync(), Does.Contain("insufficient_user_authentication"));
    }

    [Test]
    public async Task AcrRoute_BearerTokens_JudgedByTheirAcr()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "bob");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var gold = Provider.Mint(new Dictionary<string, object>
        {
            ["iss"] = Provider.Issuer, ["aud"] = ReplicaPair.ApiAudience, ["sub"] = "bob", ["iat"] = now, ["exp"] = now + 300,
            ["jti"] = Guid.NewGuid().ToString("N"), ["acr"] = "gold", ["auth_time"] = now,
        }, "at+jwt");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        using var weak = await Send(tokens.AccessToken);
        using var strong = await Send(gold);

        Assert.That(weak.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(weak.Headers.WwwAuthenticate.ToString(), Does.Contain("error=\"insufficient_user_authentication\"").And.Contain("acr_values=\"gold\""));
        Assert.That(strong.StatusCode, Is.EqualTo(HttpStatusCode.OK), await strong.Content.ReadAsStringAsync());

        async Task<HttpResponseMessage> Send(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Site + "/admin/api");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return await http.SendAsync(request);
        }
    }

    [Test]
    public async Task AcrRoute_ProviderIgnoresAcrValues_ForbiddenWithTheReasonNotALoop()
    {
        using var browser = new Browser("carol");
        (await browser.VisitAsync(Site + "/", Provider.Issuer)).Dispose();
        await Provider.ForceAcrAsync("silver");

        using var strict = await browser.VisitAsync(Site + "/admin", Provider.Issuer);

        Assert.That(strict.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await strict.Content.ReadAsStringAsync(), Does.Contain("provider did not satisfy acr gold"));
        Assert.That(browser.AuthorizeUrls, Has.Count.EqualTo(2), "one step-up attempt, then 403");
        using var again = await browser.SendAsync(Site + "/admin", "b");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "on the other replica too");
        using var normal = await browser.SendAsync(Site + "/home");
        Assert.That(await UserOf(normal), Is.EqualTo("carol@example.com"));
    }

    [Test]
    public async Task MaxAgeRoute_StaleLogin_SentToTheProviderWithMaxAgeThenFresh()
    {
        using var browser = new Browser("dave");
        (await browser.VisitAsync(Site + "/", Provider.Issuer)).Dispose();

        // Poll until the login is older than maxAge=2: the route then sends the browser to the provider.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        HttpResponseMessage fresh;
        while (true)
        {
            fresh = await browser.SendAsync(Site + "/fresh");
            if (fresh.StatusCode == HttpStatusCode.Found || DateTime.UtcNow > deadline)
            {
                break;
            }

            Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            fresh.Dispose();
            await Task.Delay(200);
        }

        using (fresh)
        {
            Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(QueryOf(fresh.Headers.Location!.AbsoluteUri)["max_age"], Is.EqualTo("2"));
        }

        using var again = await browser.VisitAsync(Site + "/fresh", Provider.Issuer);
        Assert.That(await UserOf(again), Is.EqualTo("dave@example.com"));
        Assert.That(QueryOf(browser.AuthorizeUrls.Last())["max_age"], Is.EqualTo("2"));
    }

    [TestCase("/admin?acr=silver")]
    [TestCase("/admin?acr=silver&maxAge=99999")]
    [TestCase("/admin/panel?acr=")]
    public async Task ClientQuery_DoesNotWeakenTheRule(string path)
    {
        using var browser = new Browser("erin");
        (await browser.VisitAsync(Site + "/", Provider.Issuer)).Dispose();

        using var response = await browser.SendAsync(Site + path, accept: "application/json");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("acr_values=\"gold\""));
    }

    [TestCase("/home?acr=gold")]
    [TestCase("/home?maxAge=-1")]
    [TestCase("/home?acr=")]
    public async Task ClientQuery_DoesNotStrengthenOrBreakANormalRoute(string path)
    {
        using var browser = new Browser("frank");
        (await browser.VisitAsync(Site + "/", Provider.Issuer)).Dispose();

        using var response = await browser.SendAsync(Site + path);

        Assert.That(await UserOf(response), Is.EqualTo("frank@example.com"));
    }

    [Test]
    public async Task InvalidRule_400WithTheReason()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        using var response = await http.GetAsync(Site + "/broken");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("maxAge must be given once, as a whole number of seconds"));
    }
}
