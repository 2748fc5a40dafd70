using System.Globalization;
using System.Text;
using System.Text.Json;
using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// A session is two records (docs/sessions.md#what-a-session-keeps): the hot record every decision reads (no token,
/// ≤ 512 bytes sealed) and the token record, holding only the tokens the configuration uses.
/// </summary>
[Category("Fast")]
public class SessionSplitTests
{
    private static readonly string[] TypicalGroups = ["admins", "developers", "staff", "on-call"];

    [Test]
    public async Task Login_DefaultSettings_HotRecordHoldsNoTokenAndTheTokenRecordOnlyTheRefreshAndIdTokens()
    {
        await using var stack = await FastStack.StartAsync();
        var tokens = (IdToken: "", AccessToken: stack.Provider.AccessToken("alice"), RefreshToken: "refresh-token-of-alice");
        var cookie = await stack.SignInAsync("alice", login =>
        {
            tokens.IdToken = stack.Provider.IdToken("alice", login.Nonce);
            return new TokenSet(tokens.IdToken, tokens.AccessToken, tokens.RefreshToken);
        });
        var handle = await HandleOfAsync(stack, cookie);

        var hot = (await OpenedAsync(stack, StoreKeys.Session, handle))!;
        var kept = JsonDocument.Parse((await OpenedAsync(stack, StoreKeys.Tokens, handle))!).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(hot, Does.StartWith("{\"v\":2,"), "the hot record's shape");
            Assert.That(hot, Does.Not.Contain(tokens.IdToken).And.Not.Contain(tokens.AccessToken).And.Not.Contain(tokens.RefreshToken), "no token in the hot record");
            Assert.That(kept.GetProperty("rt").GetString(), Is.EqualTo(tokens.RefreshToken), "refresh uses the refresh token");
            Assert.That(kept.GetProperty("id").GetString(), Is.EqualTo(tokens.IdToken), "logout sends it as id_token_hint to the end-session endpoint");
            Assert.That(kept.TryGetProperty("at", out _), Is.False, "the access token is never forwarded: not kept");
        });
    }

    [TestCase("PASS_AUTHORIZATION_HEADER", "true")]
    [TestCase("HEADERS", """[{"name":"X-Api-Token","value":"{{.AccessToken}}"}]""")]
    public async Task Login_AccessTokenForwarded_KeptAndForwardedByTheDecision(string setting, string value)
    {
        await using var stack = await FastStack.StartAsync((setting, value));
        var accessToken = stack.Provider.AccessToken("alice");
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), accessToken));

        var allow = (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie);

        Assert.That(allow.AccessToken, Is.EqualTo(accessToken), "the decision reads the token record when a token is forwarded");
        Assert.That((await stack.StoredAsync(cookie))!.AccessToken, Is.EqualTo(accessToken));
    }

    [Test]
    public async Task Login_ProviderWithoutEndSession_NoIdTokenKept_AndWithoutAnyUsedTokenNoTokenRecord()
    {
        await using var stack = await FastStack.StartAsync(FastStack.DefaultSettings(), provider => provider.NoEndSessionEndpoint = true);
        var cookie = await stack.SignInAsync("alice");
        var handle = await HandleOfAsync(stack, cookie);

        var allowed = await stack.NavigateAsync("/", cookie);
        var logout = await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(await stack.Cache.GetAsync(StoreKeys.For(StoreKeys.Tokens, handle)), Is.Null, "no refresh token, nothing forwarded, no id_token_hint: no token record");
            Assert.That(allowed, Is.TypeOf<AuthOutcome.Allow>());
            Assert.That(logout, Is.TypeOf<AuthOutcome.SignedOut>());
            Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.LoginRedirect>(), "logged out");
        });
    }

    [Test]
    public async Task Login_IdTokenTemplate_IdTokenKeptEvenWithoutEndSession()
    {
        await using var stack = await FastStack.StartAsync(
            new Dictionary<string, string>(FastStack.DefaultSettings()) { ["HEADERS"] = """[{"name":"X-Id-Token","value":"{{.IdToken}}"}]""" },
            provider => provider.NoEndSessionEndpoint = true);
        var idToken = "";
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(idToken = stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice")));

        var allow = (AuthOutcome.Allow)await stack.NavigateAsync("/", cookie);

        Assert.That(allow.IdToken, Is.EqualTo(idToken));
        Assert.That((await stack.StoredAsync(cookie))!.AccessToken, Is.Null, "the access token is not forwarded: not kept");
    }

    [Test]
    public async Task Login_SessionCheckWithoutRefreshToken_AccessTokenKeptForTheUserinfoCheck()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_CHECK_INTERVAL", "60"));
        var withoutRefresh = await stack.SignInAsync("alice");
        var withRefresh = await stack.SignInAsync("bob", login => new TokenSet(stack.Provider.IdToken("bob", login.Nonce), stack.Provider.AccessToken("bob"), "r-bob"));

        Assert.That((await stack.StoredAsync(withoutRefresh))!.AccessToken, Is.Not.Null, "the check is a userinfo call with it");
        Assert.That((await stack.StoredAsync(withRefresh))!.AccessToken, Is.Null, "the check is a refresh: the access token is not needed");
    }

    [Test]
    public async Task Decision_TokenRecordGone_StillDecidedFromTheHotRecord()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice"), "r1"));
        var handle = await HandleOfAsync(stack, cookie);

        await stack.Cache.DeleteAsync(StoreKeys.For(StoreKeys.Tokens, handle));

        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>(), "a decision needs no token");
    }

    [Test]
    public async Task Logout_DeletesBothRecords()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice", login => new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice"), "r1"));
        var handle = await HandleOfAsync(stack, cookie);
        Assert.That(await stack.Cache.GetAsync(StoreKeys.For(StoreKeys.Tokens, handle)), Is.Not.Null);

        await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.That(await stack.Cache.GetAsync(StoreKeys.For(StoreKeys.Session, handle)), Is.Null);
        Assert.That(await stack.Cache.GetAsync(StoreKeys.For(StoreKeys.Tokens, handle)), Is.Null);
        Assert.That(stack.Provider.RevokedTokens, Does.Contain("r1"), "the refresh token, read from the token record, revoked at the provider");
    }

    [Test]
    public async Task HotRecord_TypicalDevProviderUser_SealedAtMost512Bytes()
    {
        var now = new DateTimeOffset(2031, 3, 1, 9, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        await using var stack = await FastStack.StartAsync();
        var cache = new MemoryCacheBackend(new FakeTimeProvider(now));
        var records = new SessionRecords(cache, stack.Options, new FakeTimeProvider(now));
        var record = TypicalRecord(now);

        await records.WriteAsync("a-handle-of-43-characters-0123456789abcdefg", record, onlyIfAbsent: false, CancellationToken.None);
        var hot = (await cache.GetAsync(StoreKeys.For(StoreKeys.Session, "a-handle-of-43-characters-0123456789abcdefg")))!;
        var tokens = (await cache.GetAsync(StoreKeys.For(StoreKeys.Tokens, "a-handle-of-43-characters-0123456789abcdefg")))!;
        var oldShape = KeyRing.Overhead + JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SessionRecord).Length;

        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"hot record {hot.Length} B sealed, token record {tokens.Length} B sealed; the same session in the earlier one-record shape: {oldShape} B"));
        Assert.That(hot.Length, Is.LessThanOrEqualTo(512));
        Assert.That(hot.Length, Is.EqualTo(SessionRecords.SealedHotSize(record, SessionTokenKinds.Id | SessionTokenKinds.Refresh)));
    }

    [Test]
    public async Task HotRecord_RoundTripsEveryFieldExactly()
    {
        var now = new DateTimeOffset(2031, 3, 1, 9, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        await using var stack = await FastStack.StartAsync();
        var records = new SessionRecords(new MemoryCacheBackend(new FakeTimeProvider(now)), stack.Options, new FakeTimeProvider(now));
        var record = TypicalRecord(now) with { StepUpRefusal = new StepUpRefusal("provider did not satisfy acr gold", ["gold"], null, now) };

        await records.WriteAsync("handle", record, onlyIfAbsent: false, CancellationToken.None);
        var read = (await records.LoadAsync("handle", CancellationToken.None))!.Value;

        Assert.That(read.Outdated, Is.False);
        Assert.That(read.Record.TokensUnread, Is.True);
        Assert.That(read.Record.HasRefreshToken, Is.True);
        Assert.That(read.Record.HasAccessToken, Is.False, "not forwarded: not kept");
        var stored = read.Record with { TokensUnread = false, HeldTokens = SessionTokenKinds.None, IdToken = record.IdToken, AccessToken = record.AccessToken, RefreshToken = record.RefreshToken };
        Assert.That(JsonSerializer.Serialize(stored, SessionJsonContext.Default.SessionRecord), Is.EqualTo(JsonSerializer.Serialize(record, SessionJsonContext.Default.SessionRecord)));
    }

    [Test]
    public async Task KeyRotation_HotRecordReadUnderAnOlderKey_TokenRecordSealedAgainToo()
    {
        var clock = new FakeTimeProvider(FastStack.Start);
        var cache = new MemoryCacheBackend(clock);
        var cookie = await SessionStores.Over(cache, WithKeys("rotation-key-one-0123456789abcdef0123"), clock)
            .CreateAsync(TypicalRecord(clock.GetUtcNow()), CancellationToken.None);

        var rotated = await SessionStores.Over(cache, WithKeys("rotation-key-two-0123456789abcdef0123,rotation-key-one-0123456789abcdef0123"), clock)
            .ResolveAsync(cookie, CancellationToken.None);
        var onlyTheNewKey = await SessionStores.Over(cache, WithKeys("rotation-key-two-0123456789abcdef0123"), clock)
            .ReloadAsync(rotated!.Handle, CancellationToken.None);

        Assert.That(onlyTheNewKey, Is.Not.Null, "the hot record, sealed again under the new key");
        Assert.That(onlyTheNewKey!.RefreshToken, Is.EqualTo("eyJ-refresh-token"), "and its token record with it");
    }

    [Test]
    public async Task OldShapeRecord_Decides_ThenIsRewrittenAsHotAndTokenRecords()
    {
        await using var stack = await FastStack.StartAsync();
        var (cookie, handle, _) = await OldShapeSessionAsync(stack, "rt-old");

        var allowed = await stack.NavigateAsync("/", cookie);

        Assert.That(allowed, Is.TypeOf<AuthOutcome.Allow>());
        Assert.That(((AuthOutcome.Allow)allowed).Identity!.Groups, Is.EqualTo(TypicalGroups));
        Assert.That(await OpenedAsync(stack, StoreKeys.Session, handle), Does.StartWith("{\"v\":2,"), "rewritten in the hot shape");
        Assert.That(JsonDocument.Parse((await OpenedAsync(stack, StoreKeys.Tokens, handle))!).RootElement.GetProperty("rt").GetString(), Is.EqualTo("rt-old"));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>(), "and decides in its new shape");
    }

    [Test]
    public async Task OldShapeRecord_TokensDue_RefreshedWithItsRefreshToken()
    {
        await using var stack = await FastStack.StartAsync();
        var (cookie, _, _) = await OldShapeSessionAsync(stack, "rt-old");
        stack.Provider.OnRefresh("rt-old", () => new TokenSet(null, stack.Provider.AccessToken("alice"), "rt-new", 300));
        stack.Time.Advance(TimeSpan.FromSeconds(3590));

        var lookup = await stack.Refresher.GetFreshAsync(cookie, CancellationToken.None);

        Assert.That(lookup, Is.TypeOf<SessionLookup.Found>());
        Assert.That(stack.Provider.TokenRequests.Last()["refresh_token"], Is.EqualTo("rt-old"), "the old record's refresh token was used");
        Assert.That((await stack.StoredAsync(cookie))!.RefreshToken, Is.EqualTo("rt-new"), "the rotated token is in the token record");
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task OldShapeRecord_Logout_EndsItWithItsIdTokenHintAndRevokesItsRefreshToken()
    {
        await using var stack = await FastStack.StartAsync();
        var (cookie, _, idToken) = await OldShapeSessionAsync(stack, "rt-old");

        var logout = await stack.Exchange.HandleAsync(Requests.Navigation("/oauth2/logout", stack.CookieHeader(cookie)), PolicyRules.None, CancellationToken.None);

        Assert.That(((AuthOutcome.SignedOut)logout).RedirectUrl, Does.Contain("id_token_hint=" + idToken));
        Assert.That(stack.Provider.RevokedTokens, Does.Contain("rt-old"));
        Assert.That(await stack.NavigateAsync("/", cookie), Is.TypeOf<AuthOutcome.LoginRedirect>());
    }

    private static ForwardAuthOptions WithKeys(string keys)
    {
        var settings = FastStack.DefaultSettings();
        settings["SESSION_ENCRYPTION_KEY"] = keys;
        return ConfigurationLoader.Load([], settings.GetValueOrDefault);
    }

    private static SessionRecord TypicalRecord(DateTimeOffset now) => new()
    {
        // What the dev provider's login gives: a UUID sub, email, preferred_username, a few groups; its sid.
        Identity = new UserIdentity("3f6c2a9e-4b1d-4c8e-9a7f-2d5e8b1c0a94", "alice.anderson@example.com", "alice.anderson@example.com", "alice.anderson",
            TypicalGroups, new Dictionary<string, string>()),
        Sid = "9d2b7c4e-1a3f-4e6b-8c5d-7f0a2e9b4c61",
        IssuedAt = now,
        ExpiresAt = now.AddDays(1),
        IdToken = "eyJ-id-token",
        AccessToken = "eyJ-access-token",
        RefreshToken = "eyJ-refresh-token",
        AccessTokenExpiresAt = now.AddMinutes(5),
        IdTokenExpiresAt = now.AddMinutes(5),
        TokensIssuedAt = now,
        LastSeenAt = now,
        Browser = "Firefox on Linux",
        LoginAddress = "203.0.113.77",
        LoginId = "pX0c3uT2m9q1Zb7kLw4y8A",
        Acr = "urn:mace:incommon:iap:silver",
        AuthTime = now,
    };

    // A session stored as versions before the split stored it: one record in SessionRecord's JSON shape (the names
    // it has today), tokens inside, sealed with the store key as associated data; its cookie as today's.
    private static async Task<(string Cookie, string Handle, string IdToken)> OldShapeSessionAsync(FastStack stack, string refreshToken)
    {
        var now = stack.Time.GetUtcNow();
        var idToken = stack.Provider.IdToken("alice", null);
        var record = new SessionRecord
        {
            Identity = new UserIdentity("alice", "alice@example.com", "alice@example.com", "alice", TypicalGroups, new Dictionary<string, string>()),
            Sid = "sid-alice",
            IssuedAt = now,
            ExpiresAt = now.AddHours(8),
            IdToken = idToken,
            AccessToken = stack.Provider.AccessToken("alice"),
            RefreshToken = refreshToken,
            AccessTokenExpiresAt = now.AddHours(1),
            IdTokenExpiresAt = now.AddHours(1),
            TokensIssuedAt = now,
            LastSeenAt = now,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SessionRecord);
        Assert.That(Encoding.UTF8.GetString(json), Does.StartWith("{\"Identity\":{").And.Contain("\"RefreshToken\":\"" + refreshToken + "\""), "the earlier shape");
        const string handle = "an-old-session-handle-0123456789abcdefghij";
        var key = StoreKeys.For(StoreKeys.Session, handle);
        await stack.Cache.SetAsync(key, new KeyRing(stack.Options.SessionEncryptionKeys, "store").Seal(json, Encoding.ASCII.GetBytes(key)), TimeSpan.FromHours(8));
        var cookie = new SessionCookie(stack.Options).Seal(CookiePayload.For(handle, record.Identity, record.IssuedAt, record.ExpiresAt));
        return (cookie, handle, idToken);
    }

    private static async Task<string> HandleOfAsync(FastStack stack, string cookie) =>
        (await stack.Sessions.ResolveAsync(cookie, CancellationToken.None))!.Handle;

    private static async Task<string?> OpenedAsync(FastStack stack, string kind, string handle)
    {
        var key = StoreKeys.For(kind, handle);
        return await stack.Cache.GetAsync(key) is { } sealedValue
            && new KeyRing(stack.Options.SessionEncryptionKeys, "store").TryOpen(sealedValue, Encoding.ASCII.GetBytes(key), out var json, out _)
            ? Encoding.UTF8.GetString(json)
            : null;
    }
}
