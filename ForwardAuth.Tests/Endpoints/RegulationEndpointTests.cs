using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using ForwardAuth.Tests.Security;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// Regulation over two replicas sharing one real Redis (the production default of 10 failures in 60 s, 300 s ban):
/// failures counted on either replica ban the client on both; 429 with <c>Retry-After</c> on <c>/auth</c>, 403 on
/// nginx's <c>/oauth2/auth</c>; the client is the trusted proxy's <c>X-Forwarded-For</c>; one log line per ban. (The
/// Debug decision line of a refusal is checked through the proxy, in <c>RegulationProxyTests</c>.)
/// Each test uses its own client address: the replicas and Redis are shared by the fixture.
/// </summary>
[TestFixture]
public class RegulationEndpointTests : ReplicaPair
{
    private readonly RSA _attackerKey = RSA.Create(2048);

    protected override Dictionary<string, string> ExtraSettings => new(base.ExtraSettings)
    {
        ["REGULATION_MAX_RETRIES"] = "10",
    };

    [OneTimeTearDown]
    public void DisposeKey() => _attackerKey.Dispose();

    [Test]
    public async Task FailuresSpreadOverBothReplicas_BanTheClientOnBoth()
    {
        const string client = "203.0.113.41";
        using var http = new ForwardAuthClient();

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var response = await ForgedAsync(http, i % 2 == 0 ? A : B, client);
            answers.Add(response.StatusCode);
        }

        using var onA = await ForgedAsync(http, A, client);
        using var onB = await ForgedAsync(http, B, client);

        Assert.That(answers, Has.All.EqualTo(HttpStatusCode.Unauthorized), "five failures on each replica, each answered 401");
        foreach (var banned in new[] { onA, onB })
        {
            Assert.That(banned.StatusCode, Is.EqualTo((HttpStatusCode)429));
            var retryAfter = int.Parse(banned.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
            Assert.That(retryAfter, Is.InRange(280, 300));
            Assert.That(await banned.Content.ReadAsStringAsync(), Does.Contain("too_many_attempts"));
        }

        var banLines = A.Logs.Concat(B.Logs).Where(l => l.Contains("banned for", StringComparison.Ordinal) && l.Contains(client, StringComparison.Ordinal)).ToList();
        Assert.That(banLines, Has.Count.EqualTo(1), "one log line per ban, by the replica that added it");
        Assert.That(banLines[0], Does.Contain("300 s").And.Contain("10 invalid credentials within 60 s"));
    }

