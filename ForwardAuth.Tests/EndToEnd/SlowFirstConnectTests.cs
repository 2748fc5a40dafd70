using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Cache;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// A rolling deployment whose new replica connects slowly (issue 18, item 2): the Sentinels hang (SIGSTOP) while the
/// replica starts. It is not ready until its first connection attempt has finished; requests that reach it anyway
/// meanwhile are served from memory without counting against the breaker; once the Sentinels answer, it becomes ready
/// with its breaker closed, and a login started on the old replica finishes on the new one.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SlowFirstConnectTests
{
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

    [Test]
    public async Task Sentinel_SlowFirstConnect_NotReadyMeanwhile_AndTheBreakerStaysClosed()
    {
        await using var sentinel = await RedisSentinel.StartAsync(RedisSentinelCacheBackendTests.Password);
        var settings = ForwardAuthSettings.For(_provider, null);
        settings["REDIS_ENABLED"] = "true";
        settings["REDIS_CACHE_MODE"] = "redis";
        settings["REDIS_ADDRESS"] = sentinel.SentinelAddresses;
        settings["REDIS_SENTINEL_MASTER_NAME"] = RedisSentinel.MasterName;
        settings["REDIS_PASSWORD"] = RedisSentinelCacheBackendTests.Password;
        settings["REDIS_CIRCUIT_BREAKER_THRESHOLD"] = "3";
        settings["REDIS_CIRCUIT_BREAKER_TIMEOUT"] = "60";
        settings["REDIS_HEALTH_CHECK_INTERVAL"] = "1";
        settings["REDIS_DIAL_TIMEOUT"] = "5";
        settings["REDIS_READ_TIMEOUT"] = "1";
        settings["REDIS_WRITE_TIMEOUT"] = "1";
        settings["LOG_LEVEL"] = "info";
        await using var a = await ForwardAuthInstance.StartInProcessAsync(settings);
        var users = new List<ForwardAuthClient>();
        for (var i = 0; i < 4; i++)
        {
            var user = new ForwardAuthClient();
            using var _ = await user.LoginAsync(a, a, "/", $"early-user{i}");
            users.Add(user);
        }

        foreach (var node in sentinel.Sentinels)
        {
            node.Pause();
        }

        ForwardAuthInstance? b = null;
        try
        {
            var starting = Stopwatch.GetTimestamp();
            b = await ForwardAuthInstance.StartInProcessAsync(settings, waitFor: "/healthz");
            using (var notReady = await _http.GetAsync(b.BaseUrl + "/readyz"))
            {
                Assert.That(notReady.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "not ready while the first connection is being made");
            }

            // Traffic that reaches it anyway (threshold 3: more than enough to open the breaker if it counted).
            var early = await Task.WhenAll(users.Concat(users).Select(async user =>
            {
                using var response = await user.AuthAsync(b, "GET", "/early", ForwardAuthClient.Navigation);
                return response.StatusCode;
            }));
            Assert.That(early, Has.All.Not.EqualTo(HttpStatusCode.InternalServerError).And.Not.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(await BreakerAsync(b), Is.EqualTo(("closed", 0)), "waiting for the first connection counted nothing");

            foreach (var node in sentinel.Sentinels)
            {
                node.Resume();
            }

            await TestPaths.WaitUntilAsync(async () => (await _http.GetAsync(b.BaseUrl + "/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(20), "the new replica to be ready");
            TestContext.Progress.WriteLine($"the new replica was ready {Stopwatch.GetElapsedTime(starting).TotalMilliseconds:F0} ms after its start");
            Assert.That(await BreakerAsync(b), Is.EqualTo(("closed", 0)), "ready with its breaker closed");

            var newcomer = new ForwardAuthClient();
            using var callback = await newcomer.LoginAsync(a, b, "/", "rolling-user");
            Assert.That(callback.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a login started on the old replica finishes on the new one");
            foreach (var user in users.Append(newcomer))
            {
                using var response = await user.AuthAsync(b, "GET", "/after", ForwardAuthClient.Navigation);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
        }
        finally
        {
            foreach (var node in sentinel.Sentinels)
            {
                node.Resume();
            }

            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }
    }

    private async Task<(string State, int Failures)> BreakerAsync(ForwardAuthInstance replica)
    {
        var breaker = JsonDocument.Parse(await _http.GetStringAsync(replica.BaseUrl + "/health")).RootElement
            .GetProperty("cache").GetProperty("circuit_breaker");
        return (breaker.GetProperty("state").GetString()!, breaker.GetProperty("failures").GetInt32());
    }
}
