using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ForwardAuth.Oidc;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// Bearer tokens: only the provider's asymmetric signature counts (no <c>none</c>, no HMAC with a public key, no key
/// the token itself points to or carries), an unknown <c>kid</c> cannot make ForwardAuth hammer the provider, every
/// time claim is checked at the skew boundary on an exact clock, the audience is exact, an ID or logout token is not
/// an access token, and a malformed <c>Authorization</c> header never falls back to something weaker.
/// </summary>
[TestFixture]
public class TokenAttackTests
{
    private const long Skew = 60;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly ProviderRequests _requests = new();
    private ForwardAuthInstance _clocked = null!;
    private ForwardAuthInstance _audienceIsClient = null!;
    private RSA _attackerKey = null!;

    [OneTimeSetUp]
    public async Task StartReplicas()
    {
        _attackerKey = RSA.Create(2048);
        _clocked = await StartReplicaAsync(new Dictionary<string, string>(), services =>
        {
            services.AddSingleton<TimeProvider>(_clock);
            services.AddHttpClient(ProviderHttp.ClientName).AddHttpMessageHandler(() => new CountingHandler(_requests));
        });
        _audienceIsClient = await StartReplicaAsync(new Dictionary<string, string> { ["AUDIENCE"] = "" });
    }

    [OneTimeTearDown]
    public async Task StopReplicas()
    {
        await _clocked.DisposeAsync();
        await _audienceIsClient.DisposeAsync();
        _attackerKey.Dispose();
    }

    private long Now => _clock.GetUtcNow().ToUnixTimeSeconds();

    private static RSA ProviderKey => Provider.SigningKey.Rsa;

    private Dictionary<string, object> Claims() => Attack.AccessClaims("carol", "carol@example.com", Now);

    private static Dictionary<string, object> Header(string alg = "RS256", string? kid = OidcProvider.KeyId, string typ = "at+jwt")
    {
        var header = new Dictionary<string, object> { ["alg"] = alg, ["typ"] = typ };
        if (kid is not null)
        {
            header["kid"] = kid;
        }

        return header;
    }

    private async Task<HttpResponseMessage> BearerAsync(string token, ForwardAuthInstance? replica = null)
    {
        using var client = new ForwardAuthClient();
        return await client.AuthAsync(replica ?? _clocked, "GET", "/api", Attack.Bearer(token));
    }

    private async Task AssertRefusedAsync(string token, ForwardAuthInstance? replica = null)
    {
        using var response = await BearerAsync(token, replica);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
        Assert.That(response.Headers.Contains("X-Forwarded-User"), Is.False);
    }

