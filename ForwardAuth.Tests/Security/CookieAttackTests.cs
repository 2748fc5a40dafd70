using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Cache;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// The session cookie is the only thing a browser holds: anything but a cookie this deployment sealed for a live
/// session is no session — flipped bits, truncation or extension, another key or another deployment, another
/// purpose's ciphertext, a session the server already ended or let expire, a cookie planted before login (fixation),
/// oversized or duplicated cookies. A logged-out cookie stays logged out even across a Redis outage.
/// </summary>
[TestFixture]
public class CookieAttackTests
{
    private ForwardAuthClient _alice = null!;
    private string _cookie = null!;

    [OneTimeSetUp]
    public async Task LogInAlice()
    {
        _alice = await Attack.LoggedInAsync("alice");
        _cookie = _alice.Cookies[SessionCookieName];
    }

    [OneTimeTearDown]
    public void Dispose() => _alice.Dispose();

    private static ForwardAuthOptions Options(string key = ForwardAuthSettings.EncryptionKey, string prefix = "_forwardauth_") =>
        ConfigurationLoader.Load([], n => n switch
        {
            "PROVIDER_URL" => "https://id.example", "CLIENT_ID" => "c", "CLIENT_SECRET" => "s", "SESSION_ENCRYPTION_KEY" => key,
            "COOKIE_PREFIX" => prefix, _ => null,
        });

    private static SessionCookie Sealer(string key = ForwardAuthSettings.EncryptionKey) => new(Options(key));

    /// <summary>Both replicas refuse it: a navigation is sent to log in, an API call gets 401, and no identity leaks.</summary>
    private static async Task AssertNoSessionAsync(string cookieValue, string cookieName = SessionCookieName)
    {
        using var client = new ForwardAuthClient();
        client.Cookies[cookieName] = cookieValue;

        using var navigation = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        using var api = await client.AuthAsync(B, "GET", "/api", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));

        Assert.Multiple(() =>
        {
            Assert.That(navigation.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(navigation.Headers.Location!.AbsoluteUri, Does.StartWith(Provider.Issuer + "/auth?"));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(api.Headers.Contains("X-Forwarded-User"), Is.False);
        });
    }

    [Test]
    public async Task Control_TheUntamperedCookie_IsASession()
    {
        using var response = await _alice.AuthAsync(B, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
    }

    [TestCase(0, Description = "version")]
    [TestCase(1, Description = "key id")]
    [TestCase(4, Description = "key id")]
    [TestCase(5, Description = "nonce")]
    [TestCase(16, Description = "nonce")]
    [TestCase(17, Description = "first ciphertext byte")]
    [TestCase(40, Description = "ciphertext")]
    [TestCase(-17, Description = "last ciphertext byte")]
    [TestCase(-16, Description = "tag")]
    [TestCase(-1, Description = "last tag byte")]
    public async Task FlippedBit_AnyByteOfTheEnvelope_NoSession(int position)
    {
        var bytes = Base64Url.DecodeFromChars(_cookie);
        var index = position >= 0 ? position : bytes.Length + position;
        bytes[index] ^= 0x01;

        await AssertNoSessionAsync(Base64Url.EncodeToString(bytes));
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(44)]
    [TestCase(45)]
    [TestCase(-1)]
    [TestCase(-2)]
    [TestCase(-22)]
    [TestCase(-23)]
    public async Task Truncated_NoSession(int length)
    {
        await AssertNoSessionAsync(_cookie[..(length > 0 ? length : _cookie.Length + length)]);
    }

    [TestCase("A")]
    [TestCase("AAAA")]
    [TestCase("==")]
    [TestCase(".sig")]
    public async Task Extended_NoSession(string suffix) => await AssertNoSessionAsync(_cookie + suffix);

    [Test]
    public async Task Doubled_NoSession() => await AssertNoSessionAsync(_cookie + _cookie);

    [Test]
    public async Task Empty_NoSession() => await AssertNoSessionAsync("");

    [Test]
    public async Task AnotherDeploymentsKey_SameClaims_NoSession()
    {
        var payload = Sealer().TryOpen(_cookie)!;

        await AssertNoSessionAsync(Sealer("another-deployments-key-0123456789abcdef").Seal(payload));
    }

    [Test]
    public async Task RotatedAwayKey_NoSession()
    {
        var payload = Sealer().TryOpen(_cookie)!;
        var retired = Sealer("retired-key-that-is-no-longer-configured-0123");

        await AssertNoSessionAsync(retired.Seal(payload));
    }

    [Test]
    public async Task OurKeyButAnotherPurpose_StoreRecordAsCookie_NoSession()
    {
        var admin = await Redis.AdminAsync();
        var key = (await Redis.KeysAsync("fa-test:session:*"))[0];
        var record = (byte[])(await admin.StringGetAsync(key))!;

        await AssertNoSessionAsync(Base64Url.EncodeToString(record));
    }

    [Test]
    public async Task OurKeyButAnotherPurpose_LoginCookieAsSessionCookie_NoSession()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var login = client.Cookies.Single(c => c.Key.StartsWith("_forwardauth_login_", StringComparison.Ordinal)).Value;

        await AssertNoSessionAsync(login);
    }

