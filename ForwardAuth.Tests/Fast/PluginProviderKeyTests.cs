using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Plugin keys of issue 13 about the provider's endpoints and tokens, with the plugin's meaning: <c>revocationURL</c>
/// and <c>oidcEndSessionURL</c> (used instead of discovery's endpoints) and <c>strictAudienceValidation</c> (a login
/// whose JWT access token is for another audience is refused).
/// </summary>
[TestFixture]
[Category("Fast")]
public class PluginProviderKeyTests
{
    [Test]
    public async Task RevocationUrl_Set_LogoutRevokesThereInsteadOfDiscoverysEndpoint()
    {
        await using var stack = await FastStack.StartAsync(("REVOCATION_URL", FakeProvider.OverrideRevocationEndpoint));
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), null, "refresh-to-revoke"));

        await LogoutAsync(stack, cookie);

        Assert.That(stack.Provider.RevokedAtOverride, Is.EqualTo(new[] { "refresh-to-revoke" }));
        Assert.That(stack.Provider.RevokedTokens, Is.Empty, "discovery's revocation_endpoint is not called");
    }

    [Test]
    public async Task OidcEndSessionUrl_Set_LogoutRedirectsThereWithTheHint()
    {
        const string endSession = "https://id.fast.test/custom/end-session";
        await using var stack = await FastStack.StartAsync(("OIDC_END_SESSION_URL", endSession));
        var idToken = "";
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(idToken = stack.Provider.IdToken("alice", login.Nonce)));

        var outcome = (AuthOutcome.SignedOut)await LogoutAsync(stack, cookie);

        var url = new Uri(outcome.RedirectUrl);
        Assert.That(url.GetLeftPart(UriPartial.Path), Is.EqualTo(endSession));
        Assert.That(QueryHelpers.ParseQuery(url.Query)["id_token_hint"].ToString(), Is.EqualTo(idToken));
    }

    [TestCase("true", "other-api", false)]
    [TestCase("true", FakeProvider.ClientId, true)]
    [TestCase("false", "other-api", true)]
    [TestCase(null, "other-api", true)]
    public async Task StrictAudienceValidation_AccessTokenForAnotherAudience_LoginRefusedOnlyWhenStrict(string? strict, string audience, bool signedIn)
    {
        var settings = FastStack.DefaultSettings();
        if (strict is not null)
        {
            settings["STRICT_AUDIENCE_VALIDATION"] = strict;
        }

        await using var stack = await FastStack.StartAsync(settings);
        var login = await stack.StartLoginAsync();
        var tokens = new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice", c => c["aud"] = audience));

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(tokens));

        if (signedIn)
        {
            Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedIn>());
        }
        else
        {
            var failed = (AuthOutcome.SignInFailed)outcome;
            Assert.That(failed.Status, Is.EqualTo(403));
            Assert.That(failed.Reason, Does.Contain("another audience").And.Contain("strictAudienceValidation"));
        }
    }

    [Test]
    public async Task StrictAudienceValidation_OpaqueAccessToken_LoginCompletes()
    {
        // The plugin checks the audience of JWT access tokens only; an opaque one carries no audience to compare.
        await using var stack = await FastStack.StartAsync(("STRICT_AUDIENCE_VALIDATION", "true"));

        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), "opaque-access-token"));

        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    private static Task<AuthOutcome> LogoutAsync(FastStack stack, string cookie) =>
        stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);
}
