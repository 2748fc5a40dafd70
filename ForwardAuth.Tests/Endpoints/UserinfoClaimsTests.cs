using System.Net;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// <c>claimsFromUserinfo</c> against the real dev provider with thin ID tokens (<c>THIN_ID_TOKENS</c>: email and groups
/// only in userinfo), real Redis.
/// </summary>
[TestFixture]
public class UserinfoClaimsTests
{
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            ThinIdTokens = true,
            RedirectUris = ["http://app.test/oauth2/callback"],
        });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Dictionary<string, string> Settings(bool fromUserinfo)
    {
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["CLAIMS_FROM_USERINFO"] = fromUserinfo ? "true" : "false";
        return settings;
    }

    [Test]
    public async Task ThinIdTokens_ClaimsFromUserinfo_EmailAndGroupsInTheHeadersAndThePolicy()
    {
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(fromUserinfo: true));
        using var client = new ForwardAuthClient();

        using var done = await client.LoginAsync(replica, replica, "/", "alice");
        using var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        using var admins = await client.AuthAsync(replica, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"));
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task ThinIdTokens_WithoutUserinfo_OnlyTheSubject()
    {
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(fromUserinfo: false));
        using var client = new ForwardAuthClient();

        using var _ = await client.LoginAsync(replica, replica, "/", "alice");
        using var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        using var admins = await client.AuthAsync(replica, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");

        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice"), "the dev provider's sub: the thin ID token has no email");
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.Empty);
        Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Refresh_ClaimsFromUserinfoAgain_IdentityKept()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(fromUserinfo: true), clock);
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(replica, replica, "/", "bob");
        var refreshesBefore = await _provider.GrantCountAsync("refresh_token");

        // The dev provider's tokens live 300 s; ForwardAuth refreshes in the last 60.
        clock.Advance(TimeSpan.FromSeconds(250));
        using var page = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await _provider.GrantCountAsync("refresh_token") - refreshesBefore, Is.EqualTo(1));
        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("users"));
    }
}
