using System.Text.Json;
using ForwardAuth.Auth;
using ForwardAuth.Endpoints;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// The plugin's <c>headers</c> templates at the decision: an Allow of a session carries what the templates read (the
/// ID token's claims, kept through the store, the session's access and ID tokens), and the headers written from it
/// are the rendered templates. Token values are compared, never printed.
/// </summary>
[TestFixture]
[Category("Fast")]
public class HeaderTemplateDecisionTests
{
    private static readonly (string Key, string Value) Templates = ("HEADERS", JsonSerializer.Serialize(new[]
    {
        new { name = "X-User-Email", value = "{{.Claims.email}}" },
        new { name = "X-Upstream-Authorization", value = "Bearer {{.AccessToken}}" },
        new { name = "X-Id-Token", value = "{{.IDToken}}" },
        new { name = "X-User-Roles", value = "{{range $i, $e := .Claims.roles}}{{if $i}},{{end}}{{$e}}{{end}}" },
        new { name = "X-Tenant", value = "{{with .Claims.org}}{{.tenant}}{{else}}none{{end}}" },
        new { name = "X-Note", value = "{{default \"-\" .Claims.note}}" },
    }));

    [Test]
    public async Task Session_Allow_CarriesTheRenderedTemplates()
    {
        await using var stack = await FastStack.StartAsync(Templates);
        string? idToken = null;
        string? accessToken = null;
        var cookie = await stack.SignInAsync("alice", login =>
        {
            idToken = stack.Provider.IdToken("alice", login.Nonce, c =>
            {
                c["roles"] = new[] { "admin", "dev" };
                c["org"] = new Dictionary<string, string> { ["tenant"] = "acme" };
                c["note"] = "line1\r\nX-Injected: yes";
            });
            accessToken = stack.Provider.AccessToken("alice");
            return new TokenSet(idToken, accessToken);
        });

        var allow = (AuthOutcome.Allow)await stack.NavigateAsync("/dashboard", cookie);
        var headers = Written(stack, allow);

        Assert.That(headers["X-User-Email"].ToString(), Is.EqualTo("alice@example.com"));
        Assert.That(headers["X-User-Roles"].ToString(), Is.EqualTo("admin,dev"));
        Assert.That(headers["X-Tenant"].ToString(), Is.EqualTo("acme"));
        Assert.That(headers["X-Note"].ToString(), Is.EqualTo("line1X-Injected: yes"), "CR/LF of a claim never reach a header");
        Assert.That(headers["X-Upstream-Authorization"].ToString() == "Bearer " + accessToken, Is.True, "the session's access token, after 'Bearer '");
        Assert.That(headers["X-Id-Token"].ToString() == idToken, Is.True, "the session's ID token");
        Assert.That(allow.Identity!.TemplateClaims!.Keys, Is.EquivalentTo(new[] { "email", "roles", "org", "note" }), "only the claims the templates read");
    }

    [Test]
    public async Task Session_ClaimMissing_HeaderPresentAndEmptyOrDefault()
    {
        await using var stack = await FastStack.StartAsync(Templates);
        var cookie = await stack.SignInAsync("bob", login => new TokenSet(stack.Provider.IdToken("bob", login.Nonce, c => c.Remove("email")), null));

        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie));

        Assert.That(headers.ContainsKey("X-User-Email") && headers["X-User-Email"].ToString().Length == 0, Is.True);
        Assert.That(headers["X-User-Roles"].ToString(), Is.Empty);
        Assert.That(headers["X-Tenant"].ToString(), Is.EqualTo("none"));
        Assert.That(headers["X-Note"].ToString(), Is.EqualTo("-"));
    }

    [Test]
    public async Task Refresh_NewIdToken_TemplatesReadItsClaims()
    {
        await using var stack = await FastStack.StartAsync(Templates);
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, c => c["roles"] = new[] { "dev" }), stack.Provider.AccessToken("alice"), "r1", 300));
        stack.Provider.OnRefresh("r1", () => new TokenSet(
            stack.Provider.IdToken("alice", null, c => c["roles"] = new[] { "dev", "lead" }), stack.Provider.AccessToken("alice"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie));

        Assert.That(headers["X-User-Roles"].ToString(), Is.EqualTo("dev,lead"), "the refreshed ID token's claim");
        Assert.That(headers["X-User-Email"].ToString(), Is.EqualTo("alice@example.com"), "a claim it also carries");
    }

    [Test]
    public async Task Refresh_IdTokenWithoutAClaim_TheClaimKeepsItsValue()
    {
        await using var stack = await FastStack.StartAsync(Templates);
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(
            stack.Provider.IdToken("alice", login.Nonce, c => c["roles"] = new[] { "dev" }), stack.Provider.AccessToken("alice"), "r1", 300));
        stack.Provider.OnRefresh("r1", () => new TokenSet(stack.Provider.IdToken("alice", null, c => c.Remove("email")), stack.Provider.AccessToken("alice"), "r2", 300));

        stack.Time.Advance(TimeSpan.FromSeconds(250));
        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie));

        Assert.That(headers["X-User-Email"].ToString(), Is.EqualTo("alice@example.com"));
        Assert.That(headers["X-User-Roles"].ToString(), Is.EqualTo("dev"));
    }

    [Test]
    public async Task Bearer_Allow_ReadsTheAccessTokensClaims_NoIdToken()
    {
        await using var stack = await FastStack.StartAsync(Templates);
        var token = stack.Provider.AccessToken("carol", c => c["roles"] = new[] { "api" });

        var headers = Written(stack, (AuthOutcome.Allow)await stack.BearerAsync(token));

        Assert.That(headers["X-User-Email"].ToString(), Is.EqualTo("carol@example.com"));
        Assert.That(headers["X-User-Roles"].ToString(), Is.EqualTo("api"));
        Assert.That(headers["X-Upstream-Authorization"].ToString() == "Bearer " + token, Is.True, "the bearer token itself");
        Assert.That(headers["X-Id-Token"].ToString(), Is.Empty);
    }

    [Test]
    public async Task ExcludedPath_Allow_EveryTemplateHeaderEmpty()
    {
        await using var stack = await FastStack.StartAsync(Templates, ("EXCLUDED_URLS", "/public"));

        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/public/x"));

        foreach (var name in new[] { "X-User-Email", "X-Upstream-Authorization", "X-Id-Token", "X-User-Roles", "X-Tenant", "X-Note" })
        {
            Assert.That(headers.ContainsKey(name) && headers[name].ToString().Length == 0, Is.True, name + " present and empty");
        }
    }

    // What the endpoint writes for this Allow (Endpoints/IdentityHeaders, as AuthAnswers calls it).
    private static HeaderDictionary Written(FastStack stack, AuthOutcome.Allow allow)
    {
        var headers = new HeaderDictionary();
        IdentityHeaders.Write(headers, allow.Identity, allow.AccessToken, stack.Options, allow.IdToken);
        return headers;
    }
}
