using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// A client must never get its own identity header to the backend: every identity header (in any spelling of its
/// case) is always answered — possibly empty — so the proxy overwrites it; a look-alike spelt with <c>_</c>, which
/// the proxy would not overwrite but CGI/PHP/nginx backends read as the real one, is refused with 400 even on
/// excluded paths; identity values never carry CR/LF into the headers.
/// </summary>
[TestFixture]
public class HeaderSmugglingTests
{
    private static readonly string[] IdentityHeaderNames =
        ["X-Forwarded-User", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username", TenantHeader];

    private static readonly Dictionary<string, string> BobsValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["X-Forwarded-User"] = "bob@example.com",
        ["X-Auth-Request-User"] = "bob@example.com",
        ["X-Auth-Request-Email"] = "bob@example.com",
        ["X-Auth-Request-Groups"] = "users",
        ["X-Auth-Request-Preferred-Username"] = "bob",
        [TenantHeader] = "",
    };

    private ForwardAuthClient _bob = null!;

    [OneTimeSetUp]
    public async Task LogInBob() => _bob = await Attack.LoggedInAsync("bob");

    [OneTimeTearDown]
    public void Dispose() => _bob.Dispose();

    private static IEnumerable<string> CaseVariants(string name)
    {
        yield return name;
        yield return name.ToLowerInvariant();
        yield return name.ToUpperInvariant();
        yield return new string(name.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());
        yield return new string(name.Select((c, i) => i % 2 == 1 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());
    }

    public static IEnumerable<TestCaseData> AnyCaseNames() =>
        from name in IdentityHeaderNames
        from variant in CaseVariants(name)
        select new TestCaseData(name, variant).SetArgDisplayNames(variant);

    private static IEnumerable<string> UnderscoreVariants(string name)
    {
        yield return name.Replace('-', '_');
        yield return name.ToLowerInvariant().Replace('-', '_');
        var first = name.IndexOf('-', StringComparison.Ordinal);
        yield return name[..first] + "_" + name[(first + 1)..];
        var last = name.LastIndexOf('-');
        yield return name[..last] + "_" + name[(last + 1)..];
    }

    public static IEnumerable<TestCaseData> UnderscoreNames() =>
        from name in IdentityHeaderNames
        from variant in UnderscoreVariants(name).Distinct(StringComparer.Ordinal)
        select new TestCaseData(variant).SetArgDisplayNames(variant);

    [TestCaseSource(nameof(AnyCaseNames))]
    public async Task Session_ClientSendsIdentityHeaderInAnyCase_AnsweredWithTheRealValueOnce(string canonical, string spelling)
    {
        using var response = await _bob.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation(spelling, "admin@example.com,admins"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues(canonical).Single(), Is.EqualTo(BobsValues[canonical]));
    }

    [TestCaseSource(nameof(AnyCaseNames))]
    public async Task ExcludedPath_ClientSendsIdentityHeaderInAnyCase_AnsweredEmpty(string canonical, string spelling)
    {
        using var anonymous = new ForwardAuthClient();

        using var response = await anonymous.AuthAsync(A, "GET", "/public/x", r => r.Headers.TryAddWithoutValidation(spelling, "admin@example.com"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues(canonical).Single(), Is.Empty);
    }

    [TestCaseSource(nameof(UnderscoreNames))]
    public async Task Session_IdentityLookAlikeWithUnderscore_400(string name)
    {
        using var response = await _bob.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation(name, "admin@example.com"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCaseSource(nameof(UnderscoreNames))]
    public async Task ExcludedPath_IdentityLookAlikeWithUnderscore_400(string name)
    {
        using var anonymous = new ForwardAuthClient();

        using var response = await anonymous.AuthAsync(A, "GET", "/public/x", r => r.Headers.TryAddWithoutValidation(name, "admin@example.com"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("X_Forwarded_Roles")]
    [TestCase("x_forwarded_access_token")]
    [TestCase("X_Auth_Request_Access_Token")]
    [TestCase("X_Auth_Request_Anything")]
    public async Task AnyForwardedOrAuthRequestLookAlikeWithUnderscore_400(string name)
    {
        using var response = await _bob.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation(name, "admins"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("X_Custom_Trace")]
    [TestCase("my_header")]
    [TestCase("X_Forwarded")]
    [TestCase("Auth_Request_User")]
    public async Task UnrelatedHeaderWithUnderscore_NotRefused(string name)
    {
        using var response = await _bob.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation(name, "1"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Session_ClientSendsItsOwnAuthorization_AnsweredWithTheSessionsToken()
    {
        using var response = await _bob.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation("Authorization", "Basic YWRtaW46YWRtaW4="));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer ey"));
    }

    [Test]
    public async Task ExcludedPath_ClientSendsAuthorization_AnsweredEmpty()
    {
        using var anonymous = new ForwardAuthClient();

        using var response = await anonymous.AuthAsync(A, "GET", "/public/x", r => r.Headers.TryAddWithoutValidation("Authorization", "Basic YWRtaW46YWRtaW4="));

        Assert.That(response.Headers.GetValues("Authorization").Single(), Is.Empty);
    }

    [TestCase("email", "bob@example.com\r\nX-Injected: 1")]
    [TestCase("email", "bob@example.com\nX-Injected: 1")]
    [TestCase("preferred_username", "bob\r\nX-Injected: 1")]
    [TestCase("preferred_username", "bob\u0000\u0007\u001b[31m")]
    [TestCase("tenant", "acme\r\n\r\n<html>")]
    public async Task Bearer_ClaimWithLineBreaks_NoHeaderInjected(string claim, string value)
    {
        var claims = Attack.AccessClaims("mallory", "mallory@example.com");
        claims[claim] = value;
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", Attack.Bearer(Provider.Mint(claims, "at+jwt")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.Contains("X-Injected"), Is.False);
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            Assert.That(header.Value, Has.All.Not.Contain("\r").And.Not.Contain("\n").And.Not.Contain("\0"), header.Key);
        }
    }

    [Test]
    public async Task Groups_ClaimWithLineBreaks_NoHeaderInjected()
    {
        var claims = Attack.AccessClaims("mallory", "mallory@example.com");
        claims["groups"] = new[] { "users\r\nX-Injected: admins", "ops" };
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", Attack.Bearer(Provider.Mint(claims, "at+jwt")));

        Assert.That(response.Headers.Contains("X-Injected"), Is.False);
        Assert.That(response.Headers.GetValues("X-Auth-Request-Groups").Single(), Does.Not.Contain("\n"));
    }

    private static async Task<JsonElement> EchoAsync(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static IEnumerable<string> Values(JsonElement echo, string name) =>
        echo.EnumerateObject().Where(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Select(p => p.Value.GetString() ?? "");

    public static IEnumerable<TestCaseData> CaddyNames() =>
        from name in IdentityHeaderNames
        from variant in new[] { name.ToLowerInvariant(), name.ToUpperInvariant() }
        select new TestCaseData(name, variant).SetArgDisplayNames(variant);

    [TestCaseSource(nameof(CaddyNames))]
    public async Task ThroughCaddy_ExcludedPath_ClientIdentityHeaderReachesTheBackendEmpty(string canonical, string spelling)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/public/page");
        request.Headers.TryAddWithoutValidation(spelling, "admin@example.com");

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(string.Concat(Values(echo, canonical)), Is.Empty);
    }

    [TestCaseSource(nameof(UnderscoreNames))]
    public async Task ThroughCaddy_ExcludedPath_UnderscoreLookAlikeNeverReachesTheBackend(string name)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/public/page");
        request.Headers.TryAddWithoutValidation(name, "admin@example.com");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("x-echo-path"));
    }

    [Test]
    public async Task ThroughCaddy_IdentityHeaderSentTwice_BackendSeesOnlyTheRealValue()
    {
        using var http = await Attack.LoggedInThroughCaddyAsync("bob");
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/whoami");
        request.Headers.TryAddWithoutValidation("X-Forwarded-User", ["admin@example.com", "root@example.com"]);
        request.Headers.TryAddWithoutValidation("X-Auth-Request-Groups", ["admins", "admins"]);

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(Values(echo, "X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
        Assert.That(Values(echo, "X-Auth-Request-Groups").Single(), Is.EqualTo("users"));
    }

    [Test]
    public async Task ThroughCaddy_ClaimWithLineBreaks_BackendSeesNoInjectedHeader()
    {
        var claims = Attack.AccessClaims("mallory", "mallory@example.com\r\nX-Injected: 1");
        claims["tenant"] = "acme\r\nX-Forwarded-User: admin@example.com";
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/api/me");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Provider.Mint(claims, "at+jwt"));

        var echo = await EchoAsync(await http.SendAsync(request));

        Assert.That(Values(echo, "X-Injected"), Is.Empty);
        Assert.That(Values(echo, "X-Forwarded-User").Single(), Does.StartWith("mallory@example.com"));
    }
}
