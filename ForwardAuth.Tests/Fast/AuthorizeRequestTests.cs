using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// The authorization request as providers need it: <c>authorizeParams</c> (never a protocol parameter), scopes filtered
/// against discovery's <c>scopes_supported</c> with one warning, and Entra's group overage explained once per login.
/// </summary>
[TestFixture]
[Category("Fast")]
public class AuthorizeRequestTests
{
    private static Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var all = FastStack.DefaultSettings();
        foreach (var (key, value) in extra)
        {
            all[key] = value;
        }

        return all;
    }

    private static async Task<Dictionary<string, string>> AuthorizeQueryAsync(FastStack stack)
    {
        var login = await stack.StartLoginAsync();
        return QueryHelpers.ParseQuery(new Uri(login.Redirect.AuthorizeUrl).Query).ToDictionary(p => p.Key, p => p.Value.ToString());
    }

    [Test]
    public async Task AuthorizeParams_AddedToTheAuthorizeUrl_ProtocolParametersUntouched()
    {
        await using var stack = await FastStack.StartAsync(
            ("AUTHORIZE_PARAMS", "prompt=consent,access_type=offline,resource=https://api.example.com/,hd=example.com"));

        var query = await AuthorizeQueryAsync(stack);

        Assert.That(query["prompt"], Is.EqualTo("consent"));
        Assert.That(query["access_type"], Is.EqualTo("offline"));
        Assert.That(query["resource"], Is.EqualTo("https://api.example.com/"));
        Assert.That(query["hd"], Is.EqualTo("example.com"));
        Assert.That(query["response_type"], Is.EqualTo("code"));
        Assert.That(query["client_id"], Is.EqualTo(FakeProvider.ClientId));
        Assert.That(query["code_challenge_method"], Is.EqualTo("S256"));
    }

    [Test]
    public async Task AuthorizeParams_None_NoExtraParameters()
    {
        await using var stack = await FastStack.StartAsync();

        var query = await AuthorizeQueryAsync(stack);

        Assert.That(query.Keys, Is.EquivalentTo(new[] { "client_id", "response_type", "scope", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method" }));
    }

    [TestCase("state=x", "state")]
    [TestCase("nonce=x", "nonce")]
    [TestCase("prompt=login,code_challenge=abc", "code_challenge")]
    [TestCase("code_challenge_method=plain", "code_challenge_method")]
    [TestCase("redirect_uri=https://evil.example/", "redirect_uri")]
    [TestCase("client_id=other", "client_id")]
    [TestCase("response_type=token", "response_type")]
    [TestCase("response_mode=form_post", "response_mode")]
    [TestCase("Scope=openid admin", "Scope")]
    public void AuthorizeParams_ProtocolParameter_StartUpErrorNamingTheField(string value, string name)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], Settings(("AUTHORIZE_PARAMS", value)).GetValueOrDefault))!;

        Assert.That(e.Problems, Has.One.StartsWith("authorizeParams (AUTHORIZE_PARAMS): '" + name + "' is a protocol parameter"));
    }

    [Test]
    public void AuthorizeParams_NotNameValue_StartUpError()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], Settings(("AUTHORIZE_PARAMS", "prompt")).GetValueOrDefault))!;

        Assert.That(e.Problems, Has.One.EqualTo("authorizeParams (AUTHORIZE_PARAMS): 'prompt' is not name=value"));
    }

    [Test]
    public void AuthorizeParams_YamlMapping_ValuesKeptWhole()
    {
        var directory = Directory.CreateTempSubdirectory("fa-authorize");
        var file = Path.Combine(directory.FullName, "config.yaml");
        File.WriteAllText(file, """
            authorizeParams:
              prompt: select_account consent
              domain_hint: example.com
              claims: '{"id_token":{"acr":{"values":["a","b"]}}}'
            """);

        var options = ConfigurationLoader.Load(["--config", file], Settings().GetValueOrDefault);
        directory.Delete(recursive: true);

        Assert.That(options.AuthorizeParams["prompt"], Is.EqualTo("select_account consent"));
        Assert.That(options.AuthorizeParams["domain_hint"], Is.EqualTo("example.com"));
        Assert.That(options.AuthorizeParams["claims"], Is.EqualTo("""{"id_token":{"acr":{"values":["a","b"]}}}"""), "a comma inside a YAML value is no separator");
    }

    [Test]
    public async Task Scopes_NotInScopesSupported_DroppedWithOneWarning_OpenidKept()
    {
        await using var stack = await FastStack.StartAsync(
            Settings(("SCOPES", "groups,offline_access")), p => p.ScopesSupported = ["email", "profile", "offline_access"]);

        var first = await AuthorizeQueryAsync(stack);
        var second = await AuthorizeQueryAsync(stack);

        Assert.That(first["scope"], Is.EqualTo("openid profile email offline_access"), "openid stays although the provider does not list it");
        Assert.That(second["scope"], Is.EqualTo(first["scope"]));
        var warnings = stack.Logs.Warnings.Where(w => w.Contains("scopes_supported", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), "once per metadata load, not per login");
        Assert.That(warnings[0], Does.Contain("does not list groups in scopes_supported"));
    }

    [Test]
    public async Task Scopes_NoScopesSupportedPublished_AllRequested()
    {
        await using var stack = await FastStack.StartAsync(Settings(("SCOPES", "groups,custom")));

        var query = await AuthorizeQueryAsync(stack);

        Assert.That(query["scope"], Is.EqualTo("openid profile email groups custom"));
        Assert.That(stack.Logs.Warnings, Has.None.Contains("scopes_supported"));
    }

    [Test]
    public async Task Scopes_Dropped_NotReportedAsPartialConsent()
    {
        await using var stack = await FastStack.StartAsync(Settings(("SCOPES", "groups")), p => p.ScopesSupported = ["openid", "profile", "email"]);

        await stack.SignInAsync("alice", l => new TokenSet(stack.Provider.IdToken("alice", l.Nonce), stack.Provider.AccessToken("alice")) { Scope = "openid profile email" });

        Assert.That(stack.Logs.Warnings, Has.None.Contains("did not grant the scope"));
    }

    [Test]
    public async Task GroupOverage_AtLogin_OneWarningNamingWhatToDo_GroupRuleDenies()
    {
        await using var stack = await FastStack.StartAsync(("ALLOWED_ROLES_AND_GROUPS", "admins"));

        var cookie = await stack.SignInAsync("alice", l => new TokenSet(stack.Provider.IdToken("alice", l.Nonce, c =>
        {
            c["_claim_names"] = new Dictionary<string, string> { ["groups"] = "src1" };
            c["_claim_sources"] = new Dictionary<string, object> { ["src1"] = new Dictionary<string, string> { ["endpoint"] = "https://graph.windows.net/t/users/alice/getMemberObjects" } };
        }), stack.Provider.AccessToken("alice")));
        var first = await stack.NavigateAsync("/", cookie);
        var second = await stack.NavigateAsync("/", cookie);

        var warnings = stack.Logs.Warnings.Where(w => w.Contains("group overage", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), "once per login, not per request");
        Assert.That(warnings[0], Does.Contain("Microsoft Graph").And.Contain("Groups assigned to the application"));
        Assert.That(first, Is.TypeOf<AuthOutcome.Deny>(), "never silently granted");
        Assert.That(second, Is.TypeOf<AuthOutcome.Deny>());
    }

    [Test]
    public async Task NoGroupOverage_NoWarning()
    {
        await using var stack = await FastStack.StartAsync();

        await stack.SignInAsync("alice");

        Assert.That(stack.Logs.Warnings, Has.None.Contains("group overage"));
    }
}
