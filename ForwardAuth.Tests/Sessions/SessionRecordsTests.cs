using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Sessions;

public class SessionRecordsTests
{
    private static ForwardAuthOptions Options()
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "https://id.example.com",
            ["CLIENT_ID"] = "c",
            ["CLIENT_SECRET"] = "s",
            ["SESSION_ENCRYPTION_KEY"] = "key-a-0123456789abcdef0123456789abcdef",
        };
        return ConfigurationLoader.Load([], n => env.GetValueOrDefault(n));
    }

    [Test]
    public async Task Load_RecordInTheFlatShapeOfEarlierVersions_DecidesWithItsIdentityAndTokens()
    {
        var options = Options();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new MemoryCacheBackend(clock);
        var store = SessionStores.Over(cache, options, clock);
        var now = clock.GetUtcNow();

        // A record as versions before the identity was one object wrote it (identity fields at the top level).
        const string handle = "handle-of-an-old-session-0123456789abcdef";
        var key = StoreKeys.For(StoreKeys.Session, handle);
        var flat = $$"""
            {"Subject":"sub-1","Identifier":"alice@example.com","Email":"alice@example.com","PreferredUsername":"alice",
             "Groups":["admins"],"ClaimValues":{"department":"ops"},"Sid":"sid-1",
             "IssuedAt":"{{now:O}}","ExpiresAt":"{{now.AddHours(8):O}}","AccessToken":"at","RefreshToken":"rt",
             "AccessTokenExpiresAt":"{{now.AddHours(1):O}}","TokensIssuedAt":"{{now:O}}"}
            """;
        var sealedRecord = new KeyRing(options.SessionEncryptionKeys, "store").Seal(Encoding.UTF8.GetBytes(flat), Encoding.ASCII.GetBytes(key));
        await cache.SetAsync(key, sealedRecord, TimeSpan.FromHours(8));
        var cookie = new SessionCookie(options).Seal(CookiePayload.For(
            handle, new UserIdentity("sub-1", "alice@example.com", null, null, ["admins"], new Dictionary<string, string>()), now, now.AddHours(8)));

        var session = await store.ResolveAsync(cookie, CancellationToken.None);

        Assert.That(session, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(session!.FromCookieOnly, Is.False, "the store's record decides, not the cookie");
            Assert.That(session.Record.Identity.Subject, Is.EqualTo("sub-1"));
            Assert.That(session.Record.Identity.Identifier, Is.EqualTo("alice@example.com"));
            Assert.That(session.Record.Identity.PreferredUsername, Is.EqualTo("alice"));
            Assert.That(session.Record.Identity.Groups, Is.EqualTo(new[] { "admins" }));
            Assert.That(session.Record.Identity.ClaimValues["department"], Is.EqualTo("ops"));
            Assert.That(session.Record.RefreshToken, Is.EqualTo("rt"), "tokens of the old record are kept: refresh keeps working");
            Assert.That(session.Record.Sid, Is.EqualTo("sid-1"));
        });
    }

    [Test]
    public async Task CreateThenResolve_IdentityRoundTripsThroughTheRecord()
    {
        var options = Options();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = SessionStores.Over(new MemoryCacheBackend(clock), options, clock);
        var identity = new UserIdentity("sub-2", "bob@example.com", "bob@example.com", "bob", ["dev", "ops"], new Dictionary<string, string> { ["team"] = "x" });
        var cookie = await store.CreateAsync(
            new SessionRecord { Identity = identity, IssuedAt = clock.GetUtcNow(), ExpiresAt = clock.GetUtcNow().AddHours(1) }, CancellationToken.None);

        var session = await store.ResolveAsync(cookie, CancellationToken.None);

        Assert.That(session!.Record.Identity, Is.EqualTo(identity).Using<UserIdentity>((a, b) =>
            a.Subject == b.Subject && a.Identifier == b.Identifier && a.Email == b.Email && a.PreferredUsername == b.PreferredUsername
            && a.Groups!.SequenceEqual(b.Groups!) && a.ClaimValues.SequenceEqual(b.ClaimValues)));
    }
}
