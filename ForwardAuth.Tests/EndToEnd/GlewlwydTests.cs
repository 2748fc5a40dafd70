using System.Net;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// A second, independent OpenID provider: Glewlwyd 2.7.5 from Debian (one process for the fixture), two replicas and
/// real Redis. Configured as docs/providers.md#glewlwyd tells a user: <c>claimSeparator</c> "," for its comma-joined
/// groups, <c>audience</c> = the resource its API clients ask for.
/// </summary>
[TestFixture]
[Category("Glewlwyd")]
public class GlewlwydTests
{
    private const string SessionCookie = "_forwardauth_session";
    private const string Scopes = "openid email groups";
    private RedisServer _redis = null!;
    private GlewlwydProvider _provider = null!;
    private ForwardAuthInstance _a = null!;
    private ForwardAuthInstance _b = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await RedisServer.StartAsync();
        // Glewlwyd must know replica A's back-channel URI before A starts: the port is held until then.
        using var portA = PortReservation.Take();
        _provider = await GlewlwydProvider.StartAsync(new GlewlwydProvider.Settings
        {
            RedirectUris = ["http://app.test/oauth2/callback"],
            PostLogoutRedirectUris = ["http://app.test/"],
            BackchannelLogoutUri = $"http://127.0.0.1:{portA.Port}/oauth2/backchannel-logout",
        });
        _a = await ForwardAuthInstance.StartInProcessAsync(Settings(), listenOn: portA);
        _b = await ForwardAuthInstance.StartInProcessAsync(Settings());
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Dictionary<string, string> Settings()
    {
        var settings = ForwardAuthSettings.For(_provider.Issuer, GlewlwydProvider.ClientId, GlewlwydProvider.ClientSecret, _redis);
        settings["SCOPES"] = Scopes.Replace(' ', ',');
        settings["OVERRIDE_SCOPES"] = "true"; // as the recipe says: Glewlwyd has no "profile" scope of its own
        settings["CLAIM_SEPARATOR"] = ",";
        settings["AUDIENCE"] = GlewlwydProvider.ApiResource;
        settings["PASS_AUTHORIZATION_HEADER"] = "true";
        return settings;
    }

    /// <summary>The browser's login: ForwardAuth sends it to Glewlwyd, the user signs in there, Glewlwyd sends it back.</summary>
    private async Task<HttpResponseMessage> LoginAsync(
        ForwardAuthClient client, GlewlwydProvider.User user, ForwardAuthInstance start, ForwardAuthInstance callback, string uri = "/", string? granted = null)
    {
        using var challenge = await client.AuthAsync(start, "GET", uri, ForwardAuthClient.Navigation);
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var authorize = challenge.Headers.Location!.AbsoluteUri;
        Assert.That(authorize, Does.StartWith(_provider.Issuer + "/auth?"));
        await _provider.SignInAsync(client.ProviderHttp, user, granted ?? Scopes);
        var back = await client.ProviderRoundTripAsync(authorize + "&g_continue");
        return await client.AuthAsync(callback, "GET", back, ForwardAuthClient.Navigation);
    }

    private static async Task<HttpResponseMessage> PageAsync(ForwardAuthClient client, ForwardAuthInstance replica, string uri = "/") =>
        await client.AuthAsync(replica, "GET", uri, ForwardAuthClient.Navigation);

