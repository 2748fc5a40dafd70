using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// <c>replayProtection: closed</c>: while the breaker is open the ID token's single use cannot be guaranteed across
/// replicas, so the callback answers 503 <c>temporarily_unavailable</c> with <c>Retry-After: 5</c> — a value handled by
/// the login flow, not an exception. With <c>local</c> the same login completes from this replica's memory.
/// </summary>
[TestFixture]
public class ReplayProtectionClosedTests
{
    private OidcProvider _provider = null!;
    private readonly HttpClient _http = new();

    [OneTimeSetUp]
    public async Task Start() =>
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint", RedirectUris = ["http://app.test/oauth2/callback"] });

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _provider.DisposeAsync();
    }

    private async Task<HttpResponseMessage> LoginWhileTheBreakerIsOpenAsync(RedisServer redis, string replayProtection)
    {
        var settings = ForwardAuthSettings.For(_provider, redis);
        settings["REPLAY_PROTECTION"] = replayProtection;
        settings["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "1";
        settings["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "300";
        settings["REDIS_HEALTH_CHECK_INTERVAL"] = "1";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        await redis.StopAsync();
        try
        {
            await TestPaths.WaitUntilAsync(
                async () => JsonDocument.Parse(await _http.GetStringAsync(replica.BaseUrl + "/health")).RootElement
                    .GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString() == "open",
                TimeSpan.FromSeconds(15),
                "the breaker to open");
            using var client = new ForwardAuthClient();
            return await client.LoginAsync(replica, replica, "/", "alice");
        }
        finally
        {
            await redis.RestartAsync();
        }
    }

    [Test]
    public async Task Closed_BreakerOpen_Callback503TemporarilyUnavailableWithRetryAfter()
    {
        await using var redis = await RedisServer.StartAsync();

        using var callback = await LoginWhileTheBreakerIsOpenAsync(redis, "closed");
        var body = JsonDocument.Parse(await callback.Content.ReadAsStringAsync()).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(callback.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(callback.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(body.GetProperty("error").GetString(), Is.EqualTo("temporarily_unavailable"));
            Assert.That(callback.Headers.Contains("Set-Cookie"), Is.False, "no session was created");
        });
    }

    [Test]
    public async Task Local_BreakerOpen_LoginCompletesFromMemory()
    {
        await using var redis = await RedisServer.StartAsync();

        using var callback = await LoginWhileTheBreakerIsOpenAsync(redis, "local");

        Assert.That(callback.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }
}
