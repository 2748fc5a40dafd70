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

    [Test]
    public async Task RedisDownAtStart_StartsReadyButDegraded()
    {
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["REDIS_ADDRESS"] = $"127.0.0.1:{TestPaths.FreePort()}";
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
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["PROVIDER_URL"] = $"http://127.0.0.1:{TestPaths.FreePort()}";

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
