using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Observability;

/// <summary>
/// A scripted run — logins, allowed, denied and refused requests, a logout, a back-channel logout, Redis stopped and
/// started — against one replica at Debug level; then what /metrics, /health and the logs say about it.
/// </summary>
[TestFixture]
[NonParallelizable]
public partial class ObservabilityTests
{
    private const string RedisPassword = "redis-password-never-logged";
    private const string Resource = "https://api.observability.test";
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _replica = null!;
    private readonly HttpClient _http = new();
    private readonly List<string> _secrets = [];
    private readonly List<double> _breakerGauge = [];
    private List<PrometheusText.Sample> _metrics = null!;
    private string _metricsText = "";

    [OneTimeSetUp]
    public async Task RunTheScript()
    {
        _redis = await RedisServer.StartAsync("--requirepass", RedisPassword);
        // The provider must know the replica's back-channel URI before the replica starts: its port is held until then.
        using var port = PortReservation.Take();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = Resource,
            RedirectUris = ["http://app.test/oauth2/callback"],
            PostLogoutRedirectUris = ["http://app.test/"],
            BackchannelLogoutUri = $"http://127.0.0.1:{port.Port}/oauth2/backchannel-logout",
        });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["REDIS_PASSWORD"] = RedisPassword;
        settings["AUDIENCE"] = Resource;
        settings["PASS_AUTHORIZATION_HEADER"] = "true";
        settings["LOG_LEVEL"] = "debug";
        settings["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "2";
        settings["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "1";
        settings["REDIS_HEALTH_CHECK_INTERVAL"] = "1";
        settings["REDIS_DIAL_TIMEOUT"] = "1";
        _replica = await ForwardAuthInstance.StartInProcessAsync(settings, listenOn: port);
        _secrets.AddRange([OidcProvider.ClientSecret, ForwardAuthSettings.EncryptionKey, RedisPassword]);

        await ScriptAsync();
        _metricsText = await _http.GetStringAsync(_replica.BaseUrl + "/metrics");
        _metrics = PrometheusText.Parse(_metricsText);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _replica.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<double> BreakerGaugeAsync() =>
        PrometheusText.Parse(await _http.GetStringAsync(_replica.BaseUrl + "/metrics")).Sum("traefikoidc_circuit_breaker_state");

    private async Task<string> BreakerStateAsync() =>
        JsonDocument.Parse(await _http.GetStringAsync(_replica.BaseUrl + "/health")).RootElement
            .GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString()!;

    private void Remember(ForwardAuthClient client) => _secrets.AddRange(client.Cookies.Values.Where(v => v.Length > 20));

    private async Task ScriptAsync()
    {
        _breakerGauge.Add(await BreakerGaugeAsync());

        using var alice = new ForwardAuthClient();
        using var login = await alice.LoginAsync(_replica, _replica, "/", "alice");
        Remember(alice);
        using var allowed = await alice.AuthAsync(_replica, "GET", "/", ForwardAuthClient.Navigation);
        var accessToken = allowed.Headers.GetValues("Authorization").Single()["Bearer ".Length..];
        var store = _replica.Services.GetRequiredService<SessionStore>();
        var handle = _replica.Services.GetRequiredService<SessionCookie>().TryOpen(alice.Cookies["_forwardauth_session"])!.Handle;
        var record = (await store.ReloadAsync(handle, CancellationToken.None))!;
        _secrets.AddRange([accessToken, record.IdToken!, record.RefreshToken!, handle]);

        using var denied = await alice.AuthAsync(_replica, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedUsers=someone-else@example.com");
        using var bearer = await new ForwardAuthClient().AuthAsync(_replica, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + accessToken));
        using var forged = await new ForwardAuthClient().AuthAsync(_replica, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer not.a.token"));
        using var anonymous = await new ForwardAuthClient().AuthAsync(_replica, "GET", "/api", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));
        using var malformed = await new ForwardAuthClient().AuthAsync(_replica, "GET", "no-slash");
        Assert.That(new[] { allowed.StatusCode, denied.StatusCode, bearer.StatusCode, forged.StatusCode, anonymous.StatusCode, malformed.StatusCode },
            Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.BadRequest }));

        using var logout = await alice.AuthAsync(_replica, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);

        using var bob = new ForwardAuthClient();
        using var bobLogin = await bob.LoginAsync(_replica, _replica, "/", "bob");
        Remember(bob);
        var logoutToken = _provider.Mint(new Dictionary<string, object>
        {
            ["iss"] = _provider.Issuer, ["aud"] = OidcProvider.ClientId, ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeSeconds(), ["jti"] = Guid.NewGuid().ToString("N"), ["sub"] = "bob",
            ["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new Dictionary<string, object>() },
        }, "logout+jwt");
        _secrets.Add(logoutToken);
        foreach (var _ in new[] { 1, 2 })
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = logoutToken });
            using var posted = await _http.PostAsync(_replica.BaseUrl + "/oauth2/backchannel-logout", form);
        }

        using var carol = new ForwardAuthClient();
        using var carolLogin = await carol.LoginAsync(_replica, _replica, "/", "carol");
        Remember(carol);

        await _redis.StopAsync();
        await TestPaths.WaitUntilAsync(async () =>
        {
            using var during = await carol.AuthAsync(_replica, "GET", "/", ForwardAuthClient.Navigation);
            return await BreakerStateAsync() == "open";
        }, TimeSpan.FromSeconds(15), "the breaker to open");
        _breakerGauge.Add(await BreakerGaugeAsync());
        using var duringOutage = await carol.AuthAsync(_replica, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(duringOutage.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        await _redis.RestartAsync();
        await TestPaths.WaitUntilAsync(async () => await BreakerStateAsync() == "closed", TimeSpan.FromSeconds(15), "the breaker to close");
        _breakerGauge.Add(await BreakerGaugeAsync());
    }

    [GeneratedRegex(@"\b(?:traefikoidc|forwardauth)_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [Test]
    public void Dashboard_EveryQuery_UsesMetricsTheServiceExposes()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "grafana", "dashboard.json"))).RootElement;
        var expressions = dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        var exposed = PrometheusText.Names(_metricsText);

        Assert.That(expressions, Has.Count.GreaterThanOrEqualTo(10));
        foreach (var name in expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)))
        {
            Assert.That(exposed, Does.Contain(name), name + " is used by the dashboard but not exposed");
        }

        Assert.That(expressions, Has.Some.Contains("rate(traefikoidc_cache_hits_total[5m])"), "the reference document's hit-rate panel");
        Assert.That(expressions, Has.Some.Contains("traefikoidc_redis_operation_duration_seconds_bucket"), "the reference document's latency panel");
        Assert.That(expressions, Has.Some.Contains("traefikoidc_circuit_breaker_state"), "the reference document's breaker panel");
    }

    [Test]
    public void Metrics_BreakerGauge_WentClosedOpenClosed() => Assert.That(_breakerGauge, Is.EqualTo(new[] { 0d, 1d, 0d }));

    [TestCase("traefikoidc_cache_requests_total")]
    [TestCase("traefikoidc_cache_hits_total")]
    [TestCase("traefikoidc_redis_operation_duration_seconds_count")]
    [TestCase("forwardauth_logins_started_total")]
    [TestCase("forwardauth_logins_completed_total")]
    [TestCase("forwardauth_decision_duration_seconds_count")]
    [TestCase("forwardauth_bearer_rejections_total")]
    [TestCase("forwardauth_fallback_operations_total")]
    [TestCase("forwardauth_redis_failures_total")]
    [TestCase("forwardauth_redis_connected")]
    public void Metrics_AfterTheScript_NonZero(string name) =>
        Assert.That(_metrics.Sum(name), Is.GreaterThan(0), name);

    [TestCase("allow")]
    [TestCase("challenge")]
    [TestCase("unauthorized")]
    [TestCase("forbidden")]
    [TestCase("bad_request")]
    public void Metrics_Decisions_CountedByOutcome(string outcome) =>
        Assert.That(_metrics.Sum("forwardauth_decisions_total", ("outcome", outcome)), Is.GreaterThan(0), outcome);

    [Test]
    public void Metrics_LogoutsReplaysAndTransitions_Counted()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_metrics.Sum("forwardauth_logouts_total", ("kind", "rp")), Is.EqualTo(1));
            Assert.That(_metrics.Sum("forwardauth_logouts_total", ("kind", "backchannel")), Is.GreaterThanOrEqualTo(1));
            Assert.That(_metrics.Sum("forwardauth_replay_rejections_total", ("artefact", "logout_token")), Is.EqualTo(1));
            Assert.That(_metrics.Sum("forwardauth_circuit_breaker_transitions_total", ("from", "closed"), ("to", "open")), Is.GreaterThanOrEqualTo(1));
            Assert.That(_metrics.Sum("forwardauth_circuit_breaker_transitions_total", ("to", "closed")), Is.GreaterThanOrEqualTo(1));
            Assert.That(_metrics.Sum("traefikoidc_redis_operation_duration_seconds_count", ("outcome", "unavailable")), Is.GreaterThan(0));
            Assert.That(_metrics.Sum("forwardauth_replay_protection", ("mode", "local")), Is.EqualTo(1));
        });
    }

    [Test]
    public void Metrics_Labels_CarryNoUserOrToken()
    {
        var values = _metrics.SelectMany(s => s.Labels.Values).Distinct().ToList();

        Assert.That(values, Has.None.Contains("@").And.None.Contains("alice").And.None.Contains("eyJ"));
        Assert.That(values, Has.All.Length.LessThan(40), "label values are short, bounded words");
    }

    [Test]
    public void Logs_AtDebug_ContainNoSecretCookieOrToken()
    {
        var logs = string.Join('\n', _replica.Logs);

        Assert.That(_replica.Logs, Has.Count.GreaterThan(20), "the run was logged");
        Assert.That(logs, Does.Contain("\"@l\":\"Debug\""), "at Debug level");
        Assert.That(DecisionLines(), Has.Count.GreaterThanOrEqualTo(10), "the scan covers the Debug decision lines");
        foreach (var secret in _secrets.Where(s => s.Length >= 12).Distinct())
        {
            Assert.That(logs, Does.Not.Contain(secret), "a secret, cookie or token (first characters: " + secret[..6] + "…) is in the logs");
        }

        Assert.That(logs, Does.Not.Contain("eyJ"), "no JWT at all");
    }

    private List<JsonElement> DecisionLines() =>
        _replica.Logs.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 304)
            .ToList();

    [Test]
    public void Logs_AtDebug_ExplainEveryDecision_IncludingTheOutage()
    {
        var lines = DecisionLines();
        var sources = lines.Select(l => l.GetProperty("Source").GetString()).ToList();
        var outcomes = lines.Select(l => l.GetProperty("Outcome").GetString()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(outcomes, Is.SupersetOf(new[] { "challenge", "allow", "forbidden", "unauthorized", "bad_request" }));
            Assert.That(sources, Does.Contain("store record (cacheMode redis)"));
            Assert.That(sources, Does.Contain("store record (memory fallback, breaker open)"), "carol's request while Redis was down");
            Assert.That(sources, Does.Contain("bearer token"));
        });
        foreach (var line in lines)
        {
            TestContext.Out.WriteLine(line.GetProperty("@m").GetString());
        }
    }

    [TestCase("Redis cache initialized")]
    [TestCase("Circuit breaker opened")]
    [TestCase("Falling back to memory cache")]
    [TestCase("Redis connection restored")]
    public void Logs_TheReferenceDocumentsLines_Appear(string line) =>
        Assert.That(_replica.Logs, Has.Some.Contains(line));

    [Test]
    public void Logs_TheRedisServerVersion_ReadAtConnect()
    {
        var line = _replica.Logs.FirstOrDefault(l => l.Contains("Redis server", StringComparison.Ordinal) && l.Contains("runs version", StringComparison.Ordinal));

        Assert.That(line, Is.Not.Null, "the version line (event 115)");
        var json = JsonDocument.Parse(line!).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("EventId").GetProperty("Id").GetInt32(), Is.EqualTo(115));
            Assert.That(json.GetProperty("Version").GetString(), Does.Match(@"^\d+\.\d+"));
            Assert.That(json.GetProperty("Supported").GetBoolean(), Is.True, "the test Redis is 5.0 or later");
        });
    }

    [Test]
    public void Logs_AreJsonWithEventIds()
    {
        foreach (var line in _replica.Logs.Take(50))
        {
            var json = JsonDocument.Parse(line).RootElement;
            Assert.That(json.TryGetProperty("@t", out _) && json.TryGetProperty("@m", out _), Is.True, line);
        }

        Assert.That(_replica.Logs.Where(l => l.Contains("Login completed", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("EventId").GetProperty("Id").GetInt32()),
            Has.All.EqualTo(201), "stable event ids");
    }
}
