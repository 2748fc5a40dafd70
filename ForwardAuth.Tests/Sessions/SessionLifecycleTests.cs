using System.Net;
using ForwardAuth.Auth;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace ForwardAuth.Tests.Sessions;

/// <summary>
/// Refresh, lifetimes and logout across two replicas, against the real provider with 4-second tokens and rotating
/// refresh tokens, and real Redis.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SessionLifecycleTests
{
    private const string SessionCookie = "_forwardauth_session";
    private const string Resource = "https://api.lifecycle.test";
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _a = null!;
    private ForwardAuthInstance _b = null!;
    private readonly HttpClient _http = new();

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await RedisServer.StartAsync();
        // The provider must know the replica's back-channel URI before the replica starts: its port is held until then.
        using var portA = PortReservation.Take();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = Resource,
            AccessTokenTtl = 4,
            IdTokenTtl = 4,
            RotateRefreshTokens = true,
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
        _http.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [TearDown]
    public Task NoTokenDelay() => _provider.SetTokenDelayAsync(TimeSpan.Zero);

    private Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["AUDIENCE"] = Resource;
        settings["PASS_AUTHORIZATION_HEADER"] = "true";
        settings["LOG_LEVEL"] = "info";
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<string> AccessTokenAsync(ForwardAuthClient client, ForwardAuthInstance replica)
    {
        using var response = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return response.Headers.GetValues("Authorization").Single()["Bearer ".Length..];
    }

    private static Task UntilAsync(DateTime utc) =>
        TestPaths.WaitUntilAsync(() => Task.FromResult(DateTime.UtcNow >= utc), utc - DateTime.UtcNow + TimeSpan.FromSeconds(2), "the tokens to come due");

    private static DateTime ExpiryOf(string jwt) => new JsonWebToken(jwt).ValidTo;

    private static async Task<List<HttpResponseMessage>> BurstAsync(ForwardAuthClient client, int requests, params ForwardAuthInstance[] replicas) =>
        [.. await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            client.AuthAsync(replicas[i % replicas.Length], "GET", "/burst", ForwardAuthClient.Navigation)))];

    [Test]
    public async Task Refresh_HundredParallelRequestsAtExpiry_OneRefreshNoChallenge_RotatedTokenKeepsWorking()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(_a, _b, "/", "alice");
        var first = await AccessTokenAsync(client, _a);

        for (var round = 1; round <= 2; round++)
        {
            // Round 1: due but still valid (others use the valid token). Round 2: already expired (others wait).
            var token = await AccessTokenAsync(client, _b);
            await UntilAsync(round == 1 ? ExpiryOf(token).AddSeconds(-1) : ExpiryOf(token).AddMilliseconds(200));
            var before = await _provider.GrantCountAsync("refresh_token");

            var answers = await BurstAsync(client, 100, _a, _b);

            Assert.That(answers.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK), $"round {round}: nobody is sent to log in");
            Assert.That(await _provider.GrantCountAsync("refresh_token") - before, Is.EqualTo(1), $"round {round}: exactly one refresh reached the provider");
            var newer = await AccessTokenAsync(client, _a);
            Assert.That(ExpiryOf(newer), Is.GreaterThan(ExpiryOf(token)), $"round {round}: every replica now hands out the new token");
        }

        Assert.That(await AccessTokenAsync(client, _b), Is.Not.EqualTo(first));
    }

    [Test]
    public async Task Refresh_ProviderSlowerThanTheLease_StillOneRefresh()
    {
        await using var shortLease = await ForwardAuthInstance.StartInProcessAsync(Settings(("REFRESH_LEASE_TTL", "1"), ("REFRESH_WAIT_SECONDS", "8")));
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(shortLease, _b, "/", "bob");
        await UntilAsync(ExpiryOf(await AccessTokenAsync(client, shortLease)).AddMilliseconds(200));
        await _provider.SetTokenDelayAsync(TimeSpan.FromSeconds(3));
        var before = await _provider.GrantCountAsync("refresh_token");

        var answers = await BurstAsync(client, 40, shortLease, _a);

        Assert.That(answers.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(await _provider.GrantCountAsync("refresh_token") - before, Is.EqualTo(1), "the 1-second lease was renewed through the 3-second refresh");
    }

    [Test]
    public async Task Refresh_InvalidGrantForOneUser_OnlyThatUserLogsInAgain()
    {
        using var carol = new ForwardAuthClient();
        using var dave = new ForwardAuthClient();
        using var c = await carol.LoginAsync(_a, _b, "/", "carol");
        using var d = await dave.LoginAsync(_a, _b, "/", "dave");

        // Revoke carol's refresh token at the provider, as an administrator disabling her account would.
        var store = _a.Services.GetRequiredService<SessionStore>();
        var cookie = _a.Services.GetRequiredService<SessionCookie>();
        var handle = cookie.TryOpen(carol.Cookies[SessionCookie])!.Handle;
        var refreshToken = (await store.ReloadAsync(handle, CancellationToken.None))!.RefreshToken!;
        await RevokeAsync(refreshToken);
        await UntilAsync(ExpiryOf(await AccessTokenAsync(carol, _a)).AddMilliseconds(200));
        await UntilAsync(ExpiryOf(await AccessTokenAsync(dave, _a)).AddMilliseconds(200));

        using var carolNow = await carol.AuthAsync(_b, "GET", "/", ForwardAuthClient.Navigation);
        using var daveNow = await dave.AuthAsync(_b, "GET", "/", ForwardAuthClient.Navigation);
        using var carolElsewhere = await carol.AuthAsync(_a, "GET", "/", ForwardAuthClient.Navigation);

        Assert.Multiple(() =>
        {
            Assert.That(carolNow.StatusCode, Is.EqualTo(HttpStatusCode.Found), "carol's refresh got invalid_grant: log in again");
            Assert.That(carolElsewhere.StatusCode, Is.EqualTo(HttpStatusCode.Found), "her session ended on every replica");
            Assert.That(daveNow.StatusCode, Is.EqualTo(HttpStatusCode.OK), "dave refreshes fine on the same replica");
        });
    }

    private async Task RevokeAsync(string refreshToken)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = refreshToken, ["token_type_hint"] = "refresh_token" });
        using var request = new HttpRequestMessage(HttpMethod.Post, _provider.Issuer + "/token/revocation") { Content = form };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{OidcProvider.ClientId}:{OidcProvider.ClientSecret}")));
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    [Test]
    public async Task SessionMaxAge_Reached_LoginAgainAlthoughRefreshKeepsSucceeding()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(("SESSION_MAX_AGE", "60")), clock);
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(replica, replica, "/", "erin");
        var before = await _provider.GrantCountAsync("refresh_token");

        for (var step = 1; step <= 5; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            using var during = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            Assert.That(during.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"at +{step * 10}s");
        }

        Assert.That(await _provider.GrantCountAsync("refresh_token") - before, Is.GreaterThanOrEqualTo(3), "refresh kept succeeding");
        clock.Advance(TimeSpan.FromSeconds(11));
        using var after = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "sessionMaxAge is absolute: refresh never extends it");
    }

    [Test]
    public async Task IdleTimeout_NoRequestForLongEnough_LoginAgain_ActivityWrittenAtMostOncePerInterval()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(
            Settings(("SESSION_IDLE_TIMEOUT", "600"), ("SESSION_ACTIVITY_INTERVAL", "60"), ("PASS_AUTHORIZATION_HEADER", "false")), clock);
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(replica, replica, "/", "frank");
        var admin = await _redis.AdminAsync();
        var setsBefore = await SetCallsAsync();

        for (var i = 0; i < 20; i++)
        {
            using var busy = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            Assert.That(busy.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(await SetCallsAsync() - setsBefore, Is.LessThanOrEqualTo(1), "20 requests within the interval write at most once");
        clock.Advance(TimeSpan.FromSeconds(500));
        using var stillActive = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        clock.Advance(TimeSpan.FromSeconds(500));
        using var activeAgain = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        clock.Advance(TimeSpan.FromSeconds(601));
        using var idle = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(stillActive.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(activeAgain.StatusCode, Is.EqualTo(HttpStatusCode.OK), "activity 500 s ago keeps it alive");
        Assert.That(idle.StatusCode, Is.EqualTo(HttpStatusCode.Found), "601 s without a request ends it");

        async Task<long> SetCallsAsync()
        {
            var info = (string)(await admin.ExecuteAsync("INFO", "commandstats"))!;
            var line = info.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_set:", StringComparison.Ordinal)) ?? "calls=0,";
            return long.Parse(line.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Test]
    public async Task Logout_OnA_RefusedEverywhere_RefreshTokenRevoked_AccessTokenRefusedAsBearer()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(_a, _b, "/", "grace");
        var accessToken = await AccessTokenAsync(client, _b);
        var oldCookie = client.Cookies[SessionCookie];
        var revocationsBefore = await _provider.RevocationCountAsync();
        using var bearerBefore = await new ForwardAuthClient().AuthAsync(_a, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + accessToken));
        Assert.That(bearerBefore.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the session's access token works as a bearer token before logout");

        using var logout = await client.AuthAsync(_a, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(await _provider.RevocationCountAsync() - revocationsBefore, Is.EqualTo(1), "the refresh token was revoked at the provider");
        client.Cookies[SessionCookie] = oldCookie;
        foreach (var replica in new[] { _a, _b })
        {
            using var cookieAgain = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            using var bearerAgain = await new ForwardAuthClient().AuthAsync(replica, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + accessToken));
            Assert.That(cookieAgain.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(bearerAgain.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a bearer token from the ended session is refused");
        }
    }

    [Test]
    public async Task BackchannelLogout_FromTheProvider_EndsTheUsersSessionsOnEveryReplica()
    {
        using var heidi = new ForwardAuthClient();
        using var other = new ForwardAuthClient();
        using var h = await heidi.LoginAsync(_a, _b, "/", "heidi");
        using var o = await other.LoginAsync(_b, _a, "/", "ivan");
        var before = await _provider.BackchannelSuccessCountAsync();

        await heidi.ProviderLogoutAsync(_provider.Issuer);

        await TestPaths.WaitUntilAsync(async () => await _provider.BackchannelSuccessCountAsync() > before, TimeSpan.FromSeconds(10), "the provider's back-channel call");
        foreach (var replica in new[] { _a, _b })
        {
            using var ended = await heidi.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            using var untouched = await other.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            Assert.That(ended.StatusCode, Is.EqualTo(HttpStatusCode.Found), "heidi's session ended on " + replica.BaseUrl);
            Assert.That(untouched.StatusCode, Is.EqualTo(HttpStatusCode.OK), "ivan is not affected");
        }
    }

    public static IEnumerable<TestCaseData> ForgedLogoutTokens()
    {
        foreach (var kind in new[] { "other key", "wrong aud", "nonce", "no events", "no jti", "no sid or sub", "old iat", "wrong iss", "id token" })
        {
            yield return new TestCaseData(kind).SetName($"BackchannelLogout_Forged_{kind.Replace(' ', '_')}_Refused");
        }
    }

    private Dictionary<string, object> LogoutClaims(string sub, string? sid = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = _provider.Issuer, ["aud"] = OidcProvider.ClientId, ["iat"] = now, ["exp"] = now + 120,
            ["jti"] = Guid.NewGuid().ToString("N"), ["sub"] = sub,
            ["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new Dictionary<string, object>() },
        };
        if (sid is not null)
        {
            claims["sid"] = sid;
        }

        return claims;
    }

    private async Task<HttpStatusCode> PostLogoutTokenAsync(ForwardAuthInstance replica, string token)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = token });
        using var response = await _http.PostAsync(replica.BaseUrl + "/oauth2/backchannel-logout", form);
        return response.StatusCode;
    }

    [TestCaseSource(nameof(ForgedLogoutTokens))]
    public async Task BackchannelLogout_Forged_RefusedAndNothingEnds(string kind)
    {
        using var judy = new ForwardAuthClient();
        using var _ = await judy.LoginAsync(_a, _b, "/", "judy");
        var claims = LogoutClaims("judy");
        Microsoft.IdentityModel.Tokens.SigningCredentials? credentials = null;
        switch (kind)
        {
            case "other key":
                credentials = new(new Microsoft.IdentityModel.Tokens.RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = OidcProvider.KeyId }, "RS256");
                break;
            case "wrong aud": claims["aud"] = "another-client"; break;
            case "nonce": claims["nonce"] = "n"; break;
            case "no events": claims.Remove("events"); break;
            case "no jti": claims.Remove("jti"); break;
            case "no sid or sub": claims.Remove("sub"); break;
            case "old iat": claims["iat"] = DateTimeOffset.UtcNow.AddDays(-2).ToUnixTimeSeconds(); break;
            case "wrong iss": claims["iss"] = "https://evil.example"; break;
            case "id token":
                claims.Remove("events");
                claims["nonce"] = "n";
                break;
        }

        var status = await PostLogoutTokenAsync(_b, _provider.Mint(claims, "logout+jwt", credentials));
        using var stillIn = await judy.AuthAsync(_a, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(stillIn.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task BackchannelLogout_ValidThenReplayed_SecondRefused()
    {
        using var kim = new ForwardAuthClient();
        using var _ = await kim.LoginAsync(_a, _b, "/", "kim");
        var token = _provider.Mint(LogoutClaims("kim"), "logout+jwt");

        Assert.That(await PostLogoutTokenAsync(_b, token), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await PostLogoutTokenAsync(_a, token), Is.EqualTo(HttpStatusCode.BadRequest), "a logout_token is single-use across replicas");
        using var ended = await kim.AuthAsync(_a, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(ended.StatusCode, Is.EqualTo(HttpStatusCode.Found), "by sub: all of kim's sessions ended");
    }

    [Test]
    public async Task KeyRotation_OldSessionsWork_AfterTheirNextWriteTheNewKeyAloneOpensThem()
    {
        const string k1 = "rotation-key-one-0123456789abcdef0123";
        const string k2 = "rotation-key-two-0123456789abcdef0123";
        await using var onK1 = await ForwardAuthInstance.StartInProcessAsync(Settings(("SESSION_ENCRYPTION_KEY", k1)));
        await using var onK2K1 = await ForwardAuthInstance.StartInProcessAsync(Settings(("SESSION_ENCRYPTION_KEY", $"{k2},{k1}")));
        await using var onK2 = await ForwardAuthInstance.StartInProcessAsync(Settings(("SESSION_ENCRYPTION_KEY", k2)));
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(onK1, onK1, "/", "leo");
        var k1Cookie = client.Cookies[SessionCookie];

        using var rotated = await client.AuthAsync(onK2K1, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(rotated.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a K1 session works after configuring [K2, K1]");
        Assert.That(client.Cookies[SessionCookie], Is.Not.EqualTo(k1Cookie), "the cookie was sealed again under K2");

        using var k2Only = await client.AuthAsync(onK2, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(k2Only.StatusCode, Is.EqualTo(HttpStatusCode.OK), "K2 alone opens the re-sealed cookie");
        Assert.That(k2Only.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer "), "and the record re-encrypted under K2 (not re-adopted from the cookie)");

        client.Cookies[SessionCookie] = k1Cookie;
        using var oldCookieOnK2 = await client.AuthAsync(onK2, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(oldCookieOnK2.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a cookie only K1 sealed does not open under K2 alone");
    }

    [Test]
    public void IsDue_TokensShorterThanTheGrace_HalfTheirLifetimeEarlyAtMost()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var refresher = new SessionRefresher(null!, null!, null!, _a.Services.GetRequiredService<ForwardAuth.Configuration.ForwardAuthOptions>(), clock,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SessionRefresher>.Instance);
        var record = new SessionRecord
        {
            Identity = new UserIdentity("s", "s", null, null, null, new Dictionary<string, string>()), IssuedAt = clock.GetUtcNow(), ExpiresAt = clock.GetUtcNow().AddHours(1), TokensIssuedAt = clock.GetUtcNow(),
            AccessTokenExpiresAt = clock.GetUtcNow().AddSeconds(10), RefreshToken = "r",
        };

        Assert.That(refresher.IsDue(record), Is.False, "fresh 10-second tokens with a 60-second grace are not due at once");
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(refresher.IsDue(record), Is.True, "due at half their lifetime");
    }
}
