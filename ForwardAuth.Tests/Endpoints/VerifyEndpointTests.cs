using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>Every row of the forward-auth table, against a real replica, the real provider and real Redis.</summary>
[TestFixture]
public class VerifyEndpointTests : ReplicaPair
{
    private static void Xhr(HttpRequestMessage r) => r.Headers.Add("X-Requested-With", "XMLHttpRequest");

    [Test]
    public async Task Navigation_NoSession_302ToProviderWithPkceStateNonce()
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/page?q=1", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var location = response.Headers.Location!;
        var query = ForwardAuthClient.Query(location.PathAndQuery);
        Assert.Multiple(() =>
        {
            Assert.That(location.AbsoluteUri, Does.StartWith(Provider.Issuer + "/auth?"));
            Assert.That(query["code_challenge_method"], Is.EqualTo("S256"));
            Assert.That(query["code_challenge"], Has.Length.EqualTo(43));
            Assert.That(query["state"], Has.Length.GreaterThanOrEqualTo(43));
            Assert.That(query["nonce"], Has.Length.GreaterThanOrEqualTo(43));
            Assert.That(query["redirect_uri"], Is.EqualTo("http://app.test/oauth2/callback"));
            Assert.That(query["client_id"], Is.EqualTo(OidcProvider.ClientId));
            Assert.That(response.Headers.GetValues("Set-Cookie").Single(), Does.StartWith("_forwardauth_login_").And.Contain("httponly").IgnoreCase);
            Assert.That(response.Headers.CacheControl!.NoStore, Is.True);
        });
    }

    [Test]
    public async Task Navigation_NoSession_WritesNothingInRedis()
    {
        using var client = new ForwardAuthClient();
        var before = await Redis.KeysAsync("fa-test:*");

        using var response = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(await Redis.KeysAsync("fa-test:*"), Is.EquivalentTo(before), "the pending login travels in its cookie");
    }

    [TestCase("HEAD", 302)]
    [TestCase("POST", 303)]
    [TestCase("PUT", 303)]
    [TestCase("DELETE", 303)]
    public async Task Browser_NoSession_RedirectStatusByMethod(string method, int expected)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, method, "/form", ForwardAuthClient.Navigation);

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task PlainGet_NoHints_Redirects()
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [TestCase("X-Requested-With", "XMLHttpRequest")]
    [TestCase("Accept", "application/json")]
    [TestCase("Sec-Fetch-Mode", "cors")]
    [TestCase("Authorization", "Basic dXNlcjpwYXNz")]
    public async Task Api_NoSession_401WithChallengeAndLoginUrl(string header, string value)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api/items?page=2", r => r.Headers.TryAddWithoutValidation(header, value));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
            Assert.That(response.Headers.GetValues("X-Auth-Redirect").Single(), Is.EqualTo("http://app.test/oauth2/start?rd=%2Fapi%2Fitems%3Fpage%3D2"));
            Assert.That(body.GetProperty("error").GetString(), Is.Not.Empty);
            Assert.That(body.GetProperty("error_description").GetString(), Is.Not.Empty);
            Assert.That(response.Headers.Location, Is.Null);
        });
    }

    [Test]
    public async Task LoginUrl_FromA401_StartsALoginThatReturnsToTheApiPath()
    {
        using var client = new ForwardAuthClient();
        using var unauthorized = await client.AuthAsync(A, "GET", "/api/items", Xhr);
        var loginUri = new Uri(unauthorized.Headers.GetValues("X-Auth-Redirect").Single()).PathAndQuery;

        using var start = await client.AuthAsync(B, "GET", loginUri, ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice");
        using var done = await client.AuthAsync(A, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(done.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/api/items"));
    }

    [Test]
    public async Task Session_RouteRuleDenies_403NeverRedirect()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "bob");

        using var admins = await client.AuthAsync(A, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");
        using var users = await client.AuthAsync(A, "GET", "/team", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=users");
        using var byDomain = await client.AuthAsync(B, "GET", "/x", ForwardAuthClient.Navigation, "/auth?allowedUserDomains=other.org");
        using var byUser = await client.AuthAsync(B, "GET", "/x", ForwardAuthClient.Navigation, "/auth?allowedUsers=BOB@example.com");

        Assert.Multiple(() =>
        {
            Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(admins.Headers.Location, Is.Null);
            Assert.That(users.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(byDomain.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(byUser.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task ExcludedPath_200WithEveryIdentityHeaderEmpty()
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/public/logo.png?x=/admin", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        foreach (var header in new[] { "X-Forwarded-User", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username", "Authorization" })
        {
            Assert.That(response.Headers.TryGetValues(header, out var values), Is.True, header);
            Assert.That(values!.Single(), Is.Empty, header);
        }
    }

    [TestCase("/admin?/public")]
    [TestCase("/admin#/public")]
    [TestCase("/public/../admin")]
    [TestCase("/public/%2e%2e/admin")]
    [TestCase("/publicity")]
    public async Task NotExcluded_PathTricks_NeedLogin(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", uri, ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [Test]
    public async Task CorsPreflight_200WithoutIdentity()
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "OPTIONS", "/api", r =>
        {
            r.Headers.Add("Origin", "http://spa.test");
            r.Headers.Add("Access-Control-Request-Method", "POST");
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.Empty);
    }

    [TestCase("X-Forwarded-Method")]
    [TestCase("X-Forwarded-Proto")]
    [TestCase("X-Forwarded-Host")]
    [TestCase("X-Forwarded-Uri")]
    public async Task ForwardedHeader_Missing_400(string header)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, A.BaseUrl + "/auth");
        foreach (var (name, value) in new[] { ("X-Forwarded-Method", "GET"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "app.test"), ("X-Forwarded-Uri", "/") })
        {
            if (name != header)
            {
                request.Headers.Add(name, value);
            }
        }

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("X-Forwarded-Uri", "no-leading-slash")]
    [TestCase("X-Forwarded-Uri", "/with space")]
    [TestCase("X-Forwarded-Uri", "/tab\there")]
    [TestCase("X-Forwarded-Proto", "gopher")]
    [TestCase("X-Forwarded-Host", "app.test@evil.test")]
    [TestCase("X-Forwarded-Host", "app.test/evil")]
    [TestCase("X-Forwarded-Host", "bad host")]
    [TestCase("X-Forwarded-Method", "GET /x")]
    public async Task ForwardedHeader_Malformed_400(string header, string value)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/", r =>
        {
            r.Headers.Remove(header);
            r.Headers.TryAddWithoutValidation(header, value);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("/path\0nul")]
    [TestCase("/path\rcr")]
    [TestCase("/path\nlf")]
    [TestCase("/path\u0001ctl")]
    public async Task ForwardedUri_ControlCharacters_400(string uri)
    {
        var raw = "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Proto: http\r\n" +
                  $"X-Forwarded-Host: app.test\r\nX-Forwarded-Uri: {uri}\r\nConnection: close\r\n\r\n";

        Assert.That(await RawHttp.StatusAsync(A.Port, raw), Is.EqualTo(400));
    }

    [Test]
    public async Task ForwardedHeaders_FromUntrustedPeer_IgnoredNotBelieved()
    {
        await using var strict = await StartReplicaAsync(new() { ["TRUSTED_PROXIES"] = "10.9.9.9/32" });
        using var client = new ForwardAuthClient();

        using var excludedClaim = await client.AuthAsync(strict, "GET", "/public/x", ForwardAuthClient.Navigation);
        using var callbackClaim = await client.AuthAsync(strict, "GET", "/oauth2/callback?state=x&code=y", ForwardAuthClient.Navigation);

        Assert.Multiple(() =>
        {
            Assert.That(excludedClaim.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a spoofed excluded path is not believed");
            var returnTo = ForwardAuthClient.Query(excludedClaim.Headers.Location!.PathAndQuery)["redirect_uri"];
            Assert.That(returnTo, Does.StartWith($"http://127.0.0.1:{strict.Port}/"), "judged as the peer sent it, not for app.test");
            Assert.That(callbackClaim.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a spoofed callback path is not a callback");
        });
    }

    [TestCase("X_Forwarded_User")]
    [TestCase("x_auth_request_email")]
    [TestCase("X-Auth_Request-Groups")]
    [TestCase("X_FORWARDED_USER")]
    public async Task IdentityHeaderLookAlike_WithUnderscore_400(string header)
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "alice");

        using var response = await client.AuthAsync(A, "GET", "/", r => r.Headers.TryAddWithoutValidation(header, "admin@example.com"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task IdentityHeaders_FromTheClient_AreOverwrittenNotEchoed()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "bob");

        using var response = await client.AuthAsync(A, "GET", "/", r =>
        {
            r.Headers.TryAddWithoutValidation("X-Forwarded-User", "admin@example.com");
            r.Headers.TryAddWithoutValidation("x-auth-request-groups", "admins");
        });

        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
        Assert.That(response.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("users"));
    }

    [Test]
    public async Task Bearer_ValidAccessToken_200WithIdentity()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");
        using var client = new ForwardAuthClient();

        using var first = await client.AuthAsync(A, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + tokens.AccessToken));
        using var again = await client.AuthAsync(B, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + tokens.AccessToken));

        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(first.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK), "reusing a valid bearer token is not a replay");
        });
    }

    [Test]
    public async Task Bearer_ValidButRouteDenies_403()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "bob");
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + tokens.AccessToken), "/auth?allowedRolesAndGroups=admins");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Bearer_IdToken_401()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");
        await using var audienceIsClient = await StartReplicaAsync(new() { ["AUDIENCE"] = "" });
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(audienceIsClient, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + tokens.IdToken));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
    }

    public static IEnumerable<TestCaseData> ForgedTokens()
    {
        yield return new TestCaseData("alg none").SetName("Bearer_AlgNone_401");
        yield return new TestCaseData("hs256 with public key").SetName("Bearer_Hs256SignedWithThePublicKey_401");
        yield return new TestCaseData("unknown kid").SetName("Bearer_UnknownKid_401");
        yield return new TestCaseData("expired").SetName("Bearer_Expired_401");
        yield return new TestCaseData("future nbf").SetName("Bearer_FutureNotBefore_401");
        yield return new TestCaseData("wrong iss").SetName("Bearer_WrongIssuer_401");
        yield return new TestCaseData("wrong aud").SetName("Bearer_WrongAudience_401");
        yield return new TestCaseData("no exp").SetName("Bearer_NoExpiry_401");
        yield return new TestCaseData("id token claims").SetName("Bearer_IdTokenShapedWithoutAtJwtType_401");
        yield return new TestCaseData("garbage").SetName("Bearer_NotAJwt_401");
    }

    [TestCaseSource(nameof(ForgedTokens))]
    public async Task Bearer_Forged_401WithInvalidToken(string kind)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Dictionary<string, object> Claims(long exp, string iss, string aud) => new()
        {
            ["iss"] = iss, ["aud"] = aud, ["sub"] = "alice", ["email"] = "alice@example.com", ["iat"] = now, ["exp"] = exp,
        };
        var good = Claims(now + 300, Provider.Issuer, ApiAudience);
        var token = kind switch
        {
            "alg none" => Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""") + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(good)) + ".",
            "hs256 with public key" => Provider.Mint(good, "at+jwt", new SigningCredentials(
                new SymmetricSecurityKey(Provider.SigningKey.Rsa.ExportSubjectPublicKeyInfo()) { KeyId = OidcProvider.KeyId }, SecurityAlgorithms.HmacSha256)),
            "unknown kid" => Provider.Mint(good, "at+jwt", new SigningCredentials(
                new RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = "attacker-key" }, SecurityAlgorithms.RsaSha256)),
            "expired" => Provider.Mint(Claims(now - 600, Provider.Issuer, ApiAudience), "at+jwt"),
            "future nbf" => Provider.Mint(new Dictionary<string, object>(good) { ["nbf"] = now + 600 }, "at+jwt"),
            "wrong iss" => Provider.Mint(Claims(now + 300, "https://evil.example", ApiAudience), "at+jwt"),
            "wrong aud" => Provider.Mint(Claims(now + 300, Provider.Issuer, "https://other-api.example"), "at+jwt"),
            "no exp" => Provider.Mint(new Dictionary<string, object>(good.Where(c => c.Key != "exp").ToDictionary()), "at+jwt"),
            "id token claims" => Provider.Mint(new Dictionary<string, object>(good) { ["nonce"] = "n" }, "JWT"),
            _ => "not.a.jwt",
        };
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("error=\"invalid_token\""));
        Assert.That(response.Headers.TryGetValues("X-Auth-Redirect", out _), Is.True);
    }

    [Test]
    public async Task Bearer_MintedWithProviderKey_Accepted()
    {
        // The positive control of the forged cases: the same minting path with every claim right is accepted.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = Provider.Mint(new Dictionary<string, object>
        {
            ["iss"] = Provider.Issuer, ["aud"] = ApiAudience, ["sub"] = "carol", ["email"] = "carol@example.com", ["iat"] = now, ["exp"] = now + 300,
        }, "at+jwt");
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + token));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("carol@example.com"));
    }

    [TestCase("//evil.example")]
    [TestCase("//evil.example/path")]
    [TestCase("/\\evil.example")]
    [TestCase("/%2F%2Fevil.example")]
    [TestCase("/%5C%5Cevil.example")]
    [TestCase("/@evil.example")]
    [TestCase("///evil.example")]
    [TestCase("/%09//evil.example")]
    [TestCase("/%20//evil.example")]
    [TestCase("/%0d%0a//evil.example")]
    [TestCase("/..//evil.example")]
    public async Task OpenRedirect_InOriginalUri_ReturnStaysOnTheProtectedHost(string uri)
    {
        using var client = new ForwardAuthClient();

        using var done = await client.LoginAsync(A, B, uri, "alice");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(done.Headers.Location!.IsAbsoluteUri, Is.True);
        Assert.That(done.Headers.Location!.Host, Is.EqualTo("app.test"));
    }

    [TestCase("//evil.example")]
    [TestCase("/\\evil.example")]
    [TestCase("https://evil.example/")]
    [TestCase("%2F%2Fevil.example")]
    [TestCase("%09//evil.example")]
    [TestCase("javascript:alert(1)")]
    public async Task OpenRedirect_InLoginRd_ReturnStaysOnTheProtectedHost(string rd)
    {
        using var client = new ForwardAuthClient();
        using var start = await client.AuthAsync(A, "GET", "/oauth2/start?rd=" + Uri.EscapeDataString(rd), ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice");

        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(done.Headers.Location!.Host, Is.EqualTo("app.test"));
    }
}
