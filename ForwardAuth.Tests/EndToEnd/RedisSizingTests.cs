using System.Globalization;
using System.Net;
using ForwardAuth.Tests.Support;
using StackExchange.Redis;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// docs/sizing.md's Redis figures, measured: N users log in through the real flow (the dev provider's RS256 ID token,
/// JWT access token and refresh token, as in the benchmark), and Redis's own accounting — <c>INFO memory</c>'s
/// <c>used_memory</c> delta and <c>MEMORY USAGE</c> of each key — says what one login costs. The page's numbers must
/// stay within a quarter of what this measures, and the keys of one login must be the ones the page lists.
/// </summary>
[NonParallelizable]
public class RedisSizingTests
{
    private const int Logins = 100;

    // What docs/sizing.md states (bytes), from this test's run on the benchmark machine.
    private const int DocumentedBytesPerLogin = 2300;
    private const int DocumentedSessionKeyBytes = 400;
    private const int DocumentedTokensKeyBytes = 1000;
    private const int DocumentedKeysPerLogin = 5;

    [Test]
    public async Task OneLogin_CostsWhatDocsSizingSays_InUsedMemoryAndPerKey()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = ["http://app.test/oauth2/callback"],
        });
        var settings = new Dictionary<string, string>(ForwardAuthSettings.For(provider, redis, "redis"))
        {
            ["AUDIENCE"] = ReplicaPair.ApiAudience,
            ["LOG_LEVEL"] = "warn",
        };
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        var admin = await redis.AdminAsync();

        await LogInAsync(replica, "warmup", 3); // connections, scripts and the first keys of each kind exist before measuring
        var before = await UsedMemoryAsync(admin);
        var keysBefore = (await redis.KeysAsync("fa-test:*")).Count;
        await LogInAsync(replica, "sized", Logins);
        var after = await UsedMemoryAsync(admin);

        var keys = await redis.KeysAsync("fa-test:*");
        var byKind = new Dictionary<string, (int Count, long Bytes)>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var kind = key.Split(':')[1];
            var usage = (long)(await admin.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0"));
            var (count, bytes) = byKind.GetValueOrDefault(kind);
            byKind[kind] = (count + 1, bytes + usage);
        }

        var perLogin = (after - before) / (double)Logins;
        var sessionKey = byKind["session"].Bytes / (double)byKind["session"].Count;
        var tokensKey = byKind["tokens"].Bytes / (double)byKind["tokens"].Count;
        var report = string.Join(", ", byKind.OrderBy(k => k.Key, StringComparer.Ordinal)
            .Select(k => $"{k.Key}: {k.Value.Count} keys, {k.Value.Bytes / k.Value.Count} B each"));
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"used_memory delta over {Logins} logins: {after - before} B = {perLogin:F0} B per login; MEMORY USAGE: {report}"));

        Assert.Multiple(() =>
        {
            Assert.That(keys.Count - keysBefore, Is.EqualTo(Logins * DocumentedKeysPerLogin), "the keys one login leaves");
            Assert.That(byKind.Keys, Is.EquivalentTo(new[] { "session", "tokens", "index", "once" }),
                "a login leaves its session's hot and token records, its index entry, the ID token's and the state's single-use markers; no login record");
            Assert.That(perLogin, Is.InRange(DocumentedBytesPerLogin * 0.75, DocumentedBytesPerLogin * 1.25), "docs/sizing.md's bytes per login");
            Assert.That(sessionKey, Is.InRange(DocumentedSessionKeyBytes * 0.75, DocumentedSessionKeyBytes * 1.25), "docs/sizing.md's session key size");
            Assert.That(tokensKey, Is.InRange(DocumentedTokensKeyBytes * 0.75, DocumentedTokensKeyBytes * 1.25), "docs/sizing.md's tokens key size");
        });
        var page = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "docs", "sizing.md"));
        Assert.That(page, Does.Contain(DocumentedBytesPerLogin.ToString("N0", CultureInfo.InvariantCulture) + " bytes per login"));
        Assert.That(page, Does.Contain(DocumentedSessionKeyBytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes"));
        Assert.That(page, Does.Contain(DocumentedTokensKeyBytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes"));
    }

    private static async Task LogInAsync(ForwardAuthInstance replica, string prefix, int users)
    {
        for (var i = 0; i < users; i++)
        {
            using var client = new ForwardAuthClient();
            using var login = await client.LoginAsync(replica, replica, "/", $"{prefix}{i}");
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found), $"{prefix}{i} logs in");
        }
    }

    private static async Task<long> UsedMemoryAsync(IDatabase admin)
    {
        var info = (string)(await admin.ExecuteAsync("INFO", "memory"))!;
        var line = info.Split('\n').Single(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return long.Parse(line["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