    [Test]
    public async Task OurCookieKeyButOtherAssociatedData_NoSession()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(Sealer().TryOpen(_cookie)!, SessionJsonContext.Default.CookiePayload);
        var ring = new KeyRing([ForwardAuthSettings.EncryptionKey], "cookie");

        await AssertNoSessionAsync(Base64Url.EncodeToString(ring.Seal(json, "forwardauth-login-cookie"u8)));
    }

    [TestCase("{\"h\":\"\",\"s\":\"alice\",\"i\":0,\"x\":4000000000}", Description = "no handle")]
    [TestCase("{\"h\":\"handle-0123456789\",\"s\":\"\",\"i\":0,\"x\":4000000000}", Description = "no subject")]
    [TestCase("{\"h\":\"handle-0123456789\",\"s\":\"alice\",\"i\":0,\"x\":1}", Description = "expired long ago")]
    [TestCase("null", Description = "JSON null")]
    [TestCase("[]", Description = "JSON array")]
    [TestCase("{\"h\":1,\"s\":2}", Description = "wrong types")]
    [TestCase("not json", Description = "not JSON")]
    public async Task SealedByUsButNotASessionPayload_NoSession(string json)
    {
        var ring = new KeyRing([ForwardAuthSettings.EncryptionKey], "cookie");

        await AssertNoSessionAsync(Base64Url.EncodeToString(ring.Seal(Encoding.UTF8.GetBytes(json), "forwardauth-session-cookie"u8)));
    }

    [TestCase("_forwardauth_session_")]
    [TestCase("_FORWARDAUTH_SESSION")]
    [TestCase("_other_session")]
    [TestCase("forwardauth_session")]
    public async Task ValidCookieUnderAnotherName_NoSession(string name) => await AssertNoSessionAsync(_cookie, name);

    [Test]
    public async Task AnotherDeploymentsCookieName_WithOurValue_IgnoredButOursDecides()
    {
        using var client = new ForwardAuthClient();
        client.Cookies["_other_session"] = _cookie;
        client.Cookies[SessionCookieName] = "garbage";

        using var response = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [Test]
    public async Task LoginBindingCookieValue_AsSessionCookie_NoSession()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var binding = client.Cookies.Single(c => c.Key.StartsWith("_forwardauth_login_", StringComparison.Ordinal)).Value;

        await AssertNoSessionAsync(binding);
    }

    [Test]
    public async Task Fixation_AttackersOwnSessionPlantedBeforeLogin_VictimGetsAFreshSession()
    {
        using var mallory = await Attack.LoggedInAsync("mallory");
        var planted = mallory.Cookies[SessionCookieName];
        using var victim = new ForwardAuthClient();
        victim.Cookies[SessionCookieName] = planted;

        // The planted cookie is a valid session (Mallory's): the victim is let in as Mallory, never the other way round.
        using var before = await victim.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(before.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("mallory@example.com"));
        using var start = await victim.AuthAsync(A, "GET", "/oauth2/start?rd=%2F", ForwardAuthClient.Navigation);
        var callback = await victim.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "victim");
        using var done = await victim.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        using var asVictim = await victim.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        using var asMallory = await mallory.AuthAsync(B, "GET", "/", ForwardAuthClient.Navigation);

        Assert.Multiple(() =>
        {
            Assert.That(victim.Cookies[SessionCookieName], Is.Not.EqualTo(planted), "a new cookie at login");
            Assert.That(Sealer().TryOpen(victim.Cookies[SessionCookieName])!.Handle, Is.Not.EqualTo(Sealer().TryOpen(planted)!.Handle), "a new handle at login");
            Assert.That(asVictim.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("victim@example.com"));
            Assert.That(asMallory.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("mallory@example.com"), "the planted session did not become the victim's");
        });
    }

    [TestCase("garbage")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("attacker-chosen-handle")]
    public async Task Fixation_ValueChosenBeforeLogin_NeverBecomesTheSession(string planted)
    {
        using var client = new ForwardAuthClient();
        client.Cookies[SessionCookieName] = planted;

        using var done = await client.LoginAsync(A, B, "/", "alice");

        var set = done.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(SessionCookieName + "=", StringComparison.Ordinal));
        Assert.That(set, Does.Not.Contain(planted));
        Assert.That(Sealer().TryOpen(client.Cookies[SessionCookieName]), Is.Not.Null);
    }

    [Test]
    public async Task Fixation_TwoLoginsInOneBrowser_EachGetsANewHandle()
    {
        using var client = new ForwardAuthClient();
        using var first = await client.LoginAsync(A, B, "/", "alice");
        var firstHandle = Sealer().TryOpen(client.Cookies[SessionCookieName])!.Handle;

        using var start = await client.AuthAsync(B, "GET", "/oauth2/start?rd=%2F", ForwardAuthClient.Navigation);
        using var second = await client.AuthAsync(A, "GET", await client.ProviderRoundTripAsync(start.Headers.Location!.AbsoluteUri, "alice"), ForwardAuthClient.Navigation);
        var secondHandle = Sealer().TryOpen(client.Cookies[SessionCookieName])!.Handle;

        Assert.That(secondHandle, Is.Not.EqualTo(firstHandle));
        Assert.That(Base64Url.DecodeFromChars(secondHandle), Has.Length.GreaterThanOrEqualTo(32), "256-bit handles");
    }

    [Test]
    public async Task Fixation_PlantedLoginBindingCookie_DoesNotBindTheVictimsLogin()
    {
        using var victim = new ForwardAuthClient();
        using var challenge = await victim.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var bindingName = victim.Cookies.Keys.Single(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal));
        var callback = await victim.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        victim.Cookies[bindingName] = "attacker-chosen-binding";

        using var done = await victim.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(victim.Cookies, Does.Not.ContainKey(SessionCookieName));
    }

    [Test]
    public async Task Oversized_SessionCookieBeyondEightKilobytes_NoSessionNoServerError()
    {
        await AssertNoSessionAsync(new string('A', 8193));
        await AssertNoSessionAsync(_cookie + new string('A', 8192 - _cookie.Length + 4));
    }

    [Test]
    public async Task Oversized_ManyOtherCookies_SessionStillDecides()
    {
        using var client = new ForwardAuthClient();
        foreach (var i in Enumerable.Range(0, 300))
        {
            client.Cookies[$"tracker{i}"] = new string('x', 50);
        }

        client.Cookies[SessionCookieName] = _cookie;

        using var response = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Oversized_CookieHeaderBeyondKestrelsLimit_431()
    {
        var response = await Attack.RawAsync(A.Port, Attack.AuthRequest("/", $"Cookie: {SessionCookieName}={_cookie}; pad={new string('x', 40_000)}\r\n"));

        Assert.That(response.Status, Is.EqualTo(431));
    }

    [Test]
    public async Task Duplicated_InvalidCookieFirst_NoSession()
    {
        // The first cookie of that name decides (a cookie tossed in from a sibling domain comes first): never "any valid one".
        var response = await Attack.RawAsync(A.Port, Attack.AuthRequest("/", $"Accept: text/html\r\nCookie: {SessionCookieName}=garbage; {SessionCookieName}={_cookie}\r\n"));

        Assert.That(response.Status, Is.EqualTo(302));
    }

    [Test]
    public async Task Duplicated_ValidCookieFirst_Session()
    {
        var response = await Attack.RawAsync(A.Port, Attack.AuthRequest("/", $"Cookie: {SessionCookieName}={_cookie}; {SessionCookieName}=garbage\r\n"));

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.Header("X-Forwarded-User"), Is.EqualTo("alice@example.com"));
    }

    [Test]
    public async Task LoginCookies_OnHttps_HttpOnlyLaxSecureHostOnly()
    {
        using var client = new ForwardAuthClient(proto: "https");
        using var challenge = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var binding = challenge.Headers.GetValues("Set-Cookie").Single();
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        var session = done.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(SessionCookieName + "=", StringComparison.Ordinal));

        foreach (var cookie in new[] { binding, session })
        {
            Assert.That(cookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=lax").IgnoreCase.And.Contain("secure").IgnoreCase);
            Assert.That(cookie, Does.Not.Contain("domain=").IgnoreCase, "host-only unless cookieDomain is set");
        }
    }

    [Test]
    public async Task HostPrefix_OverHttps_EveryCookieMeetsTheBrowsersHostPrefixRules()
    {
        // __Host- cookies cannot be planted from a sibling subdomain (cookie tossing): the browser requires Secure,
        // Path=/ and no Domain, and refuses the cookie otherwise — so ForwardAuth must set exactly that.
        await using var replica = await StartReplicaAsync(new Dictionary<string, string> { ["COOKIE_PREFIX"] = "__Host-fa_" });
        using var client = new ForwardAuthClient(proto: "https");
        using var challenge = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        var binding = challenge.Headers.GetValues("Set-Cookie").Single();
        using var done = await client.AuthAsync(replica, "GET", await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice"), ForwardAuthClient.Navigation);
        var cookies = done.Headers.GetValues("Set-Cookie").Append(binding).ToList();
        using var after = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(cookies, Has.All.StartWith("__Host-fa_"));
        Assert.That(cookies, Has.All.Contain("secure").IgnoreCase.And.Contain("path=/").IgnoreCase.And.Not.Contain("domain=").IgnoreCase);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task LoggedOutCookie_CopiedElsewhere_NeverAdoptedAgain()
    {
        using var client = await Attack.LoggedInAsync("bob");
        var copied = client.Cookies[SessionCookieName];
        using var logout = await client.AuthAsync(B, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);

        // The store no longer has the record: the cookie alone would decide, were it not for the revocation marker.
        Assert.That(await Redis.KeysAsync("fa-test:revoked:*"), Is.Not.Empty);
        await AssertNoSessionAsync(copied);
    }

    [Test]
    public async Task ServerSideExpiry_RecordExpiredWhileTheCookieClaimsLonger_NoSession()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await StartReplicaAsync(
            new Dictionary<string, string> { ["SESSION_MAX_AGE"] = "120" }, s => s.AddSingleton<TimeProvider>(clock));
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        using var done = await client.AuthAsync(replica, "GET", await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice"), ForwardAuthClient.Navigation);
        var payload = Sealer().TryOpen(client.Cookies[SessionCookieName])!;
        client.Cookies[SessionCookieName] = Sealer().Seal(payload with { ExpiresAt = payload.ExpiresAt + 86_400 * 365 });

        clock.Advance(TimeSpan.FromSeconds(119));
        using var before = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        clock.Advance(TimeSpan.FromSeconds(2));
        using var after = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the store's record decides: sessionMaxAge is absolute");
    }

    [Test]
    public async Task ServerSideExpiry_IdleTimeout_EndsTheSessionOnEveryReplica()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await StartReplicaAsync(
            new Dictionary<string, string> { ["SESSION_IDLE_TIMEOUT"] = "300", ["SESSION_ACTIVITY_INTERVAL"] = "30" }, s => s.AddSingleton<TimeProvider>(clock));
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        using var done = await client.AuthAsync(replica, "GET", await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice"), ForwardAuthClient.Navigation);
        var cookie = client.Cookies[SessionCookieName];

        clock.Advance(TimeSpan.FromSeconds(301));
        using var idle = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(idle.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        await AssertNoSessionAsync(cookie);
    }

    [Test]
    public async Task LoggedOutCookie_UsedDuringARedisOutage_NotResurrectedWhenRedisReturns()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var redis = new FlakyBackend(new MemoryCacheBackend(time));
        // The production store (redis mode) over the failing fake: breaker threshold 1, open for 30 s, monitor every 5 s.
        await using var stack = await StoreStack.OverAsync(redis, time, RedisTestOptions.FromEnvironment(new Dictionary<string, string>
        {
            ["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "1",
            ["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "30",
            ["REDIS_HEALTH_CHECK_INTERVAL"] = "5",
        }));
        var cache = stack.Get<ResilientCacheBackend>();
        var options = Options();
        var store = SessionStores.Over(stack.Store, options, time);
        var now = time.GetUtcNow();
        var cookie = await store.CreateAsync(
            new SessionRecord { Identity = new UserIdentity("alice", "alice@example.com", null, null, null, new Dictionary<string, string>()), IssuedAt = now, ExpiresAt = now.AddHours(8) }, CancellationToken.None);
        var session = (await store.ResolveAsync(cookie, CancellationToken.None))!;
        await store.EndAsync(session.Handle, session.Record, CancellationToken.None);
        Assert.That(await store.ResolveAsync(cookie, CancellationToken.None), Is.Null, "logged out");

        // Redis is unreachable: the replica cannot see the revocation marker and decides from the sealed cookie (documented).
        redis.Down = true;
        Assert.That(await store.ResolveAsync(cookie, CancellationToken.None), Is.Not.Null, "fail-open while Redis is unreachable");
        redis.Down = false;
        await TestPaths.WaitUntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromSeconds(5));
                return Task.FromResult(cache.Breaker.State == CircuitState.Closed);
            },
            TimeSpan.FromSeconds(10),
            "the circuit to close");
        await cache.LastReplay;

        Assert.That(await store.ResolveAsync(cookie, CancellationToken.None), Is.Null, "the outage's adopted record must not outlive the revocation");
    }
}
