using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Issue 12 item 3, PRODUCT §8: opaque bearer tokens through RFC 7662 introspection (<c>allowOpaqueTokens</c>), JWTs
/// introspected too with <c>requireTokenIntrospection</c>; answers cached by token hash for at most
/// <c>tokenMetadataTTL</c> and never past <c>exp</c>, inactive ones for seconds; the provider unreachable → 503, never 200.
/// </summary>
[Category("Fast")]
public class IntrospectionTests
{
    private static Task<FastStack> Opaque(params (string Key, string Value)[] extra) =>
        FastStack.StartAsync([("ALLOW_OPAQUE_TOKENS", "true"), ("TOKEN_METADATA_TTL", "300"), .. extra]);

    [Test]
    public async Task OpaqueToken_NotAllowed_RefusedWithoutAskingTheProvider()
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1));

        var outcome = await stack.BearerAsync(token);

        Assert.That(outcome, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(outcome.Note!.Reason, Does.Contain("not a well-formed JWT"));
        Assert.That(stack.Provider.IntrospectionRequests, Is.Empty);
    }

    [Test]
    public async Task OpaqueToken_Active_AllowedAsItsSubject_ClientAuthenticated_AnswerCachedForTheTtl()
    {
        await using var stack = await Opaque();
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1));

        var first = await stack.BearerAsync(token);
        var second = await stack.BearerAsync(token);

        Assert.That(first, Is.InstanceOf<AuthOutcome.Allow>());
        var identity = ((AuthOutcome.Allow)first).Identity!;
        Assert.That(identity.Subject, Is.EqualTo("alice"));
        Assert.That(identity.Groups, Does.Contain("staff"));
        Assert.That(second, Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(stack.Provider.IntrospectionRequests, Has.Count.EqualTo(1), "the second request was answered from the cache");
        var (form, authorization) = stack.Provider.IntrospectionRequests.Single();
        Assert.That(authorization, Does.StartWith("Basic "), "the client authenticates as at the token endpoint");
        Assert.That(form["token_type_hint"], Is.EqualTo("access_token"));

        stack.Time.Advance(TimeSpan.FromSeconds(301));
        Assert.That(await stack.BearerAsync(token), Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(stack.Provider.IntrospectionRequests, Has.Count.EqualTo(2), "asked again after tokenMetadataTTL");
    }

    [Test]
    public async Task ActiveAnswer_NeverCachedPastTheTokensExp()
    {
        await using var stack = await Opaque();
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromSeconds(60));
        Assert.That(await stack.BearerAsync(token), Is.InstanceOf<AuthOutcome.Allow>());

        stack.Time.Advance(TimeSpan.FromSeconds(61));
        var later = await stack.BearerAsync(token); // the provider still says active, with the same exp

        Assert.That(stack.Provider.IntrospectionRequests, Has.Count.EqualTo(2), "the cached answer ended with the token");
        Assert.That(later, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(later.Note!.Reason, Does.Contain("expired"));
    }

    [Test]
    public async Task RevokedAtTheProvider_RefusedOnceTheCachedAnswerEnds_InactiveAnswersCachedSeconds()
    {
        await using var stack = await Opaque(("TOKEN_METADATA_TTL", "30"));
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1));
        Assert.That(await stack.BearerAsync(token), Is.InstanceOf<AuthOutcome.Allow>());

        stack.Provider.Introspection.TryRemove(token, out _); // revoked: the provider now says active: false
        Assert.That(await stack.BearerAsync(token), Is.InstanceOf<AuthOutcome.Allow>(), "within tokenMetadataTTL the cached answer stands");
        stack.Time.Advance(TimeSpan.FromSeconds(31));
        var refused = await stack.BearerAsync(token);
        var again = await stack.BearerAsync(token);
        stack.Time.Advance(TimeSpan.FromSeconds(6));
        await stack.BearerAsync(token);

        Assert.That(refused, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(refused.Note!.Reason, Does.Contain("not active"));
        Assert.That(again, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(stack.Provider.IntrospectionRequests, Has.Count.EqualTo(3), "inactive answer cached 5 s, then asked again");
    }

    [Test]
    public async Task ProviderUnreachable_503NeverAllowed_NothingCached()
    {
        await using var stack = await Opaque();
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1));
        stack.Provider.IntrospectionDown = true;

        var down = await stack.BearerAsync(token);
        stack.Provider.IntrospectionDown = false;
        var back = await stack.BearerAsync(token);

        Assert.That(down, Is.InstanceOf<AuthOutcome.TryAgainLater>());
        Assert.That(back, Is.InstanceOf<AuthOutcome.Allow>(), "the failure was not cached");
    }

    [TestCase("aud", "another-api", "wrong audience")]
    [TestCase("iss", "https://elsewhere.test", "another issuer")]
    [TestCase("token_type", "refresh_token", "not an access token")]
    [TestCase("sub", null, "no subject")]
    public async Task ActiveButNotForUs_Refused(string claim, string? value, string reason)
    {
        await using var stack = await Opaque();
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1), a =>
        {
            if (value is null)
            {
                a.Remove(claim);
            }
            else
            {
                a[claim] = value;
            }
        });

        var outcome = await stack.BearerAsync(token);

        Assert.That(outcome, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(outcome.Note!.Reason, Does.Contain(reason));
    }

    [Test]
    public async Task RequireTokenIntrospection_AValidJwtMustAlsoBeActive()
    {
        await using var stack = await FastStack.StartAsync(("REQUIRE_TOKEN_INTROSPECTION", "true"));
        var active = stack.Provider.AccessToken("alice");
        stack.Provider.Introspection[active] = new() { ["active"] = true, ["sub"] = "alice" };
        var revoked = stack.Provider.AccessToken("bob");

        var allowed = await stack.BearerAsync(active);
        var refused = await stack.BearerAsync(revoked);

        Assert.That(allowed, Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(((AuthOutcome.Allow)allowed).Identity!.Groups, Does.Contain("staff"), "the identity is the JWT's");
        Assert.That(refused, Is.InstanceOf<AuthOutcome.LoginRequired>());
        Assert.That(refused.Note!.Reason, Does.Contain("not active"));
        Assert.That(stack.Provider.IntrospectionRequests, Has.Count.EqualTo(2));
    }
}
