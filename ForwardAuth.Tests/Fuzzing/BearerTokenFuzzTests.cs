using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Auth;
using ForwardAuth.Tests.Security;
using ForwardAuth.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// The bearer-token path — <c>Authorization</c> header, JWT parsing, signature, algorithm, issuer, audience, lifetime,
/// token type, identity, revocation lookup — through the replica's own <see cref="RequestVerifier"/>, on tokens
/// mutated from validly minted ones and on forgeries: no exception, and no token is ever accepted unless it is, byte
/// for byte, one the provider's key minted.
/// </summary>
[TestFixture]
public class BearerTokenFuzzTests
{
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static readonly string[] Algorithms = ["none", "None", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA", "RSA-OAEP", "", "dir"];

    private RSA _attacker = null!;

    private List<string> _attackerSigned = null!;
    private List<string> _oddlySigned = null!;
    private List<string> _oddClaims = null!;

    [OneTimeSetUp]
    public void Keys()
    {
        _attacker = RSA.Create(2048);
        _attackerSigned = Pool(256, AttackerSigned);
        _oddlySigned = Pool(256, OddlySigned);
        _oddClaims = Pool(512, OddClaims);
    }

    [OneTimeTearDown]
    public void DisposeKeys() => _attacker.Dispose();

    private static RSA ProviderKey => FuzzStack.Provider.SigningKey.Rsa;

    private static Dictionary<string, object> Claims(string sub)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new Dictionary<string, object>
        {
            ["iss"] = FuzzStack.Provider.Issuer, ["aud"] = ReplicaPair.ApiAudience, ["sub"] = sub, ["email"] = sub + "@example.com",
            ["groups"] = new[] { "users" }, ["iat"] = now, ["exp"] = now + 3600, ["jti"] = Guid.NewGuid().ToString("N"),
        };
    }

    private static Dictionary<string, object> Header(string alg = "RS256", string? kid = OidcProvider.KeyId) =>
        kid is null ? new() { ["alg"] = alg, ["typ"] = "at+jwt" } : new() { ["alg"] = alg, ["typ"] = "at+jwt", ["kid"] = kid };

    [Test]
    public async Task Verify_MutatedAndForgedBearerTokens_OnlyMintedTokensPass()
    {
        var verifier = FuzzStack.Replica.Services.GetRequiredService<RequestVerifier>();
        var minted = Enumerable.Range(0, 6)
            .Select(i => (Sub: "user-" + i, Token: Jwt.Build(Header(i % 2 == 0 ? "RS256" : "PS256"), Claims("user-" + i), i % 2 == 0 ? Jwt.Rs256(ProviderKey) : Jwt.Ps256(ProviderKey))))
            .ToList();
        var mintedTokens = minted.ToDictionary(m => m.Token, m => m.Sub, StringComparer.Ordinal);
        var accepted = 0;

        var ran = await Fuzz.RunAsync("bearer-token", async (r, i) =>
        {
            var (sub, original) = r.Pick(minted);
            var (token, signedByProvider) = Candidate(r, original, sub);
            var headers = new HeaderDictionary { ["Authorization"] = r.Pick(["Bearer ", "Bearer ", "bearer ", "Bearer  "]) + token };
            Fuzz.Input = headers["Authorization"].ToString();

            var decision = await verifier.VerifyAsync(new AuthRequest("GET", "https://app.example.com", "/api", "", headers), PolicyRules.None, CancellationToken.None);

            var genuine = mintedTokens.TryGetValue(token.Trim(), out var genuineSub);
            if (decision is AuthOutcome.Allow allow)
            {
                accepted++;
                if (!genuine && !signedByProvider)
                {
                    Assert.Fail($"iteration {i}: accepted a token that was never minted: {token}");
                }

                if (genuine && allow.Identity?.Subject != genuineSub)
                {
                    Assert.Fail($"iteration {i}: accepted as '{allow.Identity?.Subject}', minted for '{genuineSub}'");
                }
            }
            else if (genuine)
            {
                Assert.Fail($"iteration {i}: a minted token was refused: {decision}");
            }
        });

        TestContext.Progress.WriteLine($"fuzz bearer-token: {accepted} minted tokens accepted, {ran - accepted} forgeries refused");
        Assert.That(ran, Is.EqualTo(Fuzz.Inputs));
        Assert.That(accepted, Is.GreaterThan(0), "the control inputs (minted tokens) must pass");
    }

    /// <summary>A token to try, and whether the provider's key signed exactly these bytes (then accepting it is legitimate).</summary>
    private (string Token, bool SignedByProvider) Candidate(Random r, string original, string sub)
    {
        var token = Forgery(r, original, sub, out var signedByProvider);
        return (token, signedByProvider);
    }

