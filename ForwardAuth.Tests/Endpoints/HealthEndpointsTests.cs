using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>Liveness, readiness and the health document, with the provider and Redis really up or down.</summary>
[TestFixture]
public class HealthEndpointsTests
{
    private OidcProvider _provider = null!;
    private RedisServer _redis = null!;
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint", RedirectUris = ["http://app.test/oauth2/callback"] });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<JsonElement> JsonAsync(string url) => JsonDocument.Parse(await _http.GetStringAsync(url)).RootElement;

    [Test]
    public async Task RedisUp_ReadyAndHealthy()
    {
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(_provider, _redis));

        var health = await JsonAsync(replica.BaseUrl + "/health");

        Assert.Multiple(async () =>
        {
            Assert.That((await _http.GetAsync(replica.BaseUrl + "/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await JsonAsync(replica.BaseUrl + "/readyz")).GetProperty("status").GetString(), Is.EqualTo("ready"));
            Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("healthy"));
            Assert.That(health.GetProperty("cache").GetProperty("mode").GetString(), Is.EqualTo("redis"));
            Assert.That(health.GetProperty("cache").GetProperty("redis").GetProperty("connected").GetBoolean(), Is.True);
            Assert.That(health.GetProperty("cache").GetProperty("redis").GetProperty("latency").GetString(), Does.EndWith("ms"));
        });
    }

    [TestCase("memory")]
    [TestCase("redis")]
    [TestCase("hybrid")]
    public async Task Health_DocumentedShapeWithLiveValues(string mode)
    {
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(_provider, mode == "memory" ? null : _redis, mode));
        using var client = new ForwardAuthClient();
        using var login = await client.LoginAsync(replica, replica, "/", "alice");
        using var again = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        var health = await JsonAsync(replica.BaseUrl + "/health");
        var cache = health.GetProperty("cache");

        Assert.Multiple(() =>
        {
            Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("healthy"));
            Assert.That(cache.GetProperty("mode").GetString(), Is.EqualTo(mode));
            Assert.That(cache.GetProperty("memory").GetProperty("entries").GetInt32(), mode == "memory" ? Is.GreaterThan(0) : Is.GreaterThanOrEqualTo(0));
            Assert.That(cache.GetProperty("memory").GetProperty("size").GetString(), Does.Match(@"^\d+(\.\d)?(B|KB|MB)$"));
            if (mode == "memory")
            {
                Assert.That(cache.GetProperty("redis").ValueKind, Is.EqualTo(JsonValueKind.Null));
                return;
            }

            var redis = cache.GetProperty("redis");
            Assert.That(redis.GetProperty("connected").GetBoolean(), Is.True);
            Assert.That(redis.GetProperty("latency").GetString(), Does.Match(@"^\d+(\.\d+)?ms$"));
            Assert.That(redis.GetProperty("pool").GetProperty("active").GetInt32(), Is.GreaterThanOrEqualTo(1));
            Assert.That(redis.GetProperty("pool").GetProperty("total").GetInt32(), Is.GreaterThanOrEqualTo(1));
            Assert.That(redis.GetProperty("pool").TryGetProperty("idle", out _), Is.True);
            Assert.That(cache.GetProperty("circuit_breaker").GetProperty("state").GetString(), Is.EqualTo("closed"));
            Assert.That(cache.GetProperty("circuit_breaker").GetProperty("failures").GetInt32(), Is.Zero);
            if (mode == "hybrid")
            {
                Assert.That(cache.GetProperty("local").GetProperty("entries").GetInt32(), Is.GreaterThan(0), "the session is in L1");
            }
        });
    }

    [Test]
    public async Task Health_DuringAnOutage_DegradedWithTheBreakerOpen()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = ForwardAuthSettings.For(_provider, redis, "hybrid");
        settings["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "1";
        settings["REDIS_HEALTH_CHECK_INTERVAL"] = "1";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);

        await redis.StopAsync();
        await TestPaths.WaitUntilAsync(
            async () => (await JsonAsync(replica.BaseUrl + "/health")).GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString() == "open",
            TimeSpan.FromSeconds(10),
            "the breaker to open");
        var health = await JsonAsync(replica.BaseUrl + "/health");

        Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("degraded"));
        Assert.That(health.GetProperty("cache").GetProperty("redis").GetProperty("connected").GetBoolean(), Is.False);
        Assert.That(health.GetProperty("cache").GetProperty("circuit_breaker").GetProperty("failures").GetInt32(), Is.GreaterThan(0));
        Assert.That((await _http.GetAsync(replica.BaseUrl + "/readyz")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "degraded is still ready");
    }

    [Test]
    public async Task Health_BreakerOpenWhileRedisAnswersAgain_DegradedNotConnectedWithTheJournal()
    {
        // Issue 18: for seconds after a failover Redis answers its PING while the breaker is still open and the journal
        // holds writes. The document must say what the service does: degraded, not connected, the journal's size.
        await using var redis = await RedisServer.StartAsync();
        var settings = ForwardAuthSettings.For(_provider, redis, "hybrid");
        settings["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "1";
        settings["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "300";
        settings["REDIS_HEALTH_CHECK_INTERVAL"] = "1";
        settings["REDIS_READ_TIMEOUT"] = "1";
        settings["REDIS_WRITE_TIMEOUT"] = "1";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);

        redis.Pause();
        try
        {
            await TestPaths.WaitUntilAsync(
                async () => (await JsonAsync(replica.BaseUrl + "/health")).GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString() == "open",
                TimeSpan.FromSeconds(15),
                "the breaker to open");
            using var client = new ForwardAuthClient();
            using var login = await client.LoginAsync(replica, replica, "/", "alice");
        }
        finally
        {
            redis.Resume();
        }

        await TestPaths.WaitUntilAsync(
            async () => (await JsonAsync(replica.BaseUrl + "/health")).GetProperty("cache").GetProperty("redis").GetProperty("latency").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(15),
            "Redis to answer its PING again");
        var health = await JsonAsync(replica.BaseUrl + "/health");
        var ready = await JsonAsync(replica.BaseUrl + "/readyz");
        var cache = health.GetProperty("cache");

        Assert.Multiple(() =>
        {
            Assert.That(cache.GetProperty("circuit_breaker").GetProperty("state").GetString(), Is.EqualTo("open"));
            Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("degraded"));
            Assert.That(cache.GetProperty("redis").GetProperty("connected").GetBoolean(), Is.False, "connected means what the breaker believes");
            Assert.That(cache.GetProperty("redis").GetProperty("error").GetString(), Does.Contain("circuit breaker open"));
            Assert.That(cache.GetProperty("outage_journal").GetProperty("entries").GetInt32(), Is.GreaterThan(0), "the login's writes wait for Redis");
            Assert.That(ready.GetProperty("status").GetString(), Is.EqualTo("degraded"));
            Assert.That(ready.GetProperty("reason").GetString(), Does.Contain("circuit breaker open").And.Contain("in the outage journal"));
        });
    }

    [Test]
    public async Task RedisDownAtStart_StartsReadyButDegraded()
    {
        // Held, not listening: connections are refused, and no other process can start a server there meanwhile.
        using var nothingThere = PortReservation.Take();
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["REDIS_ADDRESS"] = $"127.0.0.1:{nothingThere.Port}";
        settings["REDIS_DIAL_TIMEOUT"] = "1";

        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        var ready = await _http.GetAsync(replica.BaseUrl + "/readyz");
        var health = await JsonAsync(replica.BaseUrl + "/health");

        Assert.Multiple(async () =>
        {
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString(), Is.EqualTo("degraded"));
            Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("degraded"));
            Assert.That(health.GetProperty("cache").GetProperty("redis").GetProperty("connected").GetBoolean(), Is.False);
            Assert.That(health.GetProperty("cache").GetProperty("redis").GetProperty("error").GetString(), Does.Contain("redis.address"));
        });
    }

    [Test]
    public async Task ProviderUnreachable_LiveButNotReady()
    {
        using var nothingThere = PortReservation.Take();
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["PROVIDER_URL"] = $"http://127.0.0.1:{nothingThere.Port}";

        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings, waitFor: "/healthz");
        using var client = new ForwardAuthClient();
        using var navigation = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.Multiple(async () =>
        {
            Assert.That((await _http.GetAsync(replica.BaseUrl + "/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await _http.GetAsync(replica.BaseUrl + "/readyz")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(navigation.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), "no login can start without the provider: a clear 502, not a 500");
        });
    }

    [Test]
    public async Task RedisStopped_LoggedInUserStaysIn_NewLoginStillStarts()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(_provider, redis));
        using var client = new ForwardAuthClient();
        using var _ = await client.LoginAsync(replica, replica, "/", "alice");

        await redis.StopAsync();
        using var stillIn = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        using var stranger = new ForwardAuthClient();
        using var newLogin = await stranger.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.Multiple(() =>
        {
            Assert.That(stillIn.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a Redis outage logs nobody out");
            Assert.That(stillIn.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("alice@example.com"));
            Assert.That(newLogin.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the login record goes to the memory fallback");
        });
    }
}
