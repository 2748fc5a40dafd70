using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// The README's 503 row, through HTTP only: with <c>replayProtection: closed</c> and Redis stopped (breaker open), a
/// login still starts (its record falls back to memory) but its callback, which needs a single-use marker only Redis can
/// guarantee, answers 503 <c>temporarily_unavailable</c> with <c>Retry-After</c> and creates no session; once Redis is
/// back a login completes. With the default <c>local</c> the same callback succeeds from the replica's memory.
/// </summary>
[NonParallelizable]
public class ReplayProtectionOutageTests
{
    private const string SessionCookie = "_forwardauth_session";
    private const int BreakerTimeoutSeconds = 2;
    private OidcProvider _provider = null!;
    private readonly HttpClient _http = new();

    [OneTimeSetUp]
    public async Task StartProvider() =>
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint", RedirectUris = ["http://app.test/oauth2/callback"] });

    [OneTimeTearDown]
    public async Task StopProvider()
    {
        _http.Dispose();
        await _provider.DisposeAsync();
    }

    private Dictionary<string, string> Settings(RedisServer redis, string replayProtection) => new(ForwardAuthSettings.For(_provider, redis))
    {
        ["REPLAY_PROTECTION"] = replayProtection,
        ["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "2",
        ["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = BreakerTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        ["REDIS_READ_TIMEOUT"] = "1",
        ["REDIS_WRITE_TIMEOUT"] = "1",
        ["REDIS_DIAL_TIMEOUT"] = "1",
        ["REDIS_HEALTH_CHECK_INTERVAL"] = "1",
    };

    private async Task WaitForBreakerAsync(ForwardAuthInstance replica, string state, TimeSpan timeout) =>
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                var health = JsonDocument.Parse(await _http.GetStringAsync(replica.BaseUrl + "/health")).RootElement;
                return health.GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString() == state;
            },
            timeout,
            $"the breaker of {replica.BaseUrl} to be {state}");

    /// <summary>Redis stopped, the breaker open; a login started (302) and the provider's answer in hand.</summary>
    private async Task<(ForwardAuthClient Client, string Callback)> StartLoginDuringOutageAsync(RedisServer redis, ForwardAuthInstance replica, string user)
    {
        await redis.StopAsync();
        await WaitForBreakerAsync(replica, "open", TimeSpan.FromSeconds(10));
        var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(replica, "GET", "/during-outage", ForwardAuthClient.Navigation);
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a login starts while Redis is down (its record falls back to memory)");
        Assert.That(challenge.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer));
        return (client, await client.ProviderRoundTripAsync(challenge.Headers.Location.AbsoluteUri, user));
    }

    [Test]
    public async Task Closed_RedisDown_CallbackAnswers503WithRetryAfter_CreatesNoSession_LoginCompletesOnceRedisIsBack()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(redis, "closed"));
        var (client, callback) = await StartLoginDuringOutageAsync(redis, replica, "closed-user");
        using var _ = client;

        using var refused = await client.AuthAsync(replica, "GET", callback, ForwardAuthClient.Navigation);
        var body = await refused.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(refused.Headers.RetryAfter, Is.Not.Null, "Retry-After");
            Assert.That(refused.Headers.RetryAfter!.Delta, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("temporarily_unavailable"));
            Assert.That(client.Cookies.Keys, Does.Not.Contain(SessionCookie), "no session cookie");
        });

        using (var stillAnonymous = await client.AuthAsync(replica, "GET", "/during-outage", ForwardAuthClient.Navigation))
        {
            Assert.That(stillAnonymous.StatusCode, Is.EqualTo(HttpStatusCode.Found), "no session was created");
            Assert.That(stillAnonymous.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer));
        }

        await redis.RestartAsync();
        await WaitForBreakerAsync(replica, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 5));

        using var again = new ForwardAuthClient();
        using var login = await again.LoginAsync(replica, replica, "/after-outage", "closed-user");
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(login.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/after-outage"));
        using var allowed = await again.AuthAsync(replica, "GET", "/after-outage", ForwardAuthClient.Navigation);
        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(allowed.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("closed-user@example.com"));
        Assert.That(await redis.KeysAsync("fa-test:session:*"), Has.Count.EqualTo(1), "only the login made with Redis back created a session");
    }

    [Test]
    public async Task Local_RedisDown_TheSameCallbackSucceedsFromTheReplicasMemory()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(Settings(redis, "local"));
        var (client, callback) = await StartLoginDuringOutageAsync(redis, replica, "local-user");
        using var _ = client;

        using var done = await client.AuthAsync(replica, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(done.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/during-outage"));
        Assert.That(client.Cookies.Keys, Does.Contain(SessionCookie));
        using var allowed = await client.AuthAsync(replica, "GET", "/during-outage", ForwardAuthClient.Navigation);
        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(allowed.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("local-user@example.com"));
    }

    /// <summary>
    /// A refresh lease is a best-effort single flight, not a single-use guarantee: under <c>closed</c> with Redis down, a
    /// logged-in user whose tokens come due is refreshed from this replica (a lease per replica), never answered 503.
    /// The session is made during the outage (replay detection off, so the callback needs no marker) so that its full
    /// record, refresh token included, lives in the replica's memory.
    /// </summary>
    [Test]
    public async Task Closed_RedisDown_RefreshDue_LoggedInUserIsRefreshedNot503()
    {
        await using var provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint", RedirectUris = ["http://app.test/oauth2/callback"], AccessTokenTtl = 4, IdTokenTtl = 4,
        });
        await using var redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string>(ForwardAuthSettings.For(provider, redis))
        {
            ["REPLAY_PROTECTION"] = "closed",
            ["DISABLE_REPLAY_DETECTION"] = "true",
            ["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "2",
            ["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "60",
            ["REDIS_READ_TIMEOUT"] = "1",
            ["REDIS_WRITE_TIMEOUT"] = "1",
            ["REDIS_DIAL_TIMEOUT"] = "1",
            ["REDIS_HEALTH_CHECK_INTERVAL"] = "1",
        };
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        await redis.StopAsync();
        await WaitForBreakerAsync(replica, "open", TimeSpan.FromSeconds(10));
        using var client = new ForwardAuthClient();
        using (var login = await client.LoginAsync(replica, replica, "/app", "refresh-user"))
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a login completes without a single-use marker");
        }

        var statuses = await client.AuthUntilRefreshedAsync(replica, "/app", provider, TimeSpan.FromSeconds(10), "a refresh of the session's tokens during the outage");

        Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.OK), "every request of the logged-in user allowed, before and after the refresh");
        using var after = await client.AuthAsync(replica, "GET", "/app", ForwardAuthClient.Navigation);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
