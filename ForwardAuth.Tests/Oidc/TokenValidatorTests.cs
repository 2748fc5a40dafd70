using System.Net;
using System.Security.Cryptography;
using System.Text;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Tests.Security;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Oidc;

/// <summary>
/// <see cref="TokenValidator"/> against a provider served from memory (discovery + JWKS): every refusal names its true
/// reason, each token below carries exactly one defect; a logout token may lack <c>exp</c>, no other token may.
/// </summary>
public class TokenValidatorTests
{
    private const string Issuer = "https://id.example.com";
    private const string ClientId = "forwardauth";
    private const string Audience = "https://api.example.com";
    private const string Kid = "k1";

    private static readonly RSA ProviderKey = RSA.Create(2048);
    private static readonly RSA OtherKey = RSA.Create(2048);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private TokenValidator _validator = null!;

    private long Now => _clock.GetUtcNow().ToUnixTimeSeconds();

    [OneTimeTearDown]
    public static void DisposeKeys()
    {
        ProviderKey.Dispose();
        OtherKey.Dispose();
    }

    [SetUp]
    public void CreateValidator()
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = Issuer, ["CLIENT_ID"] = ClientId, ["CLIENT_SECRET"] = "s", ["AUDIENCE"] = Audience,
            ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef",
        };
        var options = ConfigurationLoader.Load([], n => env.GetValueOrDefault(n));
        _validator = new TokenValidator(new ProviderMetadata(options, new StaticProvider()), options, _clock, ClientCredentials.Configured(options));
    }

    public static IEnumerable<TestCaseData> AccessTokenRefusals()
    {
        yield return Case("no exp", c => c.Remove("exp"), "token has no expiry (exp)");
        yield return Case("expired", c => c["exp"] = (long)c["iat"] - 61 - 60, "token expired");
        yield return Case("nbf in the future", c => c["nbf"] = (long)c["iat"] + 300, "token not yet valid (nbf)");
        yield return Case("iat in the future", c => c["iat"] = (long)c["iat"] + 300, "token issued in the future");
        yield return Case("wrong issuer", c => c["iss"] = "https://evil.example.com", "wrong issuer");
        yield return Case("wrong audience", c => c["aud"] = "https://other.example.com", "wrong audience");
        yield return Case("ID token as access token", c => c["nonce"] = "n", "an ID token is not accepted as an access token", typ: "JWT");
        yield return Case("bad signature", _ => { }, "invalid signature", sign: Jwt.Rs256(OtherKey));
        yield return Case("unknown kid", _ => { }, "unknown signing key", kid: "k-unknown");
        yield return Case("HS256", _ => { }, "algorithm not allowed", alg: "HS256", sign: Jwt.Hmac(Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef")));
        yield return Case("alg none", _ => { }, "algorithm not allowed", alg: "none", sign: Jwt.Unsigned);
    }

    private static TestCaseData Case(
        string name, Action<Dictionary<string, object>> change, string reason, string alg = "RS256", string kid = Kid, string typ = "at+jwt",
        Func<byte[], byte[]>? sign = null) =>
        new TestCaseData(change, reason, alg, kid, typ, sign ?? Jwt.Rs256(ProviderKey)).SetName("AccessToken_" + name.Replace(' ', '_') + "_RefusedAs_" + reason.Replace(' ', '_'));

    [TestCaseSource(nameof(AccessTokenRefusals))]
    public async Task AccessToken_OneDefect_RefusedWithItsTrueReason(
        Action<Dictionary<string, object>> change, string reason, string alg, string kid, string typ, Func<byte[], byte[]> sign)
    {
        var claims = AccessClaims();
        change(claims);

        var check = await _validator.ValidateAccessTokenAsync(Jwt.Build(new { alg, kid, typ }, claims, sign), CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo(reason));
    }

    [Test]
    public async Task AccessToken_NoDefect_Accepted()
    {
        var check = await _validator.ValidateAccessTokenAsync(Sign(AccessClaims()), CancellationToken.None);

        Assert.That(check.Error, Is.Null);
        Assert.That(check.Identity!.Subject, Is.EqualTo("alice"));
    }

    [Test]
    public async Task AccessToken_NotAJwt_RefusedAsNotWellFormed() =>
        Assert.That((await _validator.ValidateAccessTokenAsync("not-a-jwt", CancellationToken.None)).Error, Is.EqualTo("not a well-formed JWT"));

    [Test]
    public async Task IdToken_NoExp_Refused()
    {
        var claims = new Dictionary<string, object> { ["iss"] = Issuer, ["aud"] = ClientId, ["sub"] = "alice", ["iat"] = Now, ["nonce"] = "n" };

        var check = await _validator.ValidateIdTokenAsync(Jwt.Build(new { alg = "RS256", kid = Kid, typ = "JWT" }, claims, Jwt.Rs256(ProviderKey)), "n", CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("token has no expiry (exp)"));
    }

    [Test]
    public async Task LogoutToken_NoExp_AsGlewlwydSendsIt_Accepted()
    {
        var claims = LogoutClaims();

        var check = await _validator.ValidateLogoutTokenAsync(Jwt.Build(new { alg = "RS256", kid = Kid, typ = "JWT" }, claims, Jwt.Rs256(ProviderKey)), CancellationToken.None);

        Assert.That(check.Error, Is.Null, "earlier back-channel drafts: no exp; iat and the single-use jti bound its life");
        Assert.That(check.Token!.GetPayloadValue<string>("sid"), Is.EqualTo("sid-1"));
    }

    [Test]
    public async Task LogoutToken_NoExpAndIatOlderThanTheJtiWindow_Refused()
    {
        var claims = LogoutClaims();
        claims["iat"] = Now - (long)TimeSpan.FromHours(2).TotalSeconds;

        var check = await _validator.ValidateLogoutTokenAsync(Jwt.Build(new { alg = "RS256", kid = Kid, typ = "JWT" }, claims, Jwt.Rs256(ProviderKey)), CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("iat missing or outside the accepted window"));
    }

    [Test]
    public async Task LogoutToken_ExpPresentAndPast_StillRefusedAsExpired()
    {
        var claims = LogoutClaims();
        claims["exp"] = Now - 120;

        var check = await _validator.ValidateLogoutTokenAsync(Jwt.Build(new { alg = "RS256", kid = Kid, typ = "JWT" }, claims, Jwt.Rs256(ProviderKey)), CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("token expired"));
    }

    private Dictionary<string, object> AccessClaims() => new()
    {
        ["iss"] = Issuer, ["aud"] = Audience, ["sub"] = "alice", ["iat"] = Now, ["exp"] = Now + 300, ["scope"] = "openid",
    };

    private Dictionary<string, object> LogoutClaims() => new()
    {
        ["iss"] = Issuer, ["aud"] = ClientId, ["sub"] = "alice", ["sid"] = "sid-1", ["iat"] = Now, ["jti"] = Guid.NewGuid().ToString(),
        ["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new { } },
    };

    private static string Sign(Dictionary<string, object> claims) => Jwt.Build(new { alg = "RS256", kid = Kid, typ = "at+jwt" }, claims, Jwt.Rs256(ProviderKey));

    /// <summary>Discovery and JWKS of <see cref="Issuer"/>, answered from memory.</summary>
    private sealed class StaticProvider : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(new Handler());

        private sealed class Handler : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var p = ProviderKey.ExportParameters(false);
                var body = request.RequestUri!.AbsolutePath switch
                {
                    "/.well-known/openid-configuration" => $$"""{"issuer":"{{Issuer}}","jwks_uri":"{{Issuer}}/jwks","authorization_endpoint":"{{Issuer}}/auth","token_endpoint":"{{Issuer}}/token"}""",
                    "/jwks" => $$"""{"keys":[{"kty":"RSA","kid":"{{Kid}}","alg":"RS256","use":"sig","n":"{{Base64UrlEncoder.Encode(p.Modulus)}}","e":"{{Base64UrlEncoder.Encode(p.Exponent)}}"}]}""",
                    _ => null,
                };
                return Task.FromResult(body is null
                    ? new HttpResponseMessage(HttpStatusCode.NotFound)
                    : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
            }
        }
    }
}