    [Test]
    public async Task Login_StartsOnA_CallbackOnB_IdentityFromGlewlwyd()
    {
        using var client = new ForwardAuthClient();

        using var done = await LoginAsync(client, GlewlwydProvider.Alice, _a, _b, "/reports?year=2026");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(done.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/reports?year=2026"));
        foreach (var replica in new[] { _a, _b })
        {
            using var page = await PageAsync(client, replica, "/reports?year=2026");
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,staff"));
            Assert.That(page.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer ey"));
        }
    }

    [Test]
    public async Task PerRoutePolicy_Session_GroupsFromTheIdToken()
    {
        using var alice = new ForwardAuthClient();
        using var bob = new ForwardAuthClient();
        using var _ = await LoginAsync(alice, GlewlwydProvider.Alice, _a, _b);
        using var __ = await LoginAsync(bob, GlewlwydProvider.Bob, _b, _a);

        using var aliceAdmin = await alice.AuthAsync(_a, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");
        using var bobAdmin = await bob.AuthAsync(_a, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=admins");
        using var bobStaff = await bob.AuthAsync(_b, "GET", "/staff", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=staff");

        Assert.That(aliceAdmin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(bobAdmin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(bobStaff.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Bearer_AccessTokenForTheResource_AcceptedOnBothReplicas_ScopeListAudienceRefused()
    {
        var forApi = await _provider.ObtainTokensAsync(GlewlwydProvider.Alice, "openid groups " + GlewlwydProvider.ApiScope, GlewlwydProvider.ApiResource);
        var plain = await _provider.ObtainTokensAsync(GlewlwydProvider.Alice, "openid groups " + GlewlwydProvider.ApiScope);
        Assert.That(new JsonWebToken(forApi.AccessToken).Audiences, Is.EqualTo(new[] { GlewlwydProvider.ApiResource }));
        Assert.That(new JsonWebToken(plain.AccessToken).Audiences, Is.EqualTo(new[] { "openid groups api" }), "Glewlwyd: without a resource, aud is the scope list");

        using var api = new ForwardAuthClient();
        foreach (var replica in new[] { _a, _b })
        {
            using var accepted = await api.AuthAsync(replica, "GET", "/api/items", r => r.Headers.Add("Authorization", "Bearer " + forApi.AccessToken));
            using var refused = await api.AuthAsync(replica, "GET", "/api/items", r => r.Headers.Add("Authorization", "Bearer " + plain.AccessToken));
            Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(accepted.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
    }

    [Test]
    public async Task PerRoutePolicy_Bearer_CommaJoinedGroupsSplitByClaimSeparator()
    {
        var scope = "openid groups " + GlewlwydProvider.ApiScope;
        var alice = await _provider.ObtainTokensAsync(GlewlwydProvider.Alice, scope, GlewlwydProvider.ApiResource);
        var bob = await _provider.ObtainTokensAsync(GlewlwydProvider.Bob, scope, GlewlwydProvider.ApiResource);
        Assert.That(new JsonWebToken(alice.AccessToken).GetPayloadValue<string>("groups"), Is.EqualTo("admins,staff"), "Glewlwyd: one comma-joined string");

        using var api = new ForwardAuthClient();
        using var aliceAdmin = await api.AuthAsync(_a, "GET", "/api/admin", r => r.Headers.Add("Authorization", "Bearer " + alice.AccessToken), "/auth?allowedRolesAndGroups=admins");
        using var aliceStaff = await api.AuthAsync(_b, "GET", "/api/staff", r => r.Headers.Add("Authorization", "Bearer " + alice.AccessToken), "/auth?allowedRolesAndGroups=staff");
        using var bobAdmin = await api.AuthAsync(_b, "GET", "/api/admin", r => r.Headers.Add("Authorization", "Bearer " + bob.AccessToken), "/auth?allowedRolesAndGroups=admins");

        Assert.That(aliceAdmin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(aliceAdmin.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,staff"));
        Assert.That(aliceStaff.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(bobAdmin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Refresh_TokenComesDue_RefreshedAtGlewlwyd_WithoutIdToken_IdentityKept()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(), clock);
        using var client = new ForwardAuthClient();
        using var _ = await LoginAsync(client, GlewlwydProvider.Alice, replica, replica);
        using var before = await PageAsync(client, replica);
        var first = before.Headers.GetValues("Authorization").Single();
        var refreshesBefore = RefreshCount();

        // Glewlwyd's access tokens live 300 s; ForwardAuth refreshes 60 s before they expire.
        clock.Advance(TimeSpan.FromSeconds(250));
        using var after = await PageAsync(client, replica);

        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(after.Headers.GetValues("Authorization").Single(), Is.Not.EqualTo(first), "a new access token");
        Assert.That(RefreshCount() - refreshesBefore, Is.EqualTo(1), "one refresh at Glewlwyd");
        Assert.That(after.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"), "the identity survives an answer without id_token");
        Assert.That(after.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,staff"));

        // Glewlwyd logs each access token it issues; between the two pages only a refresh_token grant could issue one.
        int RefreshCount() => _provider.Output.Count(l => l.Contains("Access token generated for client 'forwardauth' granted by user 'alice'", StringComparison.Ordinal));
    }

    [Test]
    public async Task RpInitiatedLogout_RefreshTokenRevokedAtGlewlwyd_ToItsEndSession_OldCookieRefusedEverywhere()
    {
        using var client = new ForwardAuthClient();
        using var _ = await LoginAsync(client, GlewlwydProvider.Alice, _a, _b);
        var oldCookie = client.Cookies[SessionCookie];
        var revoked = _provider.RevokedRefreshTokens;

        using var logout = await client.AuthAsync(_b, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        await TestPaths.WaitUntilAsync(
            () => Task.FromResult(_provider.RevokedRefreshTokens > revoked), TimeSpan.FromSeconds(5), "Glewlwyd to log the refresh token's revocation");
        var endSession = logout.Headers.Location!.AbsoluteUri;
        Assert.That(endSession, Does.StartWith(_provider.Issuer + "/end_session"));
        Assert.That(endSession, Does.Contain("id_token_hint=").And.Contain("post_logout_redirect_uri=" + Uri.EscapeDataString("http://app.test/")));

        // Glewlwyd accepts the hint and the redirect URI and shows its logout page for this session.
        using var atGlewlwyd = await client.ProviderHttp.GetAsync(endSession);
        Assert.That(atGlewlwyd.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var page = atGlewlwyd.Headers.Location!.AbsoluteUri;
        Assert.That(page, Does.Contain("/login.html?").And.Contain("prompt=end_session").And.Contain("callback_url=" + Uri.EscapeDataString("http://app.test/")));

        client.Cookies[SessionCookie] = oldCookie;
        foreach (var replica in new[] { _a, _b })
        {
            using var again = await PageAsync(client, replica);
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(again.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer + "/auth?"));
        }
    }

    [Test]
    public async Task BackchannelLogout_LogoutTokenWithoutExp_Accepted_SessionEndsOnEveryReplica()
    {
        using var client = new ForwardAuthClient();
        using var other = new ForwardAuthClient();
        using var _ = await LoginAsync(client, GlewlwydProvider.Alice, _b, _b);
        using var __ = await LoginAsync(other, GlewlwydProvider.Alice, _a, _a);
        var accepted = _provider.BackchannelSuccesses;
        var refused = _provider.BackchannelRefusals.Count;

        // The user signs out at Glewlwyd (its logout page); Glewlwyd posts a logout token without exp to replica A.
        await _provider.EndSessionAsync(client.ProviderHttp, client.ProviderCookies);

        // Glewlwyd posts from a thread of its own and logs whether replica A answered 200.
        await TestPaths.WaitUntilAsync(
            () => Task.FromResult(_provider.BackchannelSuccesses > accepted || _provider.BackchannelRefusals.Count > refused), TimeSpan.FromSeconds(10), "Glewlwyd's back-channel call");
        Assert.That(_provider.BackchannelRefusals.Skip(refused), Is.Empty, "ForwardAuth accepted the logout token");
        Assert.That(_provider.BackchannelSuccesses, Is.EqualTo(accepted + 1));
        foreach (var replica in new[] { _a, _b })
        {
            using var ended = await PageAsync(client, replica);
            Assert.That(ended.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the session ended");
            Assert.That(ended.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer + "/auth?"));
            using var untouched = await PageAsync(other, replica);
            Assert.That(untouched.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another Glewlwyd session of the same user stays");
        }

    }

    [Test]
    public async Task PartialConsent_GroupsNotGranted_LoginSucceedsWithoutGroups_MissingScopeLogged()
    {
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings());
        using var client = new ForwardAuthClient();

        using var done = await LoginAsync(client, GlewlwydProvider.Alice, replica, replica, granted: "openid email");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        using var page = await PageAsync(client, replica);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.Empty);
        Assert.That(replica.Logs.Where(l => l.Contains("did not grant the scope", StringComparison.Ordinal)).ToList(),
            Has.Count.EqualTo(1).And.Some.Contains("groups"), "the missing scope is logged once, and only it");
    }

    [Test]
    public async Task ClaimsFromUserinfo_GlewlwydUserinfoHasTheIdTokensSubject_LoginWithItsClaims()
    {
        var settings = Settings();
        settings["CLAIMS_FROM_USERINFO"] = "true";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        using var client = new ForwardAuthClient();

        using var done = await LoginAsync(client, GlewlwydProvider.Bob, replica, replica);
        using var page = await PageAsync(client, replica);

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found), "userinfo's sub is the ID token's: no 403");
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
        Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("staff"));
    }
}
