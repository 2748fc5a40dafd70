using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// The plugin's <c>headers</c> as a plugin user pastes them: a configuration file with the plugin README's own
/// templated-headers example (quadruple braces and all), a ForwardAuth process, Caddy copying the template headers
/// and the real provider. After a login through Caddy the backend sees the email, <c>Authorization: Bearer</c> with the
/// session's access token and the roles, and a claim with a line break arrives without it. Token values are compared,
/// never printed.
/// </summary>
[TestFixture]
[NonParallelizable]
public class HeaderTemplateProxyTests
{
    // The plugin README's "Templated headers" example, as it is, plus two headers of ForwardAuth's own tests.
    private const string PluginHeaders = """
        headers:
          - name: X-User-Email
            value: "{{{{.Claims.email}}}}"
          - name: Authorization
            value: "Bearer {{{{.AccessToken}}}}"
          - name: X-User-Roles
            value: "{{{{range $i, $e := .Claims.roles}}}}{{{{if $i}}}},{{{{end}}}}{{{{$e}}}}{{{{end}}}}"
          - name: X-User-Title
            value: "{{ default \"none\" .Claims.title }}"
          - name: X-Id-Token
            value: "{{.IDToken}}"
        """;

    private const string CopiedHeaders = "X-User-Email Authorization X-User-Roles X-User-Title X-Id-Token";

    private OidcProvider _provider = null!;
    private ForwardAuthInstance _forwardAuth = null!;
    private EchoBackend _backend = null!;
    private CaddyProxy _caddy = null!;

