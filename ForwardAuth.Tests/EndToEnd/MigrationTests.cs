using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// docs/migration-memory-to-redis.md, run with real processes: two memory-mode replicas (one behind each half of the
/// users, one cookie key) with logged-in users; phase 2 restarts one replica in redis/hybrid mode against a real
/// redis-server while the other still runs in memory; phase 3 restarts the other. Nobody logs in again at any step:
/// the sealed cookie decides where the store lacks the record, and the session is adopted into Redis. Afterwards the
/// replicas share it: a logout on one ends it on the other. The rollback (back to memory) logs nobody out either.
/// </summary>
[TestFixture("redis")]
[TestFixture("hybrid")]
[NonParallelizable]
public class MigrationTests(string cacheMode)
{
    private const string SessionCookie = "_forwardauth_session";
    private const int Users = 6;
    private OidcProvider _provider = null!;

    [OneTimeSetUp]
    public async Task StartProvider() => _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
    {
        AutoLogin = "hint",
        RedirectUris = ["http://app.test/oauth2/callback"],
        PostLogoutRedirectUris = ["http://app.test/"],
    });

    [OneTimeTearDown]
    public async Task StopProvider() => await _provider.DisposeAsync();

    private Dictionary<string, string> MemoryMode() => ForwardAuthSettings.For(_provider);

    private Dictionary<string, string> SharedMode(RedisServer redis) => ForwardAuthSettings.For(_provider, redis, cacheMode);

    private static string User(int i) => $"migrant{i}";

    [Test]
    public async Task MemoryReplicas_RestartedOneByOneInSharedMode_NobodyLogsInAgain_SessionsAdoptedIntoRedis_LogoutReachesTheOtherReplica()
    {
        await using var redis = await RedisServer.StartAsync();
        var clients = Enumerable.Range(0, Users).Select(_ => new ForwardAuthClient()).ToList();
        try
        {
            // Phase 0: memory mode. Each replica keeps its own sessions; a login starts and ends on the same replica.
            var a = await ForwardAuthInstance.StartInProcessAsync(MemoryMode());
            var b = await ForwardAuthInstance.StartInProcessAsync(MemoryMode());
            for (var i = 0; i < Users; i++)
            {
                var replica = i % 2 == 0 ? a : b;
                using var login = await clients[i].LoginAsync(replica, replica, "/", User(i));
                Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found), $"{User(i)} logs in in memory mode");
                Assert.That(clients[i].Cookies.Keys, Does.Contain(SessionCookie));
                await AssertAllowedAsync(clients[i], replica, i, "memory mode, the replica that logged in");
            }

            Assert.That(await redis.KeysAsync("*"), Is.Empty, "memory mode writes nothing to Redis");

            // Phase 2: one replica at a time. A restarts in shared mode; B still runs in memory mode.
            await a.DisposeAsync();
            a = await ForwardAuthInstance.StartInProcessAsync(SharedMode(redis));
            for (var i = 0; i < Users; i++)
            {
                await AssertAllowedAsync(clients[i], a, i, "phase 2, A in " + cacheMode + " mode");
                await AssertAllowedAsync(clients[i], b, i, "phase 2, B still in memory mode");
            }

            Assert.That(await redis.KeysAsync("fa-test:session:*"), Has.Count.EqualTo(Users), "A adopted every session into Redis");

            // Phase 3: B restarts in shared mode too.
            await b.DisposeAsync();
            b = await ForwardAuthInstance.StartInProcessAsync(SharedMode(redis));
            for (var i = 0; i < Users; i++)
            {
                await AssertAllowedAsync(clients[i], b, i, "phase 3, B in " + cacheMode + " mode");
                await AssertAllowedAsync(clients[i], a, i, "phase 3, A");
            }

            Assert.That(await redis.KeysAsync("fa-test:session:*"), Has.Count.EqualTo(Users), "one record per session: B found A's adopted records");
            Assert.That(a.Logs.Count(l => l.Contains("adopted into the store from its sealed cookie", StringComparison.Ordinal)), Is.EqualTo(Users));
            Assert.That(b.Logs.Count(l => l.Contains("adopted into the store from its sealed cookie", StringComparison.Ordinal)), Is.Zero,
                "B decided from the records in Redis");

            // Shared from now on: a logout on B ends the session A adopted, on both replicas.
            var oldCookie = clients[0].Cookies[SessionCookie];
            using (var logout = await clients[0].AuthAsync(b, "GET", "/oauth2/logout", ForwardAuthClient.Navigation))
            {
                Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));
                Assert.That(logout.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer + "/session/end"));
            }

            clients[0].Cookies[SessionCookie] = oldCookie;
            foreach (var replica in new[] { a, b })
            {
                using var after = await clients[0].AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
                Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the logged-out cookie is refused on " + replica.BaseUrl);
                Assert.That(after.Headers.Location!.AbsoluteUri, Does.StartWith(_provider.Issuer), "sent to log in again");
            }

            for (var i = 1; i < Users; i++)
            {
                await AssertAllowedAsync(clients[i], a, i, "the other users after one logout");
            }

            // Rollback: back to memory mode (redis.enabled=false). Nobody is logged out by that either.
            await a.DisposeAsync();
            a = await ForwardAuthInstance.StartInProcessAsync(MemoryMode());
            for (var i = 1; i < Users; i++)
            {
                await AssertAllowedAsync(clients[i], a, i, "rolled back to memory mode");
            }

            await a.DisposeAsync();
            await b.DisposeAsync();
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static async Task AssertAllowedAsync(ForwardAuthClient client, ForwardAuthInstance replica, int user, string step)
    {
        using var response = await client.AuthAsync(replica, "GET", "/reports", ForwardAuthClient.Navigation);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{User(user)} on {replica.BaseUrl} ({step})");
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo(User(user) + "@example.com"), step);
    }
}
