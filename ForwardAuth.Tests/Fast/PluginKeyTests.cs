using ForwardAuth.Auth;
using ForwardAuth.Endpoints;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Plugin keys of issue 13 with the plugin's meaning: <c>overrideScopes</c> (the scopes of the authorize request),
/// <c>enablePKCE</c> (PKCE whatever it says) and <c>minimalHeaders</c> (the headers of an Allow).
/// </summary>
[TestFixture]
[Category("Fast")]
public class PluginKeyTests
{
    [TestCase(null, null, "openid profile email")]
    [TestCase("roles,custom_scope", null, "openid profile email roles custom_scope")]
    [TestCase("roles,custom_scope", "false", "openid profile email roles custom_scope")]
    [TestCase("openid,profile,custom_scope", "true", "openid profile custom_scope")]
    [TestCase("groups", "true", "openid groups")]
    [TestCase("email,openid,email", "true", "openid email")]
    public async Task Scopes_AddedToTheDefaults_UnlessOverridden(string? scopes, string? overrideScopes, string requested)
    {
        var settings = FastStack.DefaultSettings();
        settings.Remove("SCOPES");
        if (scopes is not null)
        {
            settings["SCOPES"] = scopes;
        }

        if (overrideScopes is not null)
        {
            settings["OVERRIDE_SCOPES"] = overrideScopes;
        }

        await using var stack = await FastStack.StartAsync(settings);

        var login = await stack.StartLoginAsync();

        Assert.That(QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query)["scope"].ToString(), Is.EqualTo(requested));
    }

    [TestCase("false")]
    [TestCase("true")]
    public async Task EnablePkce_WhateverItSays_TheLoginUsesPkce(string enablePkce)
    {
        await using var stack = await FastStack.StartAsync(("ENABLE_PKCE", enablePkce));

        var cookie = await stack.SignInAsync("alice");

        var exchange = stack.Provider.TokenRequests.Single(r => r["grant_type"] == "authorization_code");
        Assert.That(exchange.ContainsKey("code_verifier"), Is.True, "the code exchange proves the verifier");
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task EnablePkce_AuthorizeUrlCarriesTheS256Challenge_EvenWhenFalse()
    {
        await using var stack = await FastStack.StartAsync(("ENABLE_PKCE", "false"));

        var query = QueryHelpers.ParseQuery(new Uri((await stack.StartLoginAsync()).Redirect.AuthorizeUrl).Query);

        Assert.That(query["code_challenge_method"].ToString(), Is.EqualTo("S256"));
        Assert.That(query["code_challenge"].ToString(), Has.Length.EqualTo(43));
    }

    [Test]
    public async Task MinimalHeaders_RepeatsOfTheUserEmpty_ForwardedUserGroupsAndConfiguredHeadersKept()
    {
        await using var stack = await FastStack.StartAsync(
            ("MINIMAL_HEADERS", "true"), ("CLAIM_HEADERS", "X-Sub=sub"), ("HEADERS", """[{"name": "X-User-Email", "value": "{{.Claims.email}}"}]"""));
        var cookie = await stack.SignInAsync("alice");

        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie));

        Assert.That(headers["X-Forwarded-User"].ToString(), Is.EqualTo("alice@example.com"));
        Assert.That(headers["X-Auth-Request-Groups"].ToString(), Is.EqualTo("staff"));
        Assert.That(headers["X-Sub"].ToString(), Is.EqualTo("alice"));
        Assert.That(headers["X-User-Email"].ToString(), Is.EqualTo("alice@example.com"));
        foreach (var name in new[] { "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username" })
        {
            Assert.That(headers.ContainsKey(name) && headers[name].ToString().Length == 0, Is.True, name + " present and empty");
        }
    }

    [Test]
    public async Task MinimalHeaders_Off_EveryIdentityHeaderHasItsValue()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice");

        var headers = Written(stack, (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie));

        Assert.That(headers["X-Auth-Request-User"].ToString(), Is.EqualTo("alice@example.com"));
        Assert.That(headers["X-Auth-Request-Email"].ToString(), Is.EqualTo("alice@example.com"));
    }

    private static HeaderDictionary Written(FastStack stack, AuthOutcome.Allow allow)
    {
        var headers = new HeaderDictionary();
        IdentityHeaders.Write(headers, allow.Identity, allow.AccessToken, stack.Options, allow.IdToken);
        return headers;
    }
}
