using System.Net;
using System.Text;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>The login flow across two replicas sharing real Redis, with the real provider.</summary>
[TestFixture]
public class LoginTests : ReplicaPair
{
    private const string SessionCookie = "_forwardauth_session";

    [Test]
    public async Task Login_StartsOnA_CallbackOnB_BothAcceptTheSession()
    {
        using var client = new ForwardAuthClient();

        using var done = await client.LoginAsync(A, B, "/reports?year=2026", "alice");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(done.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/reports?year=2026"));
        Assert.That(client.Cookies.Keys, Does.Contain(SessionCookie));
        Assert.That(client.Cookies.Keys.Where(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal)), Is.Empty, "the login cookie is cleared");
        foreach (var replica in new[] { A, B })
        {
            using var page = await client.AuthAsync(replica, "GET", "/reports?year=2026", ForwardAuthClient.Navigation);
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(page.Headers.GetValues("X-Auth-Request-Email").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(page.Headers.GetValues("X-Auth-Request-Groups").Single(), Is.EqualTo("admins,users"));
            Assert.That(page.Headers.GetValues("X-Auth-Request-Preferred-Username").Single(), Is.EqualTo("alice"));
            Assert.That(page.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer ey"));
        }
    }

    [Test]
    public async Task SessionCookie_Attributes_HttpOnlyLaxPathRoot()
    {
        using var client = new ForwardAuthClient(proto: "https");
        using var challenge = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "bob");

        using var done = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        var setCookie = done.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(SessionCookie + "=", StringComparison.Ordinal));
        Assert.That(setCookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=lax").IgnoreCase.And.Contain("path=/").And.Contain("secure").IgnoreCase);
        Assert.That(setCookie.Length, Is.LessThan(1000), "one small cookie, no chunks");
    }

    [Test]
    public async Task Logout_OnA_BothReplicasRefuseTheOldCookie()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "alice");
        var oldCookie = client.Cookies[SessionCookie];