    private async Task AssertAcceptedAsync(string token, ForwardAuthInstance? replica = null)
    {
        using var response = await BearerAsync(token, replica);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("carol@example.com"));
    }

    [Test]
    public async Task Control_HandBuiltRs256WithTheProvidersKey_Accepted() =>
        await AssertAcceptedAsync(Jwt.Build(Header(), Claims(), Jwt.Rs256(ProviderKey)));

    [TestCase("none")]
    [TestCase("None")]
    [TestCase("NONE")]
    [TestCase("nOnE")]
    public async Task AlgNone_EmptySignature_Refused(string alg) =>
        await AssertRefusedAsync(Jwt.Build(Header(alg), Claims(), Jwt.Unsigned));

    [TestCase("none")]
    [TestCase("RS256")]
    public async Task AlgNoneOrRs256_SignatureStripped_Refused(string alg)
    {
        var signed = Jwt.Build(Header(alg), Claims(), Jwt.Rs256(ProviderKey));

        await AssertRefusedAsync(signed[..(signed.LastIndexOf('.') + 1)]);
    }

    [Test]
    public async Task AlgMissing_Refused() =>
        await AssertRefusedAsync(Jwt.Build(new Dictionary<string, object> { ["kid"] = OidcProvider.KeyId, ["typ"] = "at+jwt" }, Claims(), Jwt.Rs256(ProviderKey)));

    public static IEnumerable<TestCaseData> PublicKeyEncodings()
    {
        yield return new TestCaseData("spki-der", 256);
        yield return new TestCaseData("pkcs1-der", 256);
        yield return new TestCaseData("spki-pem", 256);
        yield return new TestCaseData("pkcs1-pem", 256);
        yield return new TestCaseData("modulus", 256);
        yield return new TestCaseData("n-base64url", 256);
        yield return new TestCaseData("jwk-json", 256);
        yield return new TestCaseData("spki-der", 384);
        yield return new TestCaseData("spki-pem", 512);
    }

    [TestCaseSource(nameof(PublicKeyEncodings))]
    public async Task AlgConfusion_HmacKeyedWithTheProvidersPublicKey_Refused(string encoding, int bits)
    {
        var rsa = ProviderKey;
        var secret = encoding switch
        {
            "spki-der" => rsa.ExportSubjectPublicKeyInfo(),
            "pkcs1-der" => rsa.ExportRSAPublicKey(),
            "spki-pem" => Encoding.ASCII.GetBytes(rsa.ExportSubjectPublicKeyInfoPem()),
            "pkcs1-pem" => Encoding.ASCII.GetBytes(rsa.ExportRSAPublicKeyPem()),
            "modulus" => rsa.ExportParameters(false).Modulus!,
            "n-base64url" => Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(rsa.ExportParameters(false).Modulus)),
            _ => Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(Jwt.PublicJwk(rsa, OidcProvider.KeyId))),
        };

        await AssertRefusedAsync(Jwt.Build(Header("HS" + bits), Claims(), Jwt.Hmac(secret, bits)));
    }

    [TestCase("ES256")]
    [TestCase("PS256")]
    [TestCase("RS512")]
    [TestCase("RSA-OAEP")]
    [TestCase("EdDSA")]
    public async Task AlgHeaderDisagreesWithTheRs256Signature_Refused(string alg) =>
        await AssertRefusedAsync(Jwt.Build(Header(alg), Claims(), Jwt.Rs256(ProviderKey)));

    [Test]
    public async Task ProvidersKid_AttackersKey_Refused() =>
        await AssertRefusedAsync(Jwt.Build(Header(), Claims(), Jwt.Rs256(_attackerKey)));

    [Test]
    public async Task Ps256WithTheProvidersKey_Accepted() =>
        await AssertAcceptedAsync(Jwt.Build(Header("PS256"), Claims(), Jwt.Ps256(ProviderKey)));

    [Test]
    public async Task UnknownKids_ManyForgeries_JwksRefetchRateLimited()
    {
        Assert.That(_requests.Jwks, Is.GreaterThanOrEqualTo(1), "the counter sees the replica's own JWKS fetch");
        var before = _requests.Jwks;
        var discoveryBefore = _requests.Discovery;

        for (var i = 0; i < 40; i++)
        {
            var kid = i % 4 == 0 ? null : "forged-" + i;
            await AssertRefusedAsync(Jwt.Build(Header(kid: kid), Claims(), Jwt.Rs256(_attackerKey)));
        }

        Assert.That(_requests.Jwks - before, Is.LessThanOrEqualTo(1), "at most one refetch per 30 s, whatever the forgeries");
        Assert.That(_requests.Discovery - discoveryBefore, Is.LessThanOrEqualTo(1));
    }

    [TestCase("jku")]
    [TestCase("x5u")]
    [TestCase("jwk")]
    [TestCase("x5c")]
    [TestCase("all")]
    public async Task KeyPointedToOrCarriedByTheToken_IgnoredNeverFetched(string header)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var connections = 0;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var socket = await listener.AcceptSocketAsync(stop.Token);
                Interlocked.Increment(ref connections);
            }
        });
        var jwks = $"http://127.0.0.1:{port}/jwks.json";
        using var cert = new CertificateRequest("CN=attacker", _attackerKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var forged = Header(kid: "attacker-key");
        if (header is "jku" or "all")
        {
            forged["jku"] = jwks;
        }

        if (header is "x5u" or "all")
        {
            forged["x5u"] = jwks;
        }

        if (header is "jwk" or "all")
        {
            forged["jwk"] = Jwt.PublicJwk(_attackerKey, "attacker-key");
        }

        if (header is "x5c" or "all")
        {
            forged["x5c"] = new[] { Convert.ToBase64String(cert.Export(X509ContentType.Cert)) };
        }

        await AssertRefusedAsync(Jwt.Build(forged, Claims(), Jwt.Rs256(_attackerKey)));
        await stop.CancelAsync();
        listener.Stop();
        await Task.WhenAny(accepting, Task.Delay(TimeSpan.FromSeconds(5)));

        Assert.That(connections, Is.Zero, "ForwardAuth never fetches a key a token names");
    }

    public static IEnumerable<TestCaseData> TimeEdges()
    {
        // claim, offset from now (seconds), accepted
        yield return new TestCaseData("exp", -Skew, true).SetArgDisplayNames("exp", "now-60", "accepted");
        yield return new TestCaseData("exp", -Skew - 1, false).SetArgDisplayNames("exp", "now-61", "refused");
        yield return new TestCaseData("exp", 0L, true).SetArgDisplayNames("exp", "now", "accepted");
        yield return new TestCaseData("nbf", Skew, true).SetArgDisplayNames("nbf", "now+60", "accepted");
        yield return new TestCaseData("nbf", Skew + 1, false).SetArgDisplayNames("nbf", "now+61", "refused");
        yield return new TestCaseData("nbf", -3600L, true).SetArgDisplayNames("nbf", "now-3600", "accepted");
        yield return new TestCaseData("iat", Skew, true).SetArgDisplayNames("iat", "now+60", "accepted");
        yield return new TestCaseData("iat", Skew + 1, false).SetArgDisplayNames("iat", "now+61", "refused");
        yield return new TestCaseData("iat", 86_400L * 365, false).SetArgDisplayNames("iat", "now+1y", "refused");
        yield return new TestCaseData("iat", -3600L, true).SetArgDisplayNames("iat", "now-3600", "accepted");
    }

    [TestCaseSource(nameof(TimeEdges))]
    public async Task TimeClaim_AtTheSkewBoundary_DecidedExactly(string claim, long offset, bool accepted)
    {
        // Claims are whole seconds: on a clock between two seconds, "now - 60" would already be 60.x seconds ago.
        _clock.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds(Now + 1));
        var claims = Claims();
        claims[claim] = Now + offset;
        var token = Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey));

        if (accepted)
        {
            await AssertAcceptedAsync(token);
        }
        else
        {
            await AssertRefusedAsync(token);
        }
    }

    [Test]
    public async Task TimeClaim_TokenAgesOnTheClock_AcceptedThenRefusedOneSecondPastTheSkew()
    {
        var claims = Claims();
        var token = Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey));
        var exp = (long)claims["exp"];

        _clock.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds(exp + Skew));
        await AssertAcceptedAsync(token);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertRefusedAsync(token);
    }

    public static IEnumerable<TestCaseData> OddTimeValues()
    {
        yield return new TestCaseData("exp", null).SetArgDisplayNames("exp", "missing");
        yield return new TestCaseData("exp", "0").SetArgDisplayNames("exp", "0");
        yield return new TestCaseData("exp", "-1").SetArgDisplayNames("exp", "-1");
        yield return new TestCaseData("exp", "\"soon\"").SetArgDisplayNames("exp", "a word");
        yield return new TestCaseData("exp", "\"\"").SetArgDisplayNames("exp", "empty string");
        yield return new TestCaseData("exp", "null").SetArgDisplayNames("exp", "null");
        yield return new TestCaseData("exp", "true").SetArgDisplayNames("exp", "true");
        yield return new TestCaseData("exp", "[]").SetArgDisplayNames("exp", "array");
        yield return new TestCaseData("exp", "{}").SetArgDisplayNames("exp", "object");
        yield return new TestCaseData("exp", "1e400").SetArgDisplayNames("exp", "1e400");
        yield return new TestCaseData("nbf", "\"later\"").SetArgDisplayNames("nbf", "a word");
        yield return new TestCaseData("nbf", "99999999999999999999").SetArgDisplayNames("nbf", "beyond long");
        yield return new TestCaseData("iat", "\"now\"").SetArgDisplayNames("iat", "a word");
        yield return new TestCaseData("iat", "99999999999999999999").SetArgDisplayNames("iat", "beyond long");
    }

    [TestCaseSource(nameof(OddTimeValues))]
    public async Task TimeClaim_NotANumericDate_RefusedNeverAServerError(string claim, string? json)
    {
        var payload = new Dictionary<string, object>(Claims());
        payload.Remove(claim);
        var token = json is null
            ? Jwt.Build(Header(), payload, Jwt.Rs256(ProviderKey))
            : BuildWithRawClaim(payload, claim, json);

        await AssertRefusedAsync(token);
    }

    private static string BuildWithRawClaim(Dictionary<string, object> payload, string claim, string json)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(payload);
        body = body[..^1] + $",\"{claim}\":{json}}}";
        var input = Jwt.Encode(Header()) + "." + Base64UrlEncoder.Encode(body);
        return input + "." + Base64UrlEncoder.Encode(Jwt.Rs256(ProviderKey)(Encoding.ASCII.GetBytes(input)));
    }

    [Test]
    public async Task TimeClaim_FarFutureExpiry_NoServerError()
    {
        var claims = Claims();
        claims["exp"] = 253_402_300_800L * 10;

        using var response = await BearerAsync(Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey)));

        Assert.That((int)response.StatusCode, Is.AnyOf(200, 401));
    }

    public static IEnumerable<TestCaseData> Audiences()
    {
        yield return new TestCaseData(new[] { ReplicaPair.ApiAudience, "https://other.example" }, true).SetArgDisplayNames("ours and another");
        yield return new TestCaseData(new[] { "https://other.example", ReplicaPair.ApiAudience }, true).SetArgDisplayNames("another and ours");
        yield return new TestCaseData(new[] { OidcProvider.ClientId }, false).SetArgDisplayNames("the client id (ID-token audience)");
        yield return new TestCaseData(new[] { "HTTPS://API.APP.TEST" }, false).SetArgDisplayNames("upper case");
        yield return new TestCaseData(new[] { "https://api.app.test.evil.example" }, false).SetArgDisplayNames("ours as a prefix");
        yield return new TestCaseData(new[] { "https://api.app" }, false).SetArgDisplayNames("a prefix of ours");
        yield return new TestCaseData(new[] { "" }, false).SetArgDisplayNames("empty string");
        yield return new TestCaseData(Array.Empty<string>(), false).SetArgDisplayNames("empty array");
        yield return new TestCaseData(new[] { " https://api.app.test" }, false).SetArgDisplayNames("leading space");
        yield return new TestCaseData(new[] { "https://api.app.test\u0000" }, false).SetArgDisplayNames("trailing NUL");
    }

    [TestCaseSource(nameof(Audiences))]
    public async Task Audience_ExactMemberRequired(string[] audiences, bool accepted)
    {
        var claims = Claims();
        claims["aud"] = audiences.Length == 1 ? audiences[0] : audiences;
        var token = Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey));

        if (accepted)
        {
            await AssertAcceptedAsync(token);
        }
        else
        {
            await AssertRefusedAsync(token);
        }
    }

    [Test]
    public async Task Audience_Missing_Refused()
    {
        var claims = Claims();
        claims.Remove("aud");

        await AssertRefusedAsync(Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey)));
    }

    [TestCase("https://evil.example")]
    [TestCase("")]
    [TestCase("http://localhost")]
    public async Task Issuer_NotTheProvider_Refused(string issuer)
    {
        var claims = Claims();
        claims["iss"] = issuer;

        await AssertRefusedAsync(Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey)));
    }

    [Test]
    public async Task Issuer_WithATrailingSlashOrOtherCase_Refused()
    {
        foreach (var issuer in new[] { Provider.Issuer + "/", Provider.Issuer.ToUpperInvariant() })
        {
            var claims = Claims();
            claims["iss"] = issuer;
            await AssertRefusedAsync(Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey)));
        }
    }

    [Test]
    public async Task IdToken_FromTheProvider_RefusedAsAnAccessToken()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");

        await AssertRefusedAsync(tokens.IdToken, _audienceIsClient);
    }

    [Test]
    public async Task AccessToken_FromTheProvider_AcceptedWhereItsAudienceIsConfigured()
    {
        var tokens = await ProviderLogin.ObtainAsync(Provider, "alice");

        using var response = await BearerAsync(tokens.AccessToken, A);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await BearerAsync(tokens.AccessToken, _audienceIsClient)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "wrong audience there");
    }

    [TestCase("nonce", "n-1")]
    [TestCase("at_hash", "x1Y2")]
    [TestCase("c_hash", "x1Y2")]
    [TestCase("s_hash", "x1Y2")]
    public async Task IdTokenShaped_WithAnIdTokenOnlyClaim_RefusedAsAnAccessToken(string claim, string value)
    {
        var claims = Attack.AccessClaims("carol", "carol@example.com", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        claims["aud"] = OidcProvider.ClientId;
        claims[claim] = value;

        await AssertRefusedAsync(Jwt.Build(Header(typ: "JWT"), claims, Jwt.Rs256(ProviderKey)), _audienceIsClient);
    }

    [TestCase("JWT")]
    [TestCase("logout+jwt")]
    [TestCase("application/logout+jwt")]
    public async Task LogoutTokenShaped_RefusedAsAnAccessToken(string typ)
    {
        var claims = Attack.AccessClaims("carol", "carol@example.com", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        claims["aud"] = OidcProvider.ClientId;
        claims["sid"] = "provider-session-1";
        claims["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new Dictionary<string, object>() };

        await AssertRefusedAsync(Jwt.Build(Header(typ: typ), claims, Jwt.Rs256(ProviderKey)), _audienceIsClient);
    }

    [Test]
    public async Task Control_PlainJwtAccessTokenForTheClient_Accepted()
    {
        var claims = Attack.AccessClaims("carol", "carol@example.com", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        claims["aud"] = OidcProvider.ClientId;

        await AssertAcceptedAsync(Jwt.Build(Header(typ: "JWT"), claims, Jwt.Rs256(ProviderKey)), _audienceIsClient);
    }

    private TokenValidator Validator => _clocked.Services.GetRequiredService<TokenValidator>();

    private string IdToken(object aud, string? azp, string? nonce = "expected-nonce", string? issuer = null)
    {
        var claims = Attack.AccessClaims("carol", "carol@example.com", Now);
        claims["aud"] = aud;
        claims["iss"] = issuer ?? Provider.Issuer;
        if (azp is not null)
        {
            claims["azp"] = azp;
        }

        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        return Jwt.Build(Header(typ: "JWT"), claims, Jwt.Rs256(ProviderKey));
    }

    public static IEnumerable<TestCaseData> IdTokenAudiences()
    {
        yield return new TestCaseData(new[] { OidcProvider.ClientId }, null, true).SetArgDisplayNames("client", "no azp", "valid");
        yield return new TestCaseData(new[] { OidcProvider.ClientId }, OidcProvider.ClientId, true).SetArgDisplayNames("client", "azp client", "valid");
        yield return new TestCaseData(new[] { OidcProvider.ClientId }, "other-client", false).SetArgDisplayNames("client", "azp other", "invalid");
        yield return new TestCaseData(new[] { OidcProvider.ClientId, "other-client" }, null, false).SetArgDisplayNames("client+other", "no azp", "invalid");
        yield return new TestCaseData(new[] { OidcProvider.ClientId, "other-client" }, OidcProvider.ClientId, true).SetArgDisplayNames("client+other", "azp client", "valid");
        yield return new TestCaseData(new[] { OidcProvider.ClientId, "other-client" }, "other-client", false).SetArgDisplayNames("client+other", "azp other", "invalid");
        yield return new TestCaseData(new[] { "other-client" }, OidcProvider.ClientId, false).SetArgDisplayNames("other", "azp client", "invalid");
        yield return new TestCaseData(new[] { ReplicaPair.ApiAudience }, null, false).SetArgDisplayNames("api", "no azp", "invalid");
    }

    [TestCaseSource(nameof(IdTokenAudiences))]
    public async Task IdTokenAtLogin_AudienceAndAzp_CheckedLikeTheSpecificationSays(string[] aud, string? azp, bool valid)
    {
        var check = await Validator.ValidateIdTokenAsync(IdToken(aud.Length == 1 ? aud[0] : aud, azp), "expected-nonce", CancellationToken.None);

        Assert.That(check.IsValid, Is.EqualTo(valid), check.Error);
    }

    [TestCase("other-nonce")]
    [TestCase("")]
    [TestCase(null)]
    [TestCase("EXPECTED-NONCE")]
    [TestCase("expected-nonce ")]
    public async Task IdTokenAtLogin_NonceNotTheLogins_Invalid(string? nonce)
    {
        var check = await Validator.ValidateIdTokenAsync(IdToken(OidcProvider.ClientId, null, nonce), "expected-nonce", CancellationToken.None);

        Assert.That(check.IsValid, Is.False);
    }

    [Test]
    public async Task IdTokenAtLogin_OtherIssuer_Invalid()
    {
        var check = await Validator.ValidateIdTokenAsync(IdToken(OidcProvider.ClientId, null, issuer: "https://evil.example"), "expected-nonce", CancellationToken.None);

        Assert.That(check.IsValid, Is.False);
    }

    [Test]
    public async Task IdTokenAtLogin_AnAccessTokenWithoutNonce_Invalid()
    {
        var claims = Claims();
        claims["aud"] = OidcProvider.ClientId;

        var check = await Validator.ValidateIdTokenAsync(Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey)), "expected-nonce", CancellationToken.None);

        Assert.That(check.IsValid, Is.False);
    }

    public static IEnumerable<TestCaseData> MalformedAuthorization()
    {
        yield return new TestCaseData("Bearer {token} extra").SetArgDisplayNames("trailing word");
        yield return new TestCaseData("Bearer {token},Bearer {token}").SetArgDisplayNames("two tokens");
        yield return new TestCaseData("Bearer {token}.x").SetArgDisplayNames("four parts");
        yield return new TestCaseData("Bearer a.b.c.d.e").SetArgDisplayNames("JWE shape");
        yield return new TestCaseData("Bearer ...").SetArgDisplayNames("dots");
        yield return new TestCaseData("Bearer a..c").SetArgDisplayNames("empty payload");
        yield return new TestCaseData("Bearer %7Btoken%7D").SetArgDisplayNames("percent-encoded");
        yield return new TestCaseData("Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA").SetArgDisplayNames("empty claims");
        yield return new TestCaseData("Bearer " + new string('a', 20_000)).SetArgDisplayNames("20 KB");
        yield return new TestCaseData("Bearer {token-without-signature}").SetArgDisplayNames("signature cut");
        yield return new TestCaseData("Bearer {token-base64}").SetArgDisplayNames("standard base64");
    }

    [TestCaseSource(nameof(MalformedAuthorization))]
    public async Task MalformedAuthorization_WithAValidSessionCookie_401NeverTheCookie(string header)
    {
        var token = Jwt.Build(Header(), Attack.AccessClaims("carol", "carol@example.com"), Jwt.Rs256(ProviderKey));
        var value = header
            .Replace("{token-without-signature}", token[..token.LastIndexOf('.')], StringComparison.Ordinal)
            .Replace("{token-base64}", token.Replace('-', '+').Replace('_', '/') + "==", StringComparison.Ordinal)
            .Replace("{token}", token, StringComparison.Ordinal);
        using var alice = await Attack.LoggedInAsync("alice");

        using var response = await alice.AuthAsync(A, "GET", "/api", r => r.Headers.TryAddWithoutValidation("Authorization", value));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "an Authorization header that is no valid bearer token never falls back to the cookie");
    }

    [TestCase("Basic dXNlcjpwYXNz")]
    [TestCase("Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg")]
    [TestCase("Bearer")]
    [TestCase("Bearer\tnot-a-credential")]
    public async Task AuthorizationWithoutABearerCredential_TheSessionCookieDecides(string value)
    {
        using var alice = await Attack.LoggedInAsync("alice");

        using var response = await alice.AuthAsync(A, "GET", "/api", r => r.Headers.TryAddWithoutValidation("Authorization", value));

        // Other schemes are the application's business: the cookie's user, never an identity from the header.
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
    }

    [TestCase("bearer")]
    [TestCase("BEARER")]
    [TestCase("Bearer ")]
    public async Task Authorization_SchemeCaseAndExtraSpace_StillTheBearerToken(string scheme)
    {
        var token = Jwt.Build(Header(), Attack.AccessClaims("carol", "carol@example.com"), Jwt.Rs256(ProviderKey));
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/api", r => r.Headers.TryAddWithoutValidation("Authorization", scheme + " " + token));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Authorization_TwoHeaderLines_401()
    {
        var token = Jwt.Build(Header(), Attack.AccessClaims("carol", "carol@example.com"), Jwt.Rs256(ProviderKey));

        var response = await Attack.RawAsync(A.Port, Attack.AuthRequest("/api", $"Authorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\n"));

        Assert.That(response.Status, Is.EqualTo(401));
    }

    [Test]
    public async Task Bearer_WithAnotherUsersCookie_TheTokensIdentityDecides()
    {
        var token = Jwt.Build(Header(), Attack.AccessClaims("carol", "carol@example.com"), Jwt.Rs256(ProviderKey));
        using var alice = await Attack.LoggedInAsync("alice");

        using var response = await alice.AuthAsync(A, "GET", "/api", Attack.Bearer(token));

        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("carol@example.com"));
        Assert.That(response.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.Empty, "nothing of Alice's session leaks into Carol's answer");
    }

    /// <summary>Counts the replica's requests to the provider's discovery document and JWKS.</summary>
    private sealed class ProviderRequests
    {
        private int _jwks;
        private int _discovery;

        public int Jwks => Volatile.Read(ref _jwks);

        public int Discovery => Volatile.Read(ref _discovery);

        public void Saw(Uri? uri)
        {
            var path = uri?.AbsolutePath ?? "";
            if (path.EndsWith("/jwks", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _jwks);
            }
            else if (path.EndsWith("/.well-known/openid-configuration", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _discovery);
            }
        }
    }

    private sealed class CountingHandler(ProviderRequests requests) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            requests.Saw(request.RequestUri);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
