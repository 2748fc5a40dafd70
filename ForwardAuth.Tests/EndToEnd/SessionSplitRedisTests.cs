using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// The split session record against real Redis and the dev provider (its RS256 ID token, JWT access token and refresh
/// token): a login writes a hot record ≤ 512 bytes and a token record; a decision in redis mode reads the hot key only
/// (Redis's own LFU access counter, <c>OBJECT FREQ</c>, with <c>lfu-log-factor 0</c>: every access counts); refresh and
/// logout read the token record and work — for a session in the earlier one-record shape too.
/// </summary>
[NonParallelizable]
public class SessionSplitRedisTests
{
    private const string Prefix = "fa-test:";

    [Test]
    public async Task Login_HotAndTokenRecords_DecisionReadsOnlyTheHotKey_RefreshAndLogoutWork()
    {
        await using var redis = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0");
        await using var provider = await StartProviderAsync();
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(provider, redis, "redis"));
        var admin = await redis.AdminAsync();
        using var client = new ForwardAuthClient();

        using (var login = await client.LoginAsync(replica, replica, "/", "split-user"))
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }

        var hash = (await redis.KeysAsync(Prefix + "session:*")).Single()[(Prefix + "session:").Length..];
        var hotKey = Prefix + "session:" + hash;
        var tokensKey = Prefix + "tokens:" + hash;
        var hotBytes = (long)await admin.ExecuteAsync("STRLEN", hotKey);
        var tokenBytes = (long)await admin.ExecuteAsync("STRLEN", tokensKey);
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"hot record {hotBytes} B, token record {tokenBytes} B (sealed, dev provider tokens)"));
        Assert.That(hotBytes, Is.InRange(1, 512), "the hot record, sealed");
        Assert.That(tokenBytes, Is.GreaterThan(0), "the refresh and ID tokens are kept (the access token is not forwarded)");
        var kept = Opened(await admin.StringGetAsync(tokensKey), "tokens:" + hash);
        Assert.That(kept.TryGetProperty("rt", out _) && kept.TryGetProperty("id", out _) && !kept.TryGetProperty("at", out _), Is.True, "refresh and ID token, no access token");

        var (hotBefore, tokensBefore) = (await FreqAsync(admin, hotKey), await FreqAsync(admin, tokensKey));
        for (var i = 0; i < 10; i++)
        {
            using var allowed = await client.AuthAsync(replica, "GET", "/page", ForwardAuthClient.Navigation);
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(await FreqAsync(admin, hotKey), Is.GreaterThanOrEqualTo(hotBefore + 10), "every decision read the hot record");
        Assert.That(await FreqAsync(admin, tokensKey), Is.EqualTo(tokensBefore), "no decision read the token record");

        var refreshToken = kept.GetProperty("rt").GetString();
        await RefreshedAsync(client, replica, provider);
        Assert.That(Opened(await admin.StringGetAsync(tokensKey), "tokens:" + hash).GetProperty("rt").GetString(), Is.Not.EqualTo(refreshToken),
            "the rotated refresh token is in the token record");

        await LogOutAsync(client, replica, provider, redis, hash);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task HybridMode_TokenRecordInL1OnlyWhenADecisionForwardsAToken(bool forwarded)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var provider = await StartProviderAsync();
        var settings = ForwardAuthSettings.For(provider, redis, "hybrid");
        settings["PASS_AUTHORIZATION_HEADER"] = forwarded ? "true" : "false";
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        var hybrid = replica.Services.GetRequiredService<HybridCacheBackend>();
        await hybrid.Ready;
        using var client = new ForwardAuthClient();
        using (var login = await client.LoginAsync(replica, replica, "/", "hybrid-user"))
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }

        using (var allowed = await client.AuthAsync(replica, "GET", "/page", ForwardAuthClient.Navigation))
        {
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(allowed.Headers.Contains("Authorization"), Is.EqualTo(forwarded));
        }

        var hash = (await redis.KeysAsync(Prefix + "session:*")).Single()[(Prefix + "session:").Length..];
        Assert.That(await hybrid.Local.GetAsync("session:" + hash), Is.Not.Null, "the hot record is in L1");
        Assert.That(await hybrid.Local.GetAsync("tokens:" + hash) is not null, Is.EqualTo(forwarded),
            forwarded ? "read by every decision: in L1 like the hot record" : "read by refresh and logout only: never in L1");
        Assert.That(await redis.KeysAsync(Prefix + "tokens:" + hash), Has.Count.EqualTo(1), "in Redis either way");
    }

    [Test]
    public async Task OldShapeRecord_InRedis_Decides_IsRewrittenSplit_RefreshesAndLogsOut()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var provider = await StartProviderAsync();
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(provider, redis, "redis"));
        var admin = await redis.AdminAsync();
        using var client = new ForwardAuthClient();
        using (var login = await client.LoginAsync(replica, replica, "/", "old-shape-user"))
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }

        // The session as versions before the split stored it: one record, SessionRecord's JSON (the names it has
        // today), the provider's real tokens inside, sealed as today; no token record.
        var hash = (await redis.KeysAsync(Prefix + "session:*")).Single()[(Prefix + "session:").Length..];
        var hot = Opened(await admin.StringGetAsync(Prefix + "session:" + hash), "session:" + hash);
        var tokens = Opened(await admin.StringGetAsync(Prefix + "tokens:" + hash), "tokens:" + hash);
        var json = OldShape(hot, tokens);
        Assert.That(json, Does.StartWith("{\"Identity\":{\"Subject\":").And.Contain("\"RefreshToken\":"));
        var ring = new KeyRing(Options().SessionEncryptionKeys, "store");
        await admin.StringSetAsync(Prefix + "session:" + hash, ring.Seal(Encoding.UTF8.GetBytes(json), Encoding.ASCII.GetBytes("session:" + hash)), TimeSpan.FromHours(1));
        await admin.KeyDeleteAsync(Prefix + "tokens:" + hash);

        using (var allowed = await client.AuthAsync(replica, "GET", "/page", ForwardAuthClient.Navigation))
        {
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the old-shape record decides");
        }

        Assert.That(Encoding.UTF8.GetString(Open(await admin.StringGetAsync(Prefix + "session:" + hash), "session:" + hash)), Does.StartWith("{\"v\":2,"),
            "rewritten as a hot record");
        Assert.That(Opened(await admin.StringGetAsync(Prefix + "tokens:" + hash), "tokens:" + hash).GetProperty("rt").GetString(),
            Is.EqualTo(tokens.GetProperty("rt").GetString()), "its refresh token moved to a token record");

        await RefreshedAsync(client, replica, provider);
        await LogOutAsync(client, replica, provider, redis, hash);
    }

    private static Task<OidcProvider> StartProviderAsync() => OidcProvider.StartAsync(new OidcProvider.Settings
    {
        AutoLogin = "hint", RedirectUris = ["http://app.test/oauth2/callback"], AccessTokenTtl = 4, IdTokenTtl = 4, RotateRefreshTokens = true,
    });

    // The tokens come due within seconds (4 s lifetimes): decisions go on being allowed until a refresh happened.
    private static async Task RefreshedAsync(ForwardAuthClient client, ForwardAuthInstance replica, OidcProvider provider) =>
        Assert.That(
            await client.AuthUntilRefreshedAsync(replica, "/page", provider, TimeSpan.FromSeconds(15), "a refresh with the refresh token from the token record"),
            Is.All.EqualTo(HttpStatusCode.OK));

    private static async Task LogOutAsync(ForwardAuthClient client, ForwardAuthInstance replica, OidcProvider provider, RedisServer redis, string hash)
    {
        var revocations = await provider.RevocationCountAsync();
        using (var logout = await client.AuthAsync(replica, "GET", "/oauth2/logout", ForwardAuthClient.Navigation))
        {
            Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(logout.Headers.Location!.ToString(), Does.Contain("id_token_hint="), "the ID token from the token record");
        }

        Assert.That(await provider.RevocationCountAsync(), Is.GreaterThan(revocations), "the refresh token from the token record, revoked");
        Assert.That(await redis.KeysAsync(Prefix + "session:" + hash), Is.Empty);
        Assert.That(await redis.KeysAsync(Prefix + "tokens:" + hash), Is.Empty);
        using var after = await client.AuthAsync(replica, "GET", "/page", ForwardAuthClient.Navigation);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "logged out: sent to log in");
    }

    private static async Task<long> FreqAsync(IDatabase admin, string key) => (long)await admin.ExecuteAsync("OBJECT", "FREQ", key);

    private static ForwardAuthOptions Options() => ConfigurationLoader.Load([], n => ForwardAuthSettings.For("http://localhost", "c", "s").GetValueOrDefault(n));

    private static byte[] Open(RedisValue value, string key)
    {
        Assert.That(new KeyRing(Options().SessionEncryptionKeys, "store").TryOpen((byte[])value!, Encoding.ASCII.GetBytes(key), out var json, out _), Is.True, key);
        return json;
    }

    private static JsonElement Opened(RedisValue value, string key) => JsonDocument.Parse(Open(value, key)).RootElement.Clone();

    // The hot and token records as one SessionRecord in the earlier shape.
    private static string OldShape(JsonElement hot, JsonElement tokens)
    {
        var record = JsonSerializer.Deserialize(hot.GetRawText(), SessionJsonContext.Default.HotRecord)!.ToRecord() with
        {
            IdToken = tokens.GetProperty("id").GetString(),
            RefreshToken = tokens.GetProperty("rt").GetString(),
            TokensUnread = false,
        };
        return JsonSerializer.Serialize(record, SessionJsonContext.Default.SessionRecord);
    }
}