    private string Forgery(Random r, string original, string sub, out bool signedByProvider)
    {
        var parts = original.Split('.');
        signedByProvider = false;
        switch (r.Next(16))
        {
            case 0:
                return original; // control
            case 1:
            case 2:
            {
                var segment = r.Next(3);
                parts[segment] = r.Mutate(parts[segment], Base64UrlAlphabet);
                return string.Join('.', parts);
            }

            case 3:
                // Another algorithm in the header, the original signature.
                return Jwt.Encode(Header(r.Pick(Algorithms), r.Chance(0.8) ? OidcProvider.KeyId : null)) + "." + parts[1] + "." + parts[2];
            case 4:
            {
                // Other claims, the original signature.
                var claims = Claims(sub);
                var changed = r.Pick(new[] { "sub", "aud", "iss", "exp", "email", "groups" });
                claims[changed] = changed == "exp" ? DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 999_999 : changed == "groups" ? new[] { "admins" } : "admin";
                return parts[0] + "." + Jwt.Encode(claims) + "." + parts[2];
            }

            case 5:
                return r.Next(6) switch
                {
                    0 => parts[1] + "." + parts[0] + "." + parts[2],
                    1 => parts[0] + "." + parts[1] + ".",
                    2 => parts[0] + "." + parts[1],
                    3 => original + "." + parts[2],
                    4 => parts[0] + "." + parts[1] + "." + parts[2] + parts[2],
                    _ => parts[0] + ".." + parts[2],
                };
            case 6:
            {
                var signature = new byte[r.Next(0, 600)];
                r.NextBytes(signature);
                return parts[0] + "." + parts[1] + "." + Base64UrlEncoder.Encode(signature);
            }

            case 7:
            {
                var secret = r.Next(3) switch
                {
                    0 => ProviderKey.ExportSubjectPublicKeyInfo(),
                    1 => Encoding.ASCII.GetBytes(ProviderKey.ExportSubjectPublicKeyInfoPem()),
                    _ => ProviderKey.ExportRSAPublicKey(),
                };
                return Jwt.Build(Header(r.Pick(["HS256", "HS384", "HS512"])), Claims(sub), Jwt.Hmac(secret, r.Pick([256, 384, 512])));
            }

            case 8:
                return r.Pick(_attackerSigned);
            case 9:
                return r.Text(300);
            case 10:
                signedByProvider = true;
                return r.Pick(_oddlySigned);
            case 11:
                return original[..r.Next(original.Length)];
            case 12:
            {
                // Other last characters of the signature: same bytes only if the encoding is lenient.
                var last = parts[2][^1];
                var other = Base64UrlAlphabet[(Base64UrlAlphabet.IndexOf(last, StringComparison.Ordinal) + r.Next(1, 4)) % 64];
                return parts[0] + "." + parts[1] + "." + parts[2][..^1] + other;
            }

            case 13:
                return r.Mutate(original, " \t%\"',;=+/\\\0");
            case 14:
            {
                // Padded or standard-base64 segments of a genuine token.
                var segment = r.Next(3);
                parts[segment] = r.Chance(0.5) ? parts[segment] + "=" : parts[segment].Replace('-', '+').Replace('_', '/');
                return string.Join('.', parts);
            }

            default:
                signedByProvider = true;
                return r.Pick(_oddClaims);
        }
    }

    // RSA signing takes a millisecond: the signed forgeries are made once (seeded) and drawn from during the run.
    private static List<string> Pool(int count, Func<Random, string> make)
    {
        var random = new Random(Fuzz.Seed);
        return Enumerable.Range(0, count).Select(_ => make(random)).ToList();
    }

    private string AttackerSigned(Random r)
    {
        var header = Header("RS256", r.Pick<string?>([OidcProvider.KeyId, null, "attacker", r.Text(10)]));
        if (r.Chance(0.5))
        {
            header[r.Pick(["jku", "x5u"])] = "http://127.0.0.1:9/jwks";
        }

        if (r.Chance(0.3))
        {
            header["jwk"] = Jwt.PublicJwk(_attacker, "attacker");
        }

        return Jwt.Build(header, Claims("user-0"), Jwt.Rs256(_attacker));
    }

    // Structurally odd JSON in a signed token: only the provider could sign it, and still nothing may throw.
    private static string OddlySigned(Random r)
    {
        var body = r.Next(5) switch
        {
            0 => new string('[', 200) + new string(']', 200),
            1 => "[]",
            2 => "\"a string\"",
            3 => "{\"sub\":" + new string('[', 100) + new string(']', 100) + "}",
            _ => "{" + r.Text(40) + "}",
        };
        var input = Jwt.Encode(Header()) + "." + Base64UrlEncoder.Encode(body);
        return input + "." + Base64UrlEncoder.Encode(Jwt.Rs256(ProviderKey)(Encoding.ASCII.GetBytes(input)));
    }

    // A validly signed token with a claim of the wrong type where the library expects a string or a number.
    private static string OddClaims(Random r)
    {
        var claims = Claims("user-" + r.Next(6).ToString(System.Globalization.CultureInfo.InvariantCulture));
        claims[r.Pick(new[] { "sub", "aud", "iss", "exp", "nbf", "iat", "email", "email_verified", "groups" })] =
            r.Pick<object>([123, true, new[] { 1, 2 }, new Dictionary<string, object>(), "", r.Text(10), JsonDocument.Parse("null").RootElement, 1e300, -1]);
        return Jwt.Build(Header(), claims, Jwt.Rs256(ProviderKey));
    }
}
