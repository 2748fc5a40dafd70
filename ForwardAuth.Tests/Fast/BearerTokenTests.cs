using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;
using ForwardAuth.Tests.Security;

namespace ForwardAuth.Tests.Fast;

/// <summary>Bearer access tokens at <c>/auth</c>: which pass, which are refused and why, on the fake clock.</summary>
[TestFixture]
[Category("Fast")]
public class BearerTokenTests
{
    [Test]
    public async Task Verify_ValidBearer_AllowedWithIdentityAndToken()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.AccessToken("bob");

        var outcome = await stack.BearerAsync(token);

        var allow = (AuthOutcome.Allow)outcome;
        Assert.That(allow.Identity!.Subject, Is.EqualTo("bob"));
        Assert.That(allow.AccessToken, Is.EqualTo(token));
    }

    [TestCase("expired", "token expired")]
    [TestCase("expired-long-ago", "token expired")]
    [TestCase("not-yet-valid", "token not yet valid (nbf)")]
    [TestCase("issued-in-future", "token issued in the future")]
    [TestCase("wrong-audience", "wrong audience")]
    [TestCase("no-audience", "wrong audience")]
    [TestCase("wrong-issuer", "wrong issuer")]
    [TestCase("issuer-trailing-slash", "wrong issuer")]
    [TestCase("no-expiry", "token has no expiry (exp)")]
    [TestCase("no-subject", "token has no subject")]
    [TestCase("empty-subject", "token has no subject")]
    [TestCase("unknown-key", "unknown signing key")]
    [TestCase("tampered-payload", "invalid signature")]
    [TestCase("signature-of-another-token", "invalid signature")]
    [TestCase("id-token", "an ID token is not accepted as an access token")]
    [TestCase("id-token-at-hash", "an ID token is not accepted as an access token")]
    [TestCase("logout-token", "an ID token is not accepted as an access token")]
    [TestCase("garbage", "not a well-formed JWT")]
    [TestCase("two-segments", "not a well-formed JWT")]
    [TestCase("oversized", "not a well-formed JWT")]
    public async Task Verify_RefusedBearer_401WithReason(string forgery, string reason)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.BearerAsync(Forge(stack.Provider, forgery));

        var refused = (AuthOutcome.LoginRequired)outcome;
        Assert.That(refused.Reason, Is.EqualTo(reason));
        Assert.That(refused.InvalidToken, Is.True);
        Assert.That(refused.LoginUrl, Is.EqualTo(FastStack.Origin + "/oauth2/start?rd=%2Fapi"));
    }

    [TestCase("none")]
    [TestCase("None")]
    [TestCase("HS256")]
    [TestCase("HS384")]
    [TestCase("HS512")]
    public async Task Verify_BearerWithForbiddenAlgorithm_Refused(string alg)
    {
        await using var stack = await FastStack.StartAsync();
        var publicKeyAsSecret = FakeProvider.Key.ExportSubjectPublicKeyInfo();
        var claims = Claims(stack.Provider, "mallory");
        var header = new Dictionary<string, string> { ["alg"] = alg, ["typ"] = "at+jwt", ["kid"] = "key-1" };
        var token = alg.StartsWith("HS", StringComparison.Ordinal)
            ? Jwt.Build(header, claims, Jwt.Hmac(publicKeyAsSecret, int.Parse(alg[2..], System.Globalization.CultureInfo.InvariantCulture)))
            : Jwt.Build(header, claims, Jwt.Unsigned);

        var outcome = await stack.BearerAsync(token);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRequired>());
        Assert.That(((AuthOutcome.LoginRequired)outcome).InvalidToken, Is.True);
    }

    [TestCase(-30)]
    [TestCase(-59)]
    [TestCase(0)]
    [TestCase(3600)]
    public async Task Verify_BearerWithinClockSkew_Allowed(int expiresInSeconds)
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.AccessToken("bob", c => c["exp"] = stack.Provider.Now + expiresInSeconds);

        Assert.That(await stack.BearerAsync(token), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Verify_BearerAfterClockPassesExpiry_RefusedDespiteEarlierSuccess()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.AccessToken("bob", lifetime: TimeSpan.FromMinutes(5));

        var before = await stack.BearerAsync(token);
        stack.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(61));
        var after = await stack.BearerAsync(token);

        Assert.That(before, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(((AuthOutcome.LoginRequired)after).Reason, Is.EqualTo("token expired"));
    }

    [Test]
    public async Task Verify_BearerWithConfiguredAudience_OnlyThatAudienceAllowed()
    {
        await using var stack = await FastStack.StartAsync(("AUDIENCE", "https://api.fast.test"));

        var forApi = await stack.BearerAsync(stack.Provider.AccessToken("bob", c => c["aud"] = "https://api.fast.test"));
        var forClient = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(forApi, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(((AuthOutcome.LoginRequired)forClient).Reason, Is.EqualTo("wrong audience"));
    }

    [Test]
    public async Task Verify_BearerWithAudienceList_AllowedWhenOneMatches()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.BearerAsync(stack.Provider.AccessToken("bob", c => c["aud"] = new[] { "other", FakeProvider.ClientId }));

        Assert.That(outcome, Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Verify_BearerOfLoggedOutSession_RefusedAsRevoked()
    {
        // Forwarded (passAuthorizationHeader): a backend has the access token, so a logout must revoke it. Never
        // forwarded, it is not kept at all (no one but ForwardAuth ever had it).
        await using var stack = await FastStack.StartAsync(("PASS_AUTHORIZATION_HEADER", "true"));
        var accessToken = stack.Provider.AccessToken("alice");
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), accessToken));
        var before = await stack.BearerAsync(accessToken);

        var logout = await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);
        var after = await stack.BearerAsync(accessToken);

        Assert.That(before, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(logout, Is.TypeOf<AuthOutcome.SignedOut>());
        Assert.That(((AuthOutcome.LoginRequired)after).Reason, Is.EqualTo("token revoked"));
        Assert.That(((AuthOutcome.LoginRequired)after).InvalidToken, Is.True);
    }

    [Test]
    public async Task Verify_BearerOfAnotherUserAfterLogout_StillAllowed()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice");
        var bobs = stack.Provider.AccessToken("bob");

        await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.That(await stack.BearerAsync(bobs), Is.TypeOf<AuthOutcome.Allow>());
    }

    [TestCase("bearer")]
    [TestCase("BEARER")]
    [TestCase("Bearer")]
    public async Task Verify_BearerSchemeAnyCase_Accepted(string scheme)
    {
        await using var stack = await FastStack.StartAsync();
        var request = Requests.Api("/api", authorization: scheme + " " + stack.Provider.AccessToken("bob"));

        Assert.That(await stack.Exchange.HandleAsync(request, PolicyRules.None, CancellationToken.None), Is.TypeOf<AuthOutcome.Allow>());
    }

    [TestCase("Basic Ym9iOnNlY3JldA==")]
    [TestCase("Token abc")]
    [TestCase("Bearer")]
    public async Task Verify_OtherAuthorizationScheme_401WithoutSession(string authorization)
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.Exchange.HandleAsync(Requests.Api("/", authorization: authorization), PolicyRules.None, CancellationToken.None);

        Assert.That(((AuthOutcome.LoginRequired)outcome).InvalidToken, Is.False);
        Assert.That(((AuthOutcome.LoginRequired)outcome).Reason, Is.EqualTo("no session"));
    }

    /// <summary>
    /// The provider rotated its signing key: an unknown <c>kid</c> makes ForwardAuth refetch the JWKS, and tokens signed
    /// with the new key pass once it is in. (The metadata manager refetches in the background, so the very first such
    /// token may still be refused; the wait is bounded by a deadline, never a sleep of fixed length.)
    /// </summary>
    [Test]
    public async Task Verify_BearerSignedWithRotatedProviderKey_AllowedOnceJwksRefetched()
    {
        await using var stack = await FastStack.StartAsync();
        Assert.That(await stack.BearerAsync(stack.Provider.AccessToken("bob")), Is.TypeOf<AuthOutcome.Allow>());
        var fetched = stack.Provider.JwksRequests;

        stack.Provider.Publish((FakeProvider.RotatedKey, "key-2"), (FakeProvider.Key, "key-1"));
        var outcome = await stack.BearerAsync(stack.Provider.AccessToken("bob"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (outcome is not AuthOutcome.Allow && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            outcome = await stack.BearerAsync(stack.Provider.AccessToken("bob"));
        }

        Assert.That(outcome, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(stack.Provider.JwksRequests, Is.GreaterThan(fetched));
    }

    [Test]
    public async Task Verify_BearerOfKeyNoLongerPublished_Refused()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.Sign(Claims(stack.Provider, "bob"), "at+jwt", FakeProvider.RotatedKey, "key-2");

        var outcome = await stack.BearerAsync(token);

        Assert.That(((AuthOutcome.LoginRequired)outcome).Reason, Is.EqualTo("unknown signing key"));
    }

    internal static Dictionary<string, object?> Claims(FakeProvider provider, string sub) => new()
    {
        ["iss"] = FakeProvider.Issuer, ["aud"] = FakeProvider.ClientId, ["sub"] = sub, ["iat"] = provider.Now, ["exp"] = provider.Now + 300,
        ["jti"] = Guid.NewGuid().ToString("N"),
    };

    internal static string Forge(FakeProvider p, string forgery)
    {
        switch (forgery)
        {
            case "expired": return p.AccessToken("bob", c => c["exp"] = p.Now - 61);
            case "expired-long-ago": return p.AccessToken("bob", c => (c["iat"], c["exp"]) = (p.Now - 86_400, p.Now - 80_000));
            case "not-yet-valid": return p.AccessToken("bob", c => c["nbf"] = p.Now + 600);
            case "issued-in-future": return p.AccessToken("bob", c => (c["iat"], c["exp"]) = (p.Now + 600, p.Now + 900));
            case "wrong-audience": return p.AccessToken("bob", c => c["aud"] = "someone-else");
            case "no-audience": return p.AccessToken("bob", c => c.Remove("aud"));
            case "wrong-issuer": return p.AccessToken("bob", c => c["iss"] = "https://evil.test");
            case "issuer-trailing-slash": return p.AccessToken("bob", c => c["iss"] = FakeProvider.Issuer + "/");
            case "no-expiry": return p.AccessToken("bob", c => c.Remove("exp"));
            case "no-subject": return p.AccessToken("bob", c => c.Remove("sub"));
            case "empty-subject": return p.AccessToken("bob", c => c["sub"] = "");
            case "unknown-key": return p.Sign(Claims(p, "bob"), "at+jwt", FakeProvider.RotatedKey, "key-9");
            case "tampered-payload":
                {
                    var parts = p.AccessToken("bob").Split('.');
                    return parts[0] + "." + FakeProvider.Segment(Claims(p, "admin")) + "." + parts[2];
                }

            case "signature-of-another-token":
                {
                    var parts = p.AccessToken("bob").Split('.');
                    return parts[0] + "." + parts[1] + "." + p.AccessToken("carol").Split('.')[2];
                }

            case "id-token": return p.IdToken("bob", "some-nonce");
            case "id-token-at-hash": return p.IdToken("bob", null, c => c["at_hash"] = "abc");
            case "logout-token": return p.LogoutToken("sid-bob", "bob");
            case "garbage": return "garbage";
            case "two-segments": return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ";
            case "oversized": return p.AccessToken("bob", c => c["pad"] = new string('x', 17 * 1024));
            default: throw new ArgumentOutOfRangeException(nameof(forgery), forgery, null);
        }
    }
}
