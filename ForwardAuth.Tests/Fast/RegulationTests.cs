using ForwardAuth.Auth;
using ForwardAuth.Observability;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Regulation on the fake clock: invalid credentials counted per client address within <c>regulation.findTime</c>, the
/// ban, its <c>Retry-After</c> counting down, and what is never counted or never refused.
/// </summary>
[TestFixture]
[Category("Fast")]
public class RegulationTests
{
    private const string OtherClient = "198.51.100.20";

    [Test]
    public async Task ForgedBearers_TenWithinFindTime_EleventhRequestRefused429WithBanTime()
    {
        await using var stack = await FastStack.StartAsync();

        var refusals = await ForgedBearersAsync(stack, 10);
        var eleventh = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(refusals, Has.All.TypeOf<AuthOutcome.LoginRequired>(), "the failures themselves are answered as before");
        var banned = (AuthOutcome.TooManyAttempts)eleventh;
        Assert.That(banned.RetryAfterSeconds, Is.EqualTo(300), "even a valid token is not judged while the client is banned");
        Assert.That(banned.DecisionLabel, Is.EqualTo("too_many_attempts"));
        Assert.That(banned.Note!.Reason, Does.Contain(Requests.Client).And.Contain("banned by regulation"));
    }

    [Test]
    public async Task Ban_RetryAfterCountsDown_ThenTheClientIsJudgedAgain()
    {
        await using var stack = await FastStack.StartAsync();
        await ForgedBearersAsync(stack, 10);

        stack.Time.Advance(TimeSpan.FromSeconds(100));
        var after100 = (AuthOutcome.TooManyAttempts)await stack.BearerAsync(stack.Provider.AccessToken("bob"));
        stack.Time.Advance(TimeSpan.FromSeconds(199.5));
        var lastHalfSecond = (AuthOutcome.TooManyAttempts)await stack.BearerAsync(stack.Provider.AccessToken("bob"));
        stack.Time.Advance(TimeSpan.FromSeconds(0.5));
        var afterBan = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(after100.RetryAfterSeconds, Is.EqualTo(200));
        Assert.That(lastHalfSecond.RetryAfterSeconds, Is.EqualTo(1), "rounded up, never 0");
        Assert.That(afterBan, Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task AfterTheBan_CountingStartsAgainFromZero()
    {
        await using var stack = await FastStack.StartAsync();
        await ForgedBearersAsync(stack, 10);
        stack.Time.Advance(TimeSpan.FromSeconds(300));

        var nine = await ForgedBearersAsync(stack, 9);
        var next = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(nine, Has.All.TypeOf<AuthOutcome.LoginRequired>());
        Assert.That(next, Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task FailuresSpreadBeyondFindTime_NeverBan()
    {
        await using var stack = await FastStack.StartAsync();

        await ForgedBearersAsync(stack, 9);
        stack.Time.Advance(TimeSpan.FromSeconds(61));
        await ForgedBearersAsync(stack, 9);
        var allowed = await stack.BearerAsync(stack.Provider.AccessToken("bob"));
        await ForgedBearersAsync(stack, 1);
        var banned = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(allowed, Is.TypeOf<AuthOutcome.Allow>(), "the window starts with the first failure and resets after findTime");
        Assert.That(banned, Is.TypeOf<AuthOutcome.TooManyAttempts>(), "ten within the second window");
    }

    [Test]
    public async Task ConfiguredLimits_AreUsed()
    {
        await using var stack = await FastStack.StartAsync(
            ("REGULATION_MAX_RETRIES", "3"), ("REGULATION_FIND_TIME", "10"), ("REGULATION_BAN_TIME", "42"));

        await ForgedBearersAsync(stack, 2);
        stack.Time.Advance(TimeSpan.FromSeconds(11));
        await ForgedBearersAsync(stack, 3);
        var banned = await stack.BearerAsync(stack.Provider.AccessToken("bob"));

        Assert.That(((AuthOutcome.TooManyAttempts)banned).RetryAfterSeconds, Is.EqualTo(42));
    }

    [TestCase("expired")]
    [TestCase("expired-long-ago")]
    [TestCase("not-yet-valid")]
    [TestCase("issued-in-future")]
    public async Task StaleTokens_NeverCounted(string forgery)
    {
        await using var stack = await FastStack.StartAsync();

        for (var i = 0; i < 25; i++)
        {
            Assert.That(await stack.BearerAsync(BearerTokenTests.Forge(stack.Provider, forgery)), Is.TypeOf<AuthOutcome.LoginRequired>());
        }

        Assert.That(await stack.BearerAsync(stack.Provider.AccessToken("bob")), Is.TypeOf<AuthOutcome.Allow>());
    }

    [TestCase("wrong-audience")]
    [TestCase("wrong-issuer")]
    [TestCase("unknown-key")]
    [TestCase("tampered-payload")]
    [TestCase("garbage")]
    [TestCase("id-token")]
    public async Task SignatureIssuerAudienceOrFormatFailures_Counted(string forgery)
    {
        await using var stack = await FastStack.StartAsync();

        for (var i = 0; i < 10; i++)
        {
            await stack.BearerAsync(BearerTokenTests.Forge(stack.Provider, forgery));
        }

        Assert.That(await stack.BearerAsync(stack.Provider.AccessToken("bob")), Is.TypeOf<AuthOutcome.TooManyAttempts>());
    }

    [Test]
    public async Task BannedClient_WithoutCredentials_StillSentToLoginOr401()
    {
        await using var stack = await FastStack.StartAsync();
        await ForgedBearersAsync(stack, 10);

        var browser = await stack.NavigateAsync("/page");
        var api = await stack.Exchange.HandleAsync(Requests.Api("/api"), PolicyRules.None, CancellationToken.None);
        var withForgedCookie = await stack.NavigateAsync("/page", "forged-cookie-value");

        Assert.That(browser, Is.TypeOf<AuthOutcome.LoginRedirect>());
        Assert.That(api, Is.TypeOf<AuthOutcome.LoginRequired>());
        Assert.That(withForgedCookie, Is.TypeOf<AuthOutcome.TooManyAttempts>(), "a cookie is a credential");
    }

    [Test]
    public async Task BannedClient_OtherClientsUnaffected()
    {
        await using var stack = await FastStack.StartAsync();
        await ForgedBearersAsync(stack, 10);

        var other = await stack.Exchange.HandleAsync(
            Requests.Api("/api", authorization: "Bearer " + stack.Provider.AccessToken("carol")) with { Client = OtherClient }, PolicyRules.None, CancellationToken.None);

        Assert.That(other, Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task MaxRetriesZero_DisablesRegulation()
    {
        await using var stack = await FastStack.StartAsync(("REGULATION_MAX_RETRIES", "0"));

        await ForgedBearersAsync(stack, 50);

        Assert.That(await stack.BearerAsync(stack.Provider.AccessToken("bob")), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task ForgedCookies_Counted()
    {
        await using var stack = await FastStack.StartAsync();
        var valid = await stack.SignInAsync("alice");

        for (var i = 0; i < 10; i++)
        {
            Assert.That(await stack.NavigateAsync("/", "forged-" + i), Is.TypeOf<AuthOutcome.LoginRedirect>());
        }

        Assert.That(await stack.NavigateAsync("/", valid), Is.TypeOf<AuthOutcome.TooManyAttempts>());
    }

    [Test]
    public async Task ExpiredSessionCookies_NeverCounted()
    {
        await using var stack = await FastStack.StartAsync(("SESSION_MAX_AGE", "3600"));
        var expired = await stack.SignInAsync("alice");
        stack.Time.Advance(TimeSpan.FromHours(2));
        var valid = await stack.SignInAsync("bob");

        for (var i = 0; i < 25; i++)
        {
            Assert.That(await stack.NavigateAsync("/", expired), Is.TypeOf<AuthOutcome.LoginRedirect>());
        }

        Assert.That(await stack.NavigateAsync("/", valid), Is.TypeOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task CallbacksWithUnknownState_Counted_ThenRefusedWithoutLookingAtTheState()
    {
        await using var stack = await FastStack.StartAsync();

        var failures = new List<AuthOutcome>();
        for (var i = 0; i < 10; i++)
        {
            failures.Add(await CallbackAsync(stack, "unknown-state-" + i));
        }

        var login = await stack.StartLoginAsync();
        var genuine = await stack.CallbackAsync(login, stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice"))));

        Assert.That(failures, Has.All.TypeOf<AuthOutcome.SignInFailed>());
        Assert.That(genuine, Is.TypeOf<AuthOutcome.TooManyAttempts>());
    }

    [Test]
    public async Task CallbacksWithAUsedState_Counted()
    {
        await using var stack = await FastStack.StartAsync(("REGULATION_MAX_RETRIES", "3"));
        var login = await stack.StartLoginAsync();
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice")));
        Assert.That(await stack.CallbackAsync(login, code), Is.TypeOf<AuthOutcome.SignedIn>());

        var replays = new List<AuthOutcome>();
        for (var i = 0; i < 3; i++)
        {
            replays.Add(await stack.CallbackAsync(login, code));
        }

        Assert.That(replays, Has.All.TypeOf<AuthOutcome.SignInFailed>());
        Assert.That(await stack.CallbackAsync(login, code), Is.TypeOf<AuthOutcome.TooManyAttempts>());
    }

    [Test]
    public async Task Metrics_CountFailuresByKindAndOneBan()
    {
        await using var stack = await FastStack.StartAsync(("REGULATION_MAX_RETRIES", "4"));
        var metrics = stack.Services.GetRequiredService<ForwardAuthMetrics>();

        await ForgedBearersAsync(stack, 2);
        await stack.NavigateAsync("/", "forged");
        await CallbackAsync(stack, "unknown-state");
        await ForgedBearersAsync(stack, 3);

        Assert.Multiple(() =>
        {
            Assert.That(metrics.RegulationFailures.WithLabels("bearer").Value, Is.EqualTo(2));
            Assert.That(metrics.RegulationFailures.WithLabels("cookie").Value, Is.EqualTo(1));
            Assert.That(metrics.RegulationFailures.WithLabels("state").Value, Is.EqualTo(1));
            Assert.That(metrics.RegulationBans.Value, Is.EqualTo(1));
            Assert.That(metrics.RegulationRefusals.Value, Is.EqualTo(3), "the three requests after the ban");
        });
    }

    private static async Task<List<AuthOutcome>> ForgedBearersAsync(FastStack stack, int count)
    {
        var outcomes = new List<AuthOutcome>();
        for (var i = 0; i < count; i++)
        {
            outcomes.Add(await stack.BearerAsync(BearerTokenTests.Forge(stack.Provider, "tampered-payload")));
        }

        return outcomes;
    }

    private static Task<AuthOutcome> CallbackAsync(FastStack stack, string state) =>
        stack.Exchange.HandleAsync(Requests.Navigation(stack.Options.CallbackPath + "?state=" + state + "&code=c"), PolicyRules.None, CancellationToken.None);
}
