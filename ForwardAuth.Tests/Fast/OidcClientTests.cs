using System.Net;
using System.Security.Cryptography;
using System.Text;
using ForwardAuth.Auth;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Login start, code exchange and refresh go through Duende.IdentityModel.OidcClient with our ID token validation
/// plugged in: what the library adds (the ID token's <c>at_hash</c> must match the access token; an answer without an
/// access token is refused) is refused with our texts, at a refresh without losing a rotated refresh token; its
/// authorize state travels in our sealed login cookie; it never pushes the authorize request elsewhere.
/// </summary>
[TestFixture]
[Category("Fast")]
public class OidcClientTests
{
    [Test]
    public async Task Callback_AtHashOfAnotherAccessToken_RefusedByOidcClient_403WithOurText()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var accessToken = stack.Provider.AccessToken("alice");
        var idToken = stack.Provider.IdToken("alice", login.Nonce, c => c["at_hash"] = AtHash("another-access-token"));

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(idToken, accessToken)));

        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(403));
        Assert.That(failed.Reason, Is.EqualTo("the ID token is not valid: refused by OidcClient (Error validating token response: Invalid access token hash.)"));
        Assert.That(failed.Code, Is.EqualTo("id_token_invalid"));
    }

    [Test]
    public async Task Callback_AtHashOfTheAccessToken_SignedIn()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var accessToken = stack.Provider.AccessToken("alice");
        var idToken = stack.Provider.IdToken("alice", login.Nonce, c => c["at_hash"] = AtHash(accessToken));

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(idToken, accessToken)));

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedIn>());
    }

    [Test]
    public async Task Callback_AnswerWithoutAccessToken_RefusedByOidcClient_403()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        stack.Provider.TokenAnswer = (HttpStatusCode.OK, "{\"id_token\":\"" + stack.Provider.IdToken("alice", login.Nonce) + "\",\"token_type\":\"Bearer\"}");

        var outcome = await stack.CallbackAsync(login, "any-code");

        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(403));
        Assert.That(failed.Reason, Is.EqualTo("the ID token is not valid: refused by OidcClient (Error validating token response: Access token is missing on token response.)"));
    }

    [Test]
    public async Task Callback_OurValidatorJudgesTheIdToken_OtherLoginsNonce_403WithOurText()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var other = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", other.Nonce), stack.Provider.AccessToken("alice"))));

        Assert.That(((AuthOutcome.SignInFailed)outcome).Reason, Is.EqualTo("the ID token is not valid: nonce does not match the login"));
    }

    [Test]
    public async Task Start_AuthorizeStateSealedInTheLoginCookie_ItsVerifierAndRedirectUriRedeemTheCode()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var query = QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query);
        var pending = stack.Services.GetRequiredService<LoginCookie>().TryOpen(login.Redirect.BindingValue)!;

        var outcome = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice"))));

        var redeemed = stack.Provider.TokenRequests.Single();
        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedIn>());
        Assert.That(pending.State, Is.EqualTo(query["state"].ToString()));
        Assert.That(pending.Nonce, Is.EqualTo(query["nonce"].ToString()));
        Assert.That(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(pending.CodeVerifier))), Is.EqualTo(query["code_challenge"].ToString()));
        Assert.That(redeemed["code_verifier"], Is.EqualTo(pending.CodeVerifier));
        Assert.That(redeemed["redirect_uri"], Is.EqualTo(query["redirect_uri"].ToString()).And.EqualTo(pending.RedirectUri));
    }

    [Test]
    public async Task Start_ProviderAdvertisesPushedAuthorization_NothingPushed_TheUrlCarriesTheWholeRequest()
    {
        await using var stack = await FastStack.StartAsync(FastStack.DefaultSettings(), p => p.AdvertisesPushedAuthorization = true);

        var login = await stack.StartLoginAsync();

        var query = QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query);
        Assert.That(stack.Provider.PushedAuthorizationRequests, Is.Zero, "an anonymous request makes no provider call");
        Assert.That(query.ContainsKey("request_uri"), Is.False);
        Assert.That(query.Keys, Is.SupersetOf(new[] { "state", "nonce", "code_challenge", "redirect_uri", "scope" }));
    }

    [Test]
    public async Task Refresh_AtHashOfAnotherAccessToken_NewIdTokenNotTaken_RotatedTokensKept()
    {
        // The access token is forwarded, so the session keeps it (a session keeps only the tokens its configuration uses).
        await using var stack = await FastStack.StartAsync(("PASS_AUTHORIZATION_HEADER", "true"));
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice"), "r1", 300));
        // A decision reads no tokens: the stored ones are read as refresh and logout read them.
        var before = (await stack.StoredAsync(cookie))!;
        var newAccessToken = stack.Provider.AccessToken("alice", lifetime: TimeSpan.FromHours(1));
        stack.Provider.OnRefresh("r1", () => new TokenSet(
            stack.Provider.IdToken("alice", null, c => c["at_hash"] = AtHash("another-access-token")), newAccessToken, "r2", 3600));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        Assert.That(await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None), Is.InstanceOf<SessionLookup.Found>());
        var after = (await stack.StoredAsync(cookie))!;

        Assert.That(before.IdToken, Is.Not.Null, "the login's ID token is kept (logout sends it as id_token_hint)");
        Assert.That(after.RefreshToken, Is.EqualTo("r2"), "the spent refresh token is never used again");
        Assert.That(after.AccessToken, Is.EqualTo(newAccessToken));
        Assert.That(after.IdToken, Is.EqualTo(before.IdToken), "the refreshed ID token is not taken");
        Assert.That(stack.Logs.Lines.Select(l => l.Message), Has.Some.Contains("refreshed ID token not accepted: refused by OidcClient (Invalid access token hash.)"));
    }

    [Test]
    public async Task Refresh_ValidIdToken_TakenAfterOurSubjectCheck()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, lifetime: TimeSpan.FromHours(2)), stack.Provider.AccessToken("alice"), "r1", 300));
        var accessToken = stack.Provider.AccessToken("alice", lifetime: TimeSpan.FromHours(1));
        var idToken = stack.Provider.IdToken("alice", null, c => c["at_hash"] = AtHash(accessToken));
        stack.Provider.OnRefresh("r1", () => new TokenSet(idToken, accessToken, "r2", 3600));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var after = ((SessionLookup.Found)await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None)).Record;

        Assert.That(after.IdToken, Is.EqualTo(idToken));
        Assert.That(after.RefreshToken, Is.EqualTo("r2"));
    }

    [Test]
    public async Task LibraryLogSerializer_Off_NoSecretOrVerifierEverSerialized()
    {
        await using var stack = await FastStack.StartAsync();

        await stack.StartLoginAsync();

        Assert.That(Duende.IdentityModel.OidcClient.Infrastructure.LogSerializer.Enabled, Is.False);
    }

    /// <summary>OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.</summary>
    private static string AtHash(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))[..16]);
}
