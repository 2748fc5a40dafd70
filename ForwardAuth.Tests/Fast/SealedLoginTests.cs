using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// The pending login sealed in its binding cookie (PRODUCT.md §2, "a request without credentials writes nothing to the
/// shared store"): starting a login writes nothing; the callback opens the cookie of its state — refusing a tampered
/// one, one sealed by another deployment's key, an expired one, one of another login, a replayed one — and only then
/// writes the state's single-use marker.
/// </summary>
[TestFixture]
[Category("Fast")]
public class SealedLoginTests
{
    private const string OtherKey = "another-deployments-session-key-0123456789";

    [Test]
    public async Task AnonymousNavigations_MemoryMode_WriteNothingToTheStore()
    {
        await using var stack = await FastStack.StartAsync();
        var memory = stack.Services.GetRequiredService<MemoryCacheBackend>();

        for (var i = 0; i < 1000; i++)
        {
            var outcome = await stack.NavigateAsync("/page/" + i);
            Assert.That(outcome, Is.TypeOf<AuthOutcome.LoginRedirect>());
        }

        Assert.That(memory.Count, Is.Zero, "no pending-login record, marker or counter for an anonymous request");
        Assert.That(memory.Bytes, Is.Zero);
    }

    [Test]
    public async Task Callback_WritesOnlyTheStatesSingleUseMarker_ForWhatIsLeftOfTheLoginsLife()
    {
        await using var stack = await FastStack.StartAsync();
        var memory = stack.Services.GetRequiredService<MemoryCacheBackend>();
        var login = await stack.StartLoginAsync();
        stack.Time.Advance(TimeSpan.FromMinutes(4));

        var outcome = await stack.CallbackAsync(login, null, error: "access_denied");

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>());
        Assert.That(memory.Count, Is.EqualTo(1), "the state's marker and nothing else");
        Assert.That(memory.TimeToLive(StoreKeys.For(StoreKeys.Once, "state:" + login.State)), Is.EqualTo(TimeSpan.FromMinutes(6)));
    }

    [TestCase(0, Description = "envelope version")]
    [TestCase(3, Description = "key id")]
    [TestCase(10, Description = "nonce")]
    [TestCase(60, Description = "ciphertext")]
    [TestCase(-2, Description = "tag")]
    public async Task Callback_TamperedLoginCookie_RefusedAsAnUnknownStateAndTheLoginNotBurned(int position)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var value = login.Redirect.BindingValue;
        var index = position >= 0 ? position : value.Length + position;
        var tampered = value[..index] + (value[index] == 'A' ? 'B' : 'A') + value[(index + 1)..];

        var refused = await stack.CallbackAsync(login, Code(stack, login), login.Redirect.BindingCookieName + "=" + tampered);
        var genuine = await stack.CallbackAsync(login, Code(stack, login));

        AssertFailed(refused, "unknown_state", "this login has expired or was already used");
        Assert.That(genuine, Is.TypeOf<AuthOutcome.SignedIn>(), "a forged cookie does not spend the state");
    }

    [Test]
    public async Task Callback_LoginCookieOfAnotherDeploymentsKey_RefusedAsAnUnknownState()
    {
        await using var stack = await FastStack.StartAsync();
        await using var other = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", OtherKey));
        var foreign = await other.StartLoginAsync();

        var outcome = await stack.CallbackAsync(foreign, Code(stack, foreign));

        AssertFailed(outcome, "unknown_state", "this login has expired or was already used");
        Assert.That(stack.Provider.TokenRequests, Is.Empty);
    }

    [Test]
    public async Task Callback_LoginCookieOfTheOlderConfiguredKey_Completes()
    {
        await using var before = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", OtherKey));
        await using var rotated = await FastStack.StartAsync(("SESSION_ENCRYPTION_KEY", FastStack.EncryptionKey + "," + OtherKey));
        var login = await before.StartLoginAsync();

        var outcome = await rotated.CallbackAsync(login, Code(rotated, login));

        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedIn>(), "every configured key opens a login cookie (rotation mid-login)");
    }

    [TestCase(9 * 60 + 59, true)]
    [TestCase(10 * 60, true)]
    [TestCase(10 * 60 + 1, false)]
    [TestCase(60 * 60, false)]
    public async Task Callback_AgeOfTheLogin_AcceptedUpToTenMinutes(int seconds, bool accepted)
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        stack.Time.Advance(TimeSpan.FromSeconds(seconds));

        var outcome = await stack.CallbackAsync(login, Code(stack, login));

        if (accepted)
        {
            Assert.That(outcome, Is.TypeOf<AuthOutcome.SignedIn>());
        }
        else
        {
            AssertFailed(outcome, "unknown_state", "this login has expired or was already used");
        }
    }

    [Test]
    public async Task Callback_LoginCookieOfAnotherLoginUnderThisStatesName_OtherBrowserAndNothingWritten()
    {
        await using var stack = await FastStack.StartAsync();
        var memory = stack.Services.GetRequiredService<MemoryCacheBackend>();
        var victim = await stack.StartLoginAsync();
        var attacker = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(victim, Code(stack, victim), victim.Redirect.BindingCookieName + "=" + attacker.Redirect.BindingValue);

        AssertFailed(outcome, "other_browser", "this login was started in another browser");
        Assert.That(memory.Count, Is.Zero, "no marker: the victim's state is not spent");
    }

    [Test]
    public async Task Callback_Replayed_RefusedWithoutATokenRequestOrSession()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        Assert.That(await stack.CallbackAsync(login, Code(stack, login)), Is.TypeOf<AuthOutcome.SignedIn>());

        var replays = new List<AuthOutcome>();
        for (var i = 0; i < 3; i++)
        {
            stack.Time.Advance(TimeSpan.FromMinutes(1));
            replays.Add(await stack.CallbackAsync(login, Code(stack, login)));
        }

        Assert.Multiple(() =>
        {
            foreach (var replay in replays)
            {
                AssertFailed(replay, "state_replay", "this login was already used");
            }

            Assert.That(stack.Provider.TokenRequests, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task LoginCookieAndSessionCookie_NeverOpenAsEachOther()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();
        var session = await stack.SignInAsync();
        var other = await stack.StartLoginAsync();

        var loginAsSession = await stack.NavigateAsync("/", login.Redirect.BindingValue);
        var sessionAsLogin = await stack.CallbackAsync(other, Code(stack, other), other.Redirect.BindingCookieName + "=" + session);

        Assert.That(loginAsSession, Is.TypeOf<AuthOutcome.LoginRedirect>(), "a login cookie is no session");
        AssertFailed(sessionAsLogin, "unknown_state", "this login has expired or was already used");
    }

    [Test]
    public async Task LoginCookie_SmallAndCarriesNoSecretInTheClear()
    {
        await using var stack = await FastStack.StartAsync();

        var login = await stack.StartLoginAsync("/some/page?with=a&query=1");

        Assert.That(login.Redirect.BindingValue.Length, Is.LessThan(600), "a few hundred bytes");
        Assert.That(login.Redirect.BindingValue, Does.Not.Contain(login.Nonce).And.Not.Contain(login.State).And.Not.Contain("some/page"));
    }

    [Test]
    public async Task LoginCookie_OverlongReturnUrl_CookieStaysUnder1400BytesAndTheLoginReturnsToThePath()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync("/long/page?q=" + new string('x', 6000));

        var outcome = await stack.CallbackAsync(login, Code(stack, login));

        Assert.That(login.Redirect.BindingValue.Length, Is.LessThan(1400));
        Assert.That(((AuthOutcome.SignedIn)outcome).ReturnUrl, Is.EqualTo(FastStack.Origin + "/long/page"));
    }

    [Test]
    public async Task NewLogin_BrowserAlreadyHoldingTheMostPendingLogins_OldestExpired()
    {
        await using var stack = await FastStack.StartAsync();
        var held = new List<LoginAttempt>();
        for (var i = 0; i < PendingLoginCookies.Max; i++)
        {
            held.Add(await stack.StartLoginAsync());
            stack.Time.Advance(TimeSpan.FromSeconds(10));
        }

        var newest = held[^1];
        var tooFew = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/", null);
        var fewer = (AuthOutcome.LoginRedirect)await stack.Exchange.HandleAsync(
            Requests.Navigation("/", string.Join("; ", held.Skip(1).Select(l => l.BindingCookie))), PolicyRules.None, CancellationToken.None);
        var full = (AuthOutcome.LoginRedirect)await stack.Exchange.HandleAsync(
            Requests.Navigation("/", string.Join("; ", held.AsEnumerable().Reverse().Select(l => l.BindingCookie)) + "; other=1"), PolicyRules.None, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(tooFew.StaleBindingCookies, Is.Empty);
            Assert.That(fewer.StaleBindingCookies, Is.Empty, "below the bound nothing is expired");
            Assert.That(full.StaleBindingCookies, Is.EqualTo(new[] { held[0].Redirect.BindingCookieName }), "the oldest login goes");
            Assert.That(newest.Redirect.BindingCookieName, Is.Not.EqualTo(held[0].Redirect.BindingCookieName));
        });
    }

    [Test]
    public async Task NewLogin_UnreadableLoginCookiesBeyondTheBound_ExpiredBeforeLiveOnes()
    {
        await using var stack = await FastStack.StartAsync();
        var live = new List<LoginAttempt>();
        for (var i = 0; i < PendingLoginCookies.Max - 1; i++)
        {
            live.Add(await stack.StartLoginAsync());
        }

        var cookies = string.Join("; ", live.Select(l => l.BindingCookie)) + "; _forwardauth_login_0000000000000000=garbage; _forwardauth_login_1111111111111111=x";

        var outcome = (AuthOutcome.LoginRedirect)await stack.Exchange.HandleAsync(Requests.Navigation("/", cookies), PolicyRules.None, CancellationToken.None);

        Assert.That(outcome.StaleBindingCookies, Is.EquivalentTo(new[] { "_forwardauth_login_0000000000000000", "_forwardauth_login_1111111111111111" }));
    }

    [Test]
    public async Task CodeRefusedOnce_TheRestartedLoginExpiresTheSpentCookie()
    {
        await using var stack = await FastStack.StartAsync();
        var login = await stack.StartLoginAsync();

        var outcome = await stack.CallbackAsync(login, "never-issued");

        var restarted = (AuthOutcome.LoginRedirect)outcome;
        Assert.That(restarted.StaleBindingCookies, Is.EqualTo(new[] { login.Redirect.BindingCookieName }));
        Assert.That(restarted.BindingCookieName, Is.Not.EqualTo(login.Redirect.BindingCookieName));
    }

    private static string Code(FastStack stack, LoginAttempt login) =>
        stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken("alice", login.Nonce), stack.Provider.AccessToken("alice")));

    private static void AssertFailed(AuthOutcome outcome, string code, string reason)
    {
        Assert.That(outcome, Is.TypeOf<AuthOutcome.SignInFailed>(), outcome.ToString());
        var failed = (AuthOutcome.SignInFailed)outcome;
        Assert.That(failed.Status, Is.EqualTo(403));
        Assert.That(failed.Code, Is.EqualTo(code));
        Assert.That(failed.Reason, Is.EqualTo(reason));
    }
}