    [OneTimeSetUp]
    public async Task StartStack()
    {
        var directory = TestPaths.NewTempDirectory("header-templates");
        var users = Path.Combine(directory, "users.json");
        await File.WriteAllTextAsync(users, """
            {"alice": {"roles": ["admin", "dev"], "title": "Lead\r\nX-Injected: yes"}, "bob": {}}
            """);
        var config = Path.Combine(directory, "forwardauth.yaml");
        await File.WriteAllTextAsync(config, PluginHeaders + "\n");

        using var caddyPort = PortReservation.Take();
        var site = "http://127.0.0.1:" + caddyPort.Port.ToString(CultureInfo.InvariantCulture);
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = [site + "/oauth2/callback"],
            PostLogoutRedirectUris = [site + "/"],
            UsersFile = users,
        });
        var settings = ForwardAuthSettings.For(_provider);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["FORWARDAUTH_CONFIG"] = config;
        _forwardAuth = await ForwardAuthInstance.StartProcessAsync(settings);
        _backend = await EchoBackend.StartAsync();
        _caddy = await CaddyProxy.StartAsync(caddyPort, $$"""
                    forward_auth 127.0.0.1:{{_forwardAuth.Port.ToString(CultureInfo.InvariantCulture)}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}} {{CopiedHeaders}}
                    }
                    reverse_proxy 127.0.0.1:{{_backend.Port.ToString(CultureInfo.InvariantCulture)}}
            """);
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await _caddy.DisposeAsync();
        await _backend.DisposeAsync();
        await _forwardAuth.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Test]
    public async Task LoginThroughCaddy_BackendSeesTheTemplatedHeaders()
    {
        using var browser = await SignedInAsync("alice");

        var echoed = await EchoedAsync(browser, new HttpRequestMessage(HttpMethod.Get, _caddy.BaseUrl + "/whoami"));

        Assert.That(echoed["X-User-Email"], Is.EqualTo("alice@example.com"));
        Assert.That(echoed["X-User-Roles"], Is.EqualTo("admin,dev"));
        Assert.That(echoed["X-User-Title"], Is.EqualTo("LeadX-Injected: yes"), "the claim's CR/LF never reach a header");
        Assert.That(echoed.ContainsKey("X-Injected"), Is.False, "no header smuggled through a claim");
        Assert.That(echoed.GetValueOrDefault("Authorization")?.StartsWith("Bearer ", StringComparison.Ordinal), Is.True, "Authorization: Bearer …");

        // The forwarded token is the session's access token: the provider's, for alice, and accepted as her bearer token.
        var accessToken = echoed["Authorization"]["Bearer ".Length..];
        using var claims = Payload(accessToken);
        Assert.That(claims.RootElement.GetProperty("iss").GetString(), Is.EqualTo(_provider.Issuer));
        Assert.That(claims.RootElement.GetProperty("sub").GetString(), Is.EqualTo("alice"));
        using var api = new HttpClient();
        using var call = new HttpRequestMessage(HttpMethod.Get, _caddy.BaseUrl + "/api/items");
        call.Headers.TryAddWithoutValidation("Authorization", "Bearer " + accessToken);
        call.Headers.TryAddWithoutValidation("Accept", "application/json");
        var asBearer = await EchoedAsync(api, call);
        Assert.That(asBearer["X-User-Email"], Is.EqualTo("alice@example.com"), "the forwarded access token works as alice's bearer token");
        Assert.That(asBearer["Authorization"] == "Bearer " + accessToken, Is.True, "and is forwarded as it came");

        using var idToken = Payload(echoed["X-Id-Token"]);
        Assert.That(idToken.RootElement.GetProperty("aud").GetString(), Is.EqualTo(OidcProvider.ClientId), "{{.IDToken}}: the session's ID token");
        Assert.That(idToken.RootElement.GetProperty("sub").GetString(), Is.EqualTo("alice"));
    }

    [Test]
    public async Task UserWithoutTheClaims_HeadersPresentEmptyOrDefault_ClientValuesOverwritten()
    {
        using var browser = await SignedInAsync("bob");
        var request = new HttpRequestMessage(HttpMethod.Get, _caddy.BaseUrl + "/whoami");
        request.Headers.TryAddWithoutValidation("X-User-Roles", "admin");
        request.Headers.TryAddWithoutValidation("X-User-Email", "mallory@evil.example");

        var echoed = await EchoedAsync(browser, request);

        Assert.That(echoed["X-User-Email"], Is.EqualTo("bob@example.com"));
        Assert.That(echoed.GetValueOrDefault("X-User-Roles") ?? "", Is.Empty, "bob has no roles claim: nothing, and never the client's value");
        Assert.That(echoed["X-User-Title"], Is.EqualTo("none"));
    }

    [Test]
    public async Task NginxAuthRequest_202_CarriesTheTemplatedHeadersToo()
    {
        var jar = new CookieContainer();
        using var browser = await SignedInAsync("alice", jar);
        using var subrequest = new HttpRequestMessage(HttpMethod.Get, _forwardAuth.BaseUrl + "/oauth2/auth");
        subrequest.Headers.TryAddWithoutValidation("X-Original-URL", _caddy.BaseUrl + "/whoami");
        subrequest.Headers.TryAddWithoutValidation("X-Original-Method", "GET");
        subrequest.Headers.TryAddWithoutValidation("Cookie", jar.GetCookieHeader(new Uri(_caddy.BaseUrl)));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

        using var response = await http.SendAsync(subrequest);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(response.Headers.GetValues("X-User-Email").Single(), Is.EqualTo("alice@example.com"));
        Assert.That(response.Headers.GetValues("X-User-Roles").Single(), Is.EqualTo("admin,dev"));
        Assert.That(response.Headers.GetValues("X-User-Title").Single(), Is.EqualTo("LeadX-Injected: yes"));
        Assert.That(response.Headers.NonValidated.TryGetValues("Authorization", out var authorization) && authorization.Single().StartsWith("Bearer ey", StringComparison.Ordinal),
            Is.True, "Authorization: Bearer <the session's access token>");
    }

    private async Task<HttpClient> SignedInAsync(string login, CookieContainer? jar = null)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = jar ?? new CookieContainer() });
        var url = _caddy.BaseUrl + "/";
        for (var hop = 0; hop < 12; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Accept", "text/html");
            request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "navigate");
            using var response = await http.SendAsync(request);
            if (response.Headers.Location is null)
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "signed in and back on the page");
                return http;
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            if (url.StartsWith(_provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        throw new InvalidOperationException("the login through Caddy did not settle");
    }

    // The echo backend's answer: the request headers it saw. Never printed (they carry tokens).
    private static async Task<Dictionary<string, string>> EchoedAsync(HttpClient http, HttpRequestMessage request)
    {
        using var _ = request;
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the backend answered");
        return JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
    }

    private static JsonDocument Payload(string jwt)
    {
        var parts = jwt.Split('.');
        Assert.That(parts.Length == 3, Is.True, "a JWT");
        return JsonDocument.Parse(Base64UrlEncoder.Decode(parts[1]));
    }
}
