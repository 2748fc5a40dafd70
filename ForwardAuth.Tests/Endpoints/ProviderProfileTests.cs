using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// Claim shapes and authorization-request parameters end to end: the real dev provider in a <c>CLAIM_PROFILE</c>
/// (groups shaped as Zitadel, Auth0, Cognito or an Entra ID overage token send them), a replica, the decision.
/// </summary>
[TestFixture]
public class ProviderProfileTests
{
    private const string CallbackUri = "http://app.test/oauth2/callback";

    private static async Task<(HttpResponseMessage Page, HttpResponseMessage Admins, ForwardAuthInstance Replica)> LoginAsync(
        OidcProvider provider, params (string Key, string Value)[] settings)
    {
        var env = ForwardAuthSettings.For(provider);
        foreach (var (key, value) in settings)
        {
            env[key] = value;
        }

        var replica = await ForwardAuthInstance.StartInProcessAsync(env);
        using var client = new ForwardAuthClient();
        using var done = await client.LoginAsync(replica, replica, "/", "alice");
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the login completes");
        var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        var admins = await client.AuthAsync(replica, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");
        return (page, admins, replica);
    }

    private static Task<OidcProvider> ProviderAsync(string? profile, string autoLogin = "hint") => OidcProvider.StartAsync(new OidcProvider.Settings
    {
        AutoLogin = autoLogin,
        ClaimProfile = profile,
        RedirectUris = [CallbackUri],
    });

    [Test]
    public async Task Zitadel_RoleMap_KeysAreTheRoles()
    {
        await using var provider = await ProviderAsync("zitadel");

        var (page, admins, replica) = await LoginAsync(provider, ("ROLE_CLAIM_NAME", "urn:zitadel:iam:org:project:roles"));
        await using var _ = replica;

        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"));
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Auth0_NamespacedClaims_UrlNameAndPathIntoIt()
    {
        await using var provider = await ProviderAsync("auth0");

        var (page, admins, replica) = await LoginAsync(provider,
            ("ROLE_CLAIM_NAME", "https://forwardauth.example/app_metadata.roles"), ("GROUP_CLAIM_NAME", "https://forwardauth.example/roles"),
            ("CLAIM_HEADERS", "X-App-Roles=https://forwardauth.example/app_metadata.roles"));
        await using var _ = replica;

        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"));
        Assert.That(page.Headers.GetValues("X-App-Roles").Single(), Is.EqualTo("admins,users"), "a URL name with dots, then a key inside it");
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Cognito_ColonInTheClaimName()
    {
        await using var provider = await ProviderAsync("cognito");

        var (page, admins, replica) = await LoginAsync(provider, ("GROUP_CLAIM_NAME", "cognito:groups"));
        await using var _ = replica;

        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"));
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task EntraOverage_WarnedOncePerLogin_GroupRuleDenies()
    {
        await using var provider = await ProviderAsync("entra-overage");

        var (page, admins, replica) = await LoginAsync(provider);
        await using var _ = replica;

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the login itself works");
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "never silently granted");
        var warnings = replica.Logs.Where(l => l.Contains("group overage", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), "once per login, not per request (two requests were decided)");
        Assert.That(warnings[0], Does.Contain("Microsoft Graph").And.Contain("roleClaimName"));
    }

    [Test]
    public async Task AuthorizeParams_ReachTheProvider_LoginHintChoosesTheUser()
    {
        // AUTO_LOGIN=hint signs in whoever login_hint names; the test client sends none, authorizeParams does.
        await using var provider = await ProviderAsync(profile: null);
        var env = ForwardAuthSettings.For(provider);
        env["AUTHORIZE_PARAMS"] = "login_hint=bob,ui_locales=de";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(env);
        using var client = new ForwardAuthClient();

        using var challenge = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri);
        using var done = await client.AuthAsync(replica, "GET", callback, ForwardAuthClient.Navigation);
        using var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(challenge.Headers.Location!.Query, Does.Contain("login_hint=bob").And.Contain("ui_locales=de"));
        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
    }

    [Test]
    public async Task Scopes_NotInTheProvidersScopesSupported_DroppedWithOneWarning()
    {
        await using var provider = await ProviderAsync(profile: null);
        var env = ForwardAuthSettings.For(provider);
        env["SCOPES"] = "groups,https://graph.microsoft.com/.default";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(env);
        using var client = new ForwardAuthClient();

        using var first = await client.LoginAsync(replica, replica, "/", "alice");
        using var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"), "the supported scopes still asked for");
        var warnings = replica.Logs.Where(l => l.Contains("scopes_supported", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1));
        Assert.That(warnings[0], Does.Contain("https://graph.microsoft.com/.default"));
    }
}
