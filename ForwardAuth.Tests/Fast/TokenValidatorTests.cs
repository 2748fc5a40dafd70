using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// <c>TokenValidator</c> called directly: the refusal reason of each kind of token, and what each kind of token is
/// never accepted as.
/// </summary>
[TestFixture]
[Category("Fast")]
public class TokenValidatorTests
{
    [TestCase("expired", "token expired")]
    [TestCase("not-yet-valid", "token not yet valid (nbf)")]
    [TestCase("issued-in-future", "token issued in the future")]
    [TestCase("wrong-audience", "wrong audience")]
    [TestCase("wrong-issuer", "wrong issuer")]
    [TestCase("no-subject", "token has no subject")]
    [TestCase("unknown-key", "unknown signing key")]
    [TestCase("tampered-payload", "invalid signature")]
    [TestCase("id-token", "an ID token is not accepted as an access token")]
    [TestCase("logout-token", "an ID token is not accepted as an access token")]
    [TestCase("garbage", "not a well-formed JWT")]
    [TestCase("oversized", "not a well-formed JWT")]
    public async Task ValidateAccessToken_Refused_Reason(string forgery, string reason)
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateAccessTokenAsync(BearerTokenTests.Forge(stack.Provider, forgery), CancellationToken.None);

        Assert.That(check.IsValid, Is.False);
        Assert.That(check.Error, Is.EqualTo(reason));
        Assert.That(check.Identity, Is.Null);
    }

    [TestCase("none")]
    [TestCase("HS256")]
    public async Task ValidateAccessToken_ForbiddenAlgorithm_RefusedWithoutIdentity(string alg)
    {
        await using var stack = await FastStack.StartAsync();
        var header = new Dictionary<string, string> { ["alg"] = alg, ["kid"] = "key-1" };
        var claims = BearerTokenTests.Claims(stack.Provider, "mallory");
        var token = alg == "none"
            ? Security.Jwt.Build(header, claims, Security.Jwt.Unsigned)
            : Security.Jwt.Build(header, claims, Security.Jwt.Hmac(FakeProvider.Key.ExportSubjectPublicKeyInfo()));

        var check = await stack.Tokens.ValidateAccessTokenAsync(token, CancellationToken.None);

        Assert.That(check.IsValid, Is.False);
        Assert.That(check.Identity, Is.Null);
    }

    [Test]
    public async Task ValidateAccessToken_PlainJwtTypWithoutIdTokenClaims_Accepted()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.Sign(BearerTokenTests.Claims(stack.Provider, "svc"));

        var check = await stack.Tokens.ValidateAccessTokenAsync(token, CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.Identity!.Subject, Is.EqualTo("svc"));
    }

    [Test]
    public async Task ValidateAccessToken_AtJwtWithNonce_AcceptedByItsType()
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateAccessTokenAsync(stack.Provider.AccessToken("bob", c => c["nonce"] = "n"), CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
    }

    [Test]
    public async Task ValidateIdToken_MatchingNonce_IdentityFromClaims()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.IdToken("carol", "nonce-1", c => (c["preferred_username"], c["roles"]) = ("carol.c", new[] { "admin" }));

        var check = await stack.Tokens.ValidateIdTokenAsync(token, "nonce-1", CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.Identity!.Subject, Is.EqualTo("carol"));
        Assert.That(check.Identity.PreferredUsername, Is.EqualTo("carol.c"));
        Assert.That(check.Identity.Groups, Is.EquivalentTo(new[] { "staff", "admin" }));
    }

    [TestCase("nonce-2")]
    [TestCase("")]
    [TestCase("NONCE-1")]
    public async Task ValidateIdToken_OtherNonce_Refused(string expected)
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateIdTokenAsync(stack.Provider.IdToken("carol", "nonce-1"), expected, CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("nonce does not match the login"));
    }

    [Test]
    public async Task ValidateIdToken_AccessTokenAudienceOnly_Refused()
    {
        await using var stack = await FastStack.StartAsync(("AUDIENCE", "https://api.fast.test"));
        var token = stack.Provider.IdToken("carol", "n", c => c["aud"] = "https://api.fast.test");

        var check = await stack.Tokens.ValidateIdTokenAsync(token, "n", CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("wrong audience"));
    }

    [Test]
    public async Task ValidateRefreshedIdToken_SameSubjectNoNonce_Accepted()
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateRefreshedIdTokenAsync(stack.Provider.IdToken("carol", null), "carol", CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
    }

    [Test]
    public async Task ValidateRefreshedIdToken_OtherSubject_RefusedIdentityKept()
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateRefreshedIdTokenAsync(stack.Provider.IdToken("mallory", null), "carol", CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("the refreshed ID token is about another subject"));
        Assert.That(check.Identity!.Subject, Is.EqualTo("mallory"));
    }

    [Test]
    public async Task ValidateLogoutToken_Valid_TokenWithSidAndSub()
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateLogoutTokenAsync(stack.Provider.LogoutToken("sid-1", "carol"), CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.Token!.GetPayloadValue<string>("sid"), Is.EqualTo("sid-1"));
    }

    [Test]
    public async Task ValidateLogoutToken_SidOnly_AcceptedWithoutIdentity()
    {
        await using var stack = await FastStack.StartAsync();

        var check = await stack.Tokens.ValidateLogoutTokenAsync(stack.Provider.LogoutToken("sid-1", null), CancellationToken.None);

        Assert.That(check.IsValid, Is.True, check.Error);
        Assert.That(check.Identity, Is.Null);
    }

    [Test]
    public async Task ValidateLogoutToken_IatAtTheEdgeOfTheWindow_Accepted()
    {
        await using var stack = await FastStack.StartAsync(("JTI_CACHE_TTL", "600"));
        var p = stack.Provider;

        var inside = await stack.Tokens.ValidateLogoutTokenAsync(p.LogoutToken("s", null, c => c["iat"] = p.Now - 600), CancellationToken.None);
        var outside = await stack.Tokens.ValidateLogoutTokenAsync(p.LogoutToken("s", null, c => c["iat"] = p.Now - 601), CancellationToken.None);

        Assert.That(inside.IsValid, Is.True, inside.Error);
        Assert.That(outside.Error, Is.EqualTo("iat missing or outside the accepted window"));
    }

    [Test]
    public async Task ValidateAccessToken_CachedValidToken_StillRefusedOncePastExpiryAndSkew()
    {
        await using var stack = await FastStack.StartAsync(("TOKEN_METADATA_TTL", "3600"));
        var token = stack.Provider.AccessToken("bob", lifetime: TimeSpan.FromMinutes(2));

        var first = await stack.Tokens.ValidateAccessTokenAsync(token, CancellationToken.None);
        stack.Time.Advance(TimeSpan.FromMinutes(1));
        var cached = await stack.Tokens.ValidateAccessTokenAsync(token, CancellationToken.None);
        stack.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var expired = await stack.Tokens.ValidateAccessTokenAsync(token, CancellationToken.None);

        Assert.That(first.IsValid, Is.True);
        Assert.That(cached.IsValid, Is.True);
        Assert.That(expired.IsValid, Is.False);
    }

    [Test]
    public async Task ValidateAccessToken_ProviderUnreachableAtStart_RefusedAsMetadataUnavailable()
    {
        await using var stack = await FastStack.StartAsync(("PROVIDER_URL", "https://unknown-provider.fast.test"));

        var check = await stack.Tokens.ValidateAccessTokenAsync(stack.Provider.AccessToken("bob"), CancellationToken.None);

        Assert.That(check.Error, Is.EqualTo("provider metadata unavailable"));
    }
}