        using var logout = await client.AuthAsync(A, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var endSession = logout.Headers.Location!.AbsoluteUri;
        Assert.That(endSession, Does.StartWith(Provider.Issuer + "/session/end"));
        Assert.That(endSession, Does.Contain("id_token_hint=").And.Contain("post_logout_redirect_uri=" + Uri.EscapeDataString("http://app.test/")));
        Assert.That(client.Cookies.Keys, Does.Not.Contain(SessionCookie), "the cookie is cleared");

        client.Cookies[SessionCookie] = oldCookie;
        foreach (var replica in new[] { A, B })
        {
            using var navigation = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
            using var api = await client.AuthAsync(replica, "GET", "/api", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));
            Assert.That(navigation.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(navigation.Headers.Location!.AbsoluteUri, Does.StartWith(Provider.Issuer));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
    }

    [Test]
    public async Task Callback_Replayed_RefusedOnEveryReplicaAndCreatesNoSession()
    {
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", "/x", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        var bindingCookies = new Dictionary<string, string>(client.Cookies);

        using var first = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var sessionsAfterLogin = (await Redis.KeysAsync("fa-test:session:*")).Count;

        foreach (var replica in new[] { A, B })
        {
            using var attacker = new ForwardAuthClient();
            foreach (var (k, v) in bindingCookies)
            {
                attacker.Cookies[k] = v;
            }

            using var replay = await attacker.AuthAsync(replica, "GET", callback, ForwardAuthClient.Navigation);
            Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(attacker.Cookies.Keys, Does.Not.Contain(SessionCookie));
        }

        Assert.That((await Redis.KeysAsync("fa-test:session:*")).Count, Is.EqualTo(sessionsAfterLogin));
    }

    [Test]
    public async Task Callback_SameStateOnBothReplicasAtOnce_ExactlyOneWins()
    {
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", "/race", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");

        var responses = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(i => client.AuthAsync(i % 2 == 0 ? A : B, "GET", callback, ForwardAuthClient.Navigation)));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Found), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Forbidden), Is.EqualTo(7));
    }

    [Test]
    public async Task Logins_ManyPendingFromOneBrowser_AllComplete()
    {
        using var client = new ForwardAuthClient();
        var paths = Enumerable.Range(0, 6).Select(i => $"/tab/{i}").ToList();

        // Every tab is sent to the provider before any of them comes back.
        var challenges = await Task.WhenAll(paths.Select(p => client.AuthAsync(p.EndsWith('1') ? B : A, "GET", p, ForwardAuthClient.Navigation)));
        var callbacks = new List<string>();
        foreach (var challenge in challenges)
        {
            callbacks.Add(await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice"));
        }

        var results = await Task.WhenAll(callbacks.Select((c, i) => client.AuthAsync(i % 2 == 0 ? B : A, "GET", c, ForwardAuthClient.Navigation)));

        Assert.That(results.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.Found));
        Assert.That(results.Select(r => r.Headers.Location!.AbsolutePath), Is.EquivalentTo(paths));
    }

    [Test]
    public async Task Callback_FromAnotherBrowser_RefusedWithoutBurningTheLogin()
    {
        using var victim = new ForwardAuthClient();
        using var challenge = await victim.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var callback = await victim.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");

        using var attacker = new ForwardAuthClient();
        using var stolen = await attacker.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        using var legit = await victim.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(stolen.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(legit.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [TestCase("?state=unknown-state&code=abc")]
    [TestCase("?code=abc")]
    [TestCase("?state=&code=")]
    [TestCase("?error=access_denied&state=x")]
    public async Task Callback_Bogus_ClearAnswerNoSession(string query)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/oauth2/callback" + query, ForwardAuthClient.Navigation);

        Assert.That((int)response.StatusCode, Is.AnyOf(400, 403));
        Assert.That(client.Cookies.Keys, Does.Not.Contain(SessionCookie));
    }

    [Test]
    public async Task Session_TwoHundredParallelRequests_AllAllowedWithoutAStoreWrite()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "alice");
        var admin = await Redis.AdminAsync();
        var writesBefore = await WritesAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.AuthAsync(i % 2 == 0 ? A : B, "GET", "/parallel", ForwardAuthClient.Navigation)));

        Assert.That(answers.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(await WritesAsync() - writesBefore, Is.Zero, "reading a session writes nothing to the store");

        async Task<long> WritesAsync()
        {
            var info = (string)(await admin.ExecuteAsync("INFO", "commandstats"))!;
            string[] writes = ["set", "setex", "psetex", "setnx", "del", "unlink", "getdel", "sadd", "expire", "pexpire", "eval", "evalsha", "publish"];
            return info.Split('\n')
                .Where(l => writes.Any(w => l.StartsWith("cmdstat_" + w + ":", StringComparison.Ordinal)))
                .Sum(l => long.Parse(l.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Test]
    public async Task Store_AfterLogin_RevealsNoTokenClaimOrCookie()
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "alice");
        var cookie = client.Cookies[SessionCookie];
        var admin = await Redis.AdminAsync();

        foreach (var key in await Redis.KeysAsync("fa-test:*"))
        {
            Assert.That(key, Does.Match("^fa-test:(session|tokens|login|once|revoked|lease|index):[0-9a-f]{64}$"));
            var text = await admin.KeyTypeAsync(key) == StackExchange.Redis.RedisType.Set
                ? string.Join(',', (await admin.SetMembersAsync(key)).Select(m => m.ToString()))
                : Encoding.Latin1.GetString((byte[]?)await admin.StringGetAsync(key) ?? []);
            Assert.That(text, Does.Not.Contain("alice").And.Not.Contain("admins").And.Not.Contain("eyJ").And.Not.Contain(cookie[..20]), key);
        }
    }

    [TestCase("flip")]
    [TestCase("truncate")]
    [TestCase("foreign")]
    [TestCase("garbage")]
    public async Task SessionCookie_Tampered_TreatedAsNoSession(string how)
    {
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(A, B, "/", "alice");
        var cookie = client.Cookies[SessionCookie];
        client.Cookies[SessionCookie] = how switch
        {
            "flip" => cookie[..10] + (cookie[10] == 'A' ? 'B' : 'A') + cookie[11..],
            "truncate" => cookie[..(cookie.Length / 2)],
            "foreign" => new ForwardAuth.Sessions.SessionCookie(ForwardAuth.Configuration.ConfigurationLoader.Load([], n => n switch
            {
                "PROVIDER_URL" => "https://x.example", "CLIENT_ID" => "c", "CLIENT_SECRET" => "s",
                "SESSION_ENCRYPTION_KEY" => "another-deployments-key-0123456789abcdef", _ => null,
            })).Seal(new("h-0123456789", "alice", "alice@example.com", "alice@example.com", "alice", ["admins"], 0, 4_000_000_000)),
            _ => "%%%not-a-cookie%%%",
        };

        using var navigation = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        using var api = await client.AuthAsync(B, "GET", "/api", r => r.Headers.Add("Accept", "application/json"));

        Assert.That(navigation.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }
}
