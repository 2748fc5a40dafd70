using System.Globalization;
using System.Net;
using ForwardAuth.Tests.Support;
using StackExchange.Redis;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// PRODUCT.md §2: "A request without credentials writes nothing to the shared store". Thousands of anonymous browser
/// navigations, each answered 302 to the provider, through a real replica on real Redis in redis and hybrid mode: the
/// key space is the same before and after (DBSIZE and SCAN), and Redis's own per-command statistics count no write
/// command and no PUBLISH. The browsers keep the login cookies they are given, so the bound on pending-login cookies
/// is exercised too.
/// </summary>
[NonParallelizable]
public class AnonymousRequestsTests
{
    private const int Requests = 3000;
    private const int Browsers = 8;

    [TestCase("redis")]
    [TestCase("hybrid")]
    public async Task ThousandsOfAnonymousNavigations_Get302_AndWriteNothingToRedis(string cacheMode)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var provider = await OidcProvider.StartAsync(new OidcProvider.Settings());
        var settings = new Dictionary<string, string>(ForwardAuthSettings.For(provider, redis, cacheMode))
        {
            ["LOG_LEVEL"] = "warn",
            ["REGULATION_MAX_RETRIES"] = "5", // regulation on: an anonymous request must not count against anyone either
        };
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        var admin = await redis.AdminAsync();
        var browsers = Enumerable.Range(0, Browsers).Select(_ => new ForwardAuthClient()).ToList();
        try
        {
            await NavigateAsync(browsers, replica, 4 * Browsers); // discovery, connections and subscriptions are set up first
            var keysBefore = await ScanAsync(redis);
            var sizeBefore = (long)await admin.ExecuteAsync("DBSIZE");
            var statsBefore = await CommandStatsAsync(admin);

            var statuses = await NavigateAsync(browsers, replica, Requests);

            var statsAfter = await CommandStatsAsync(admin);
            var sizeAfter = (long)await admin.ExecuteAsync("DBSIZE");
            var keysAfter = await ScanAsync(redis);
            var called = statsAfter
                .Where(s => s.Value > statsBefore.GetValueOrDefault(s.Key))
                .ToDictionary(s => s.Key, s => s.Value - statsBefore.GetValueOrDefault(s.Key), StringComparer.Ordinal);
            var writes = new List<string>();
            foreach (var command in called.Keys)
            {
                if (await IsWriteAsync(admin, command))
                {
                    writes.Add(command);
                }
            }

            await TestContext.Out.WriteLineAsync($"{cacheMode}: {Requests} anonymous navigations; commands Redis saw meanwhile: "
                + (called.Count == 0 ? "none" : string.Join(", ", called.Select(c => c.Key + "=" + c.Value.ToString(CultureInfo.InvariantCulture)))));
            Assert.Multiple(() =>
            {
                Assert.That(statuses, Has.Count.EqualTo(Requests).And.All.EqualTo(HttpStatusCode.Found), "every anonymous navigation goes to the provider");
                Assert.That(sizeAfter, Is.EqualTo(sizeBefore), "DBSIZE");
                Assert.That(keysAfter, Is.EquivalentTo(keysBefore), "SCAN: no new key");
                Assert.That(called.GetValueOrDefault("set"), Is.Zero, "cmdstat_set");
                Assert.That(called.GetValueOrDefault("publish"), Is.Zero, "cmdstat_publish");
                Assert.That(writes, Is.Empty, "no write command of any kind (COMMAND INFO flags)");
                Assert.That(browsers.Select(b => b.Cookies.Keys.Count(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal))),
                    Has.All.InRange(1, 8), "each browser holds at most 8 pending-login cookies");
            });
        }
        finally
        {
            browsers.ForEach(b => b.Dispose());
        }
    }

    private static async Task<List<HttpStatusCode>> NavigateAsync(List<ForwardAuthClient> browsers, ForwardAuthInstance replica, int total)
    {
        var perBrowser = await Task.WhenAll(browsers.Select(async (browser, b) =>
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = b; i < total; i += browsers.Count)
            {
                using var response = await browser.AuthAsync(replica, "GET", "/page/" + i.ToString(CultureInfo.InvariantCulture) + "?q=1", ForwardAuthClient.Navigation);
                statuses.Add(response.StatusCode);
            }

            return statuses;
        }));
        return perBrowser.SelectMany(s => s).ToList();
    }

    private static async Task<List<string>> ScanAsync(RedisServer redis) => [.. await redis.KeysAsync("*")];

    /// <summary><c>INFO commandstats</c>: calls per command (subcommands as <c>command|sub</c>).</summary>
    private static async Task<Dictionary<string, long>> CommandStatsAsync(IDatabase admin)
    {
        var info = (string)(await admin.ExecuteAsync("INFO", "commandstats"))!;
        var stats = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("cmdstat_", StringComparison.Ordinal)))
        {
            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var calls = line.Split(':', 2)[1].Split(',').Single(p => p.StartsWith("calls=", StringComparison.Ordinal));
            stats[name] = long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
        }

        return stats;
    }

    /// <summary>Whether Redis flags the command as a write (<c>COMMAND INFO</c>), or it is PUBLISH.</summary>
    private static async Task<bool> IsWriteAsync(IDatabase admin, string command)
    {
        var name = command.Split('|')[0];
        if (name is "publish" or "spublish")
        {
            return true;
        }

        var info = (RedisResult[])(await admin.ExecuteAsync("COMMAND", "INFO", name))!;
        var flags = info.Length > 0 && !info[0].IsNull ? ((RedisResult[])((RedisResult[])info[0]!)[2]!).Select(f => (string)f!) : [];
        return flags.Contains("write");
    }
}
