using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Redis really killed, hung and restarted under the load of logged-in users on two replicas: nobody is turned away,
/// nothing answers 5xx, the breaker opens and closes, and what happened during the outage reaches Redis.
/// </summary>
[TestFixture("redis")]
[TestFixture("hybrid")]
[NonParallelizable]
public class RedisOutageTests(string cacheMode)
{
    private const int BreakerTimeoutSeconds = 2;
    private const string SessionCookie = "_forwardauth_session";
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

    private Dictionary<string, string> Settings(RedisServer redis) => new(ForwardAuthSettings.For(_provider, redis, cacheMode))
    {
        ["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "3",
        ["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = BreakerTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["REDIS_READ_TIMEOUT"] = "1",
        ["REDIS_WRITE_TIMEOUT"] = "1",
        ["REDIS_DIAL_TIMEOUT"] = "1",
        ["REDIS_HEALTH_CHECK_INTERVAL"] = "1",
        ["PASS_AUTHORIZATION_HEADER"] = "true",
        ["LOG_LEVEL"] = "warn",
    };

    private async Task<string> BreakerStateAsync(ForwardAuthInstance replica)
    {
        var health = JsonDocument.Parse(await _http.GetStringAsync(replica.BaseUrl + "/health")).RootElement;
        return health.GetProperty("cache").GetProperty("circuit_breaker").GetProperty("state").GetString()!;
    }

    private async Task<int> JournalAsync(ForwardAuthInstance replica)
    {
        var health = JsonDocument.Parse(await _http.GetStringAsync(replica.BaseUrl + "/health")).RootElement;
        return health.GetProperty("cache").GetProperty("outage_journal").GetProperty("entries").GetInt32();
    }

    private Task WaitForBreakerAsync(ForwardAuthInstance replica, string state, TimeSpan timeout) =>
        TestPaths.WaitUntilAsync(async () => await BreakerStateAsync(replica) == state, timeout, $"the breaker of {replica.BaseUrl} to be {state}");

    private static async Task<List<string>> LogInAsync(ForwardAuthInstance a, ForwardAuthInstance b, int users)
    {
        var cookies = new List<string>();
        for (var i = 0; i < users; i++)
        {
            using var client = new ForwardAuthClient();
            using var _ = await client.LoginAsync(i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, "/", $"user{i}");
            cookies.Add(client.Cookies[SessionCookie]);
        }

        return cookies;
    }

    [Test]
    public async Task KillRedisUnderLoad_NobodyTurnedAway_BreakerOpensAndCloses_OutageSessionReachesRedis()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        await using var b = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        var cookies = await LogInAsync(a, b, 10);

        await using var load = new LoadRun([a, b], cookies, connections: 50);
        await TestPaths.WaitUntilAsync(() => Task.FromResult(load.Results.Count > 200), TimeSpan.FromSeconds(10), "load to run");

        await redis.StopAsync(); // SIGKILL
        await WaitForBreakerAsync(a, "open", TimeSpan.FromSeconds(10));
        await WaitForBreakerAsync(b, "open", TimeSpan.FromSeconds(10));

        // A new user logs in on A while Redis is gone: login record, ID-token marker and session all live in A's memory.
        using var newcomer = new ForwardAuthClient();
        using var login = await newcomer.LoginAsync(a, a, "/during-outage", "newcomer");
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(await JournalAsync(a), Is.GreaterThan(0), "the outage writes are journalled");

        var restarted = Stopwatch.StartNew();
        await redis.RestartAsync();
        await WaitForBreakerAsync(a, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 1));
        await WaitForBreakerAsync(b, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 1));
        var recovery = restarted.Elapsed;
        await TestPaths.WaitUntilAsync(async () => await JournalAsync(a) == 0, TimeSpan.FromSeconds(5), "A's journal to be replayed");
        await load.StopAsync();

        var results = load.Results.ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(results, Has.Count.GreaterThan(500));
            Assert.That(results.Count(r => r.Status >= 500 || r.Status < 0), Is.Zero, "no 5xx, no failed request");
            Assert.That(results.Count(r => r.Status != 200), Is.Zero, "no logged-in user turned away");
            Assert.That(recovery, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(BreakerTimeoutSeconds + 1)));

            // B never saw this session; with Redis back it gets the full record A created (tokens and all) from Redis.
            using var onB = await newcomer.AuthAsync(b, "GET", "/during-outage", ForwardAuthClient.Navigation);
            Assert.That(onB.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(onB.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("newcomer@example.com"));
            Assert.That(onB.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer "), "the replayed record, not one adopted from the cookie");
        });
    }

    [Test]
    public async Task HangRedisUnderLoad_LatencyBoundedByReadTimeout_BreakerOpensThenRecovers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        await using var b = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        var cookies = await LogInAsync(a, b, 6);

        await using var load = new LoadRun([a, b], cookies, connections: 50);
        await TestPaths.WaitUntilAsync(() => Task.FromResult(load.Results.Count > 200), TimeSpan.FromSeconds(10), "load to run");

        redis.Pause(); // SIGSTOP: connections stay open, nothing answers
        var paused = DateTime.UtcNow;
        await WaitForBreakerAsync(a, "open", TimeSpan.FromSeconds(10));
        await WaitForBreakerAsync(b, "open", TimeSpan.FromSeconds(10));
        var countWhileOpen = load.Results.Count;
        await TestPaths.WaitUntilAsync(() => Task.FromResult(load.Results.Count > countWhileOpen + 500), TimeSpan.FromSeconds(10), "requests to flow while open");

        redis.Resume();
        await WaitForBreakerAsync(a, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 2));
        await WaitForBreakerAsync(b, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 2));
        await load.StopAsync();

        var duringHang = load.Results.Where(r => r.At >= paused).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(duringHang.Count(r => r.Status != 200), Is.Zero, "nobody turned away, no 5xx");
            // readTimeout is 1 s; allow scheduling slack on a 2-core machine shared with the load generator.
            Assert.That(duringHang.Max(r => r.Latency), Is.LessThan(TimeSpan.FromSeconds(2.5)), "no request waits much past readTimeout");
            Assert.That(duringHang.Count(r => r.Latency > TimeSpan.FromSeconds(0.5)), Is.LessThan(duringHang.Count / 10), "once open, nothing waits on Redis");
        });
    }

    [Test]
    public async Task StartWithRedisDown_LogIn_ThenRedisAppears_SessionReachesRedis()
    {
        await using var redis = RedisServer.NotStarted();
        await using var a = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        using var client = new ForwardAuthClient();
        using var login = await client.LoginAsync(a, a, "/", "early-bird");
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found), "logins work before Redis exists");

        await redis.RestartAsync();
        await WaitForBreakerAsync(a, "closed", TimeSpan.FromSeconds(BreakerTimeoutSeconds + 5));
        await TestPaths.WaitUntilAsync(async () => (await redis.KeysAsync("fa-test:session:*")).Count > 0, TimeSpan.FromSeconds(5), "the session to reach Redis");

        await using var b = await ForwardAuthInstance.StartInProcessAsync(Settings(redis));
        using var onB = await client.AuthAsync(b, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(onB.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(onB.Headers.GetValues("Authorization").Single(), Does.StartWith("Bearer "), "B read the full record from Redis");
    }
}
