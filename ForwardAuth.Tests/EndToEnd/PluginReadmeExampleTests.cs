using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// The migration guide's worked example: the traefikoidc plugin README's own complete "With Templated Headers"
/// Middleware (EndToEnd/Fixtures/traefikoidc-readme-templated-headers.yaml, byte for byte; provenance in the fixtures'
/// README) as ForwardAuth's configuration file. Only the values that must point at this test's provider are given, as
/// environment variables (which win over the file). As pasted it starts with no "Unknown configuration key" line, and
/// after a login through the real Caddy the backend sees the headers the example's templates document, the one that
/// uses Go's <c>eq</c> (<c>X-Is-Admin</c>) included.
/// Token values are compared, never printed.
/// </summary>
[TestFixture]
[NonParallelizable]
public class PluginReadmeExampleTests
{
    private const string CopiedHeaders = "X-User-Email X-User-ID Authorization X-User-Roles X-Is-Admin";

    private static string Fixture => Path.Combine(
        TestPaths.RepoRoot, "ForwardAuth.Tests", "EndToEnd", "Fixtures", "traefikoidc-readme-templated-headers.yaml");

    private OidcProvider _provider = null!;
    private ForwardAuthInstance _forwardAuth = null!;
    private EchoBackend _backend = null!;
    private CaddyProxy _caddy = null!;
    private string _directory = null!;

    [OneTimeSetUp]
    public async Task StartStack()
    {
        _directory = TestPaths.NewTempDirectory("plugin-readme-example");
        var users = Path.Combine(_directory, "users.json");
        await File.WriteAllTextAsync(users, """{"alice": {"roles": ["admin", "dev"], "role": "admin"}, "bob": {"roles": ["dev"], "role": "dev"}}""");

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
        _forwardAuth = await ForwardAuthInstance.StartProcessAsync(Settings(_provider, Fixture));
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
    public void PastedAsIs_Starts_NoUnknownConfigurationKey()
    {
        var unknown = _forwardAuth.Logs.Where(l => l.Contains("Unknown configuration key", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.That(unknown, Is.Empty);
    }

    [Test]
    public async Task LoginThroughCaddy_BackendSeesTheHeadersTheExampleDocuments()
    {
        using var browser = await SignedInAsync("alice");

        var echoed = await EchoedAsync(browser, _caddy.BaseUrl + "/whoami");

        Assert.That(echoed.GetValueOrDefault("X-User-Email"), Is.EqualTo("alice@example.com"));
        Assert.That(echoed.GetValueOrDefault("X-User-ID"), Is.EqualTo("alice"));
        Assert.That(echoed.GetValueOrDefault("X-User-Roles"), Is.EqualTo("admin,dev"));
        Assert.That(echoed.GetValueOrDefault("X-Is-Admin"), Is.EqualTo("true"), "{{if eq .Claims.role \"admin\"}}");
        var authorization = echoed.GetValueOrDefault("Authorization") ?? "";
        Assert.That(authorization.StartsWith("Bearer ", StringComparison.Ordinal) && authorization.Length > "Bearer ".Length, Is.True,
            "Authorization: Bearer <the session's access token>");
        Assert.That(authorization.Split('.').Length == 3, Is.True, "the forwarded access token is the provider's JWT");
    }

    [Test]
    public async Task LoginThroughCaddy_NotAdmin_IsAdminHeaderFalse()
    {
        using var browser = await SignedInAsync("bob");

        var echoed = await EchoedAsync(browser, _caddy.BaseUrl + "/whoami");

        Assert.That(echoed.GetValueOrDefault("X-User-Email"), Is.EqualTo("bob@example.com"));
        Assert.That(echoed.GetValueOrDefault("X-Is-Admin"), Is.EqualTo("false"));
    }

    // The provider this test runs, in place of the README's Google values; everything else comes from the file.
    private static Dictionary<string, string> Settings(OidcProvider provider, string config) => new()
    {
        ["FORWARDAUTH_CONFIG"] = config,
        ["PROVIDER_URL"] = provider.Issuer,
        ["ALLOW_HTTP_PROVIDER"] = "true",
        ["CLIENT_ID"] = OidcProvider.ClientId,
        ["CLIENT_SECRET"] = OidcProvider.ClientSecret,
    };

    private async Task<HttpClient> SignedInAsync(string login)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
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
    private static async Task<Dictionary<string, string>> EchoedAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the backend answered");
        return JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
    }
}