    [Test]
    public async Task BannedClient_NoCredentials_StillSentToLogin_AndOtherClientsUnaffected()
    {
        const string client = "203.0.113.42";
        using var http = new ForwardAuthClient();
        await BanAsync(http, client);

        using var browser = await http.AuthAsync(B, "GET", "/page", r =>
        {
            ForwardAuthClient.Navigation(r);
            From(r, client);
        });
        using var otherClient = await ForgedAsync(http, B, "203.0.113.142");

        Assert.That(browser.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a browser without credentials still gets its login redirect");
        Assert.That(otherClient.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task NginxAuthRequest_BannedClientGets403WithRetryAfter_UserInfo429()
    {
        const string client = "203.0.113.43";
        using var http = new ForwardAuthClient();
        await BanAsync(http, client);

        using var nginx = await http.AuthAsync(A, "GET", "/api", r => Forge(r, client), authPath: "/oauth2/auth");
        using var userInfo = new HttpRequestMessage(HttpMethod.Get, B.BaseUrl + "/oauth2/userinfo");
        Forge(userInfo, client);
        using var plain = new HttpClient();
        using var info = await plain.SendAsync(userInfo);

        Assert.That(nginx.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "auth_request turns anything but 2xx/401/403 into a 500");
        Assert.That(nginx.Headers.Contains("Retry-After"), Is.True);
        Assert.That(info.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(info.Headers.Contains("Retry-After"), Is.True);
    }

    [Test]
    public async Task Metrics_ShowFailuresBansAndRefusals()
    {
        const string client = "203.0.113.44";
        using var http = new ForwardAuthClient();
        await BanAsync(http, client);
        using var refused = await ForgedAsync(http, A, client);
        using var plain = new HttpClient();

        var metrics = await plain.GetStringAsync(A.BaseUrl + "/metrics") + await plain.GetStringAsync(B.BaseUrl + "/metrics");

        Assert.That(metrics, Does.Contain("forwardauth_regulation_failures_total{kind=\"bearer\"}"));
        Assert.That(metrics, Does.Contain("forwardauth_regulation_bans_total"));
        Assert.That(metrics, Does.Contain("forwardauth_regulation_refusals_total"));
        Assert.That(metrics, Does.Contain("forwardauth_decisions_total{outcome=\"too_many_attempts\"}"));
        Assert.That(refused.StatusCode, Is.EqualTo((HttpStatusCode)429));
    }

    [Test]
    public async Task ForwardedForFromAnUntrustedPeer_IsIgnored_SoRotatingItDoesNotEscapeTheBan()
    {
        // 127.0.0.1 is not a trusted proxy of this replica: its X-Forwarded-For values are the client's own words.
        await using var replica = await StartReplicaAsync(new() { ["TRUSTED_PROXIES"] = "10.0.0.0/8", ["REGULATION_MAX_RETRIES"] = "3" });
        using var http = new HttpClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, replica.BaseUrl + "/auth");
            Forge(request, "198.51.100." + (i + 1).ToString(CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, (HttpStatusCode)429, (HttpStatusCode)429 }));
        Assert.That(replica.Logs, Has.Some.Contains("\"Client\":\"127.0.0.1\"").And.Some.Contains("\"Id\":305"));
    }

    private async Task BanAsync(ForwardAuthClient http, string client)
    {
        for (var i = 0; i < 10; i++)
        {
            using var response = await ForgedAsync(http, i % 2 == 0 ? A : B, client);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
    }

    private Task<HttpResponseMessage> ForgedAsync(ForwardAuthClient http, ForwardAuthInstance replica, string client) =>
        http.AuthAsync(replica, "GET", "/api", r => Forge(r, client));

    /// <summary>An API call with a bearer token signed by a key the provider never published, from <paramref name="client"/>.</summary>
    private void Forge(HttpRequestMessage request, string client)
    {
        var token = Jwt.Build(
            new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = OidcProvider.KeyId },
            new Dictionary<string, object> { ["sub"] = "mallory", ["aud"] = ApiAudience, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds() },
            Jwt.Rs256(_attackerKey));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        From(request, client);
    }

    private static void From(HttpRequestMessage request, string client)
    {
        request.Headers.Remove("X-Forwarded-For");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", client);
    }
}

/// <summary>
/// Hybrid mode: a replica answers "not banned" from its L1 (the ban check's existence answer is cached there); a ban
/// added by the other replica is announced and drops that answer, so the client is refused on both.
/// </summary>
[TestFixture]
public class RegulationHybridTests : ReplicaPair
{
    private readonly RSA _attackerKey = RSA.Create(2048);

    protected override Dictionary<string, string> ExtraSettings => new(base.ExtraSettings)
    {
        ["REGULATION_MAX_RETRIES"] = "10",
        ["REDIS_CACHE_MODE"] = "hybrid",
    };

    [OneTimeTearDown]
    public void DisposeKey() => _attackerKey.Dispose();

    [Test]
    public async Task BanAddedOnA_ReachesBWhoseL1SaidNotBanned()
    {
        const string client = "203.0.113.51";
        using var http = new ForwardAuthClient();
        using (var first = await ForgedAsync(http, B, client))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        for (var i = 0; i < 9; i++)
        {
            using var response = await ForgedAsync(http, A, client);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var onB = HttpStatusCode.OK;
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                using var response = await ForgedAsync(http, B, client);
                onB = response.StatusCode;
                return onB == (HttpStatusCode)429;
            },
            TimeSpan.FromSeconds(5),
            "replica B to refuse the client banned on A");
        Assert.That(onB, Is.EqualTo((HttpStatusCode)429));
    }

    private Task<HttpResponseMessage> ForgedAsync(ForwardAuthClient http, ForwardAuthInstance replica, string client) =>
        http.AuthAsync(replica, "GET", "/api", request =>
        {
            var token = Jwt.Build(
                new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = OidcProvider.KeyId },
                new Dictionary<string, object> { ["sub"] = "mallory", ["aud"] = ApiAudience, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds() },
                Jwt.Rs256(_attackerKey));
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            request.Headers.Remove("X-Forwarded-For");
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", client);
        });
}
