using ForwardAuth.Auth;
using ForwardAuth.Endpoints;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Step-up per route (PRODUCT.md §11): a forwardAuth address's <c>acr</c> and <c>maxAge</c>, decided for sessions and
/// bearer tokens on the fake clock — the redirect with <c>acr_values</c>/<c>max_age</c>, the RFC 9470 401, the step-up
/// login updating the same session, the 403 that bounds the loop when the provider does not satisfy it, old records.
/// </summary>
[TestFixture]
[Category("Fast")]
public class StepUpTests
{
    private static PolicyRules Route(string query) =>
        PolicyRules.TryFromQuery(new QueryCollection(QueryHelpers.ParseQuery(query)), out var error) ?? throw new InvalidOperationException(error);

    private static Action<Dictionary<string, object?>> Claims(string? acr, long? authTime) => c =>
    {
        if (acr is not null)
        {
            c["acr"] = acr;
        }

        if (authTime is not null)
        {
            c["auth_time"] = authTime;
        }
    };

    private static async Task<string> SignInAsync(FastStack stack, string? acr, long? authTime = null, string sub = "alice") =>
        await stack.SignInAsync(sub, login => new TokenSet(stack.Provider.IdToken(sub, login.Nonce, Claims(acr, authTime ?? stack.Provider.Now)), stack.Provider.AccessToken(sub)));

    /// <summary>The provider's answer to a step-up login, with the browser's binding cookie and its session cookie.</summary>
    private static Task<AuthOutcome> CompleteAsync(FastStack stack, AuthOutcome.LoginRedirect redirect, string? sessionCookie, string sub, string? acr, long? authTime)
    {
        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        var code = stack.Provider.IssueCode(new TokenSet(stack.Provider.IdToken(sub, nonce, Claims(acr, authTime)), stack.Provider.AccessToken(sub)));
        var cookies = redirect.BindingCookieName + "=" + redirect.BindingValue + (sessionCookie is null ? "" : "; " + stack.CookieHeader(sessionCookie));
        return stack.Exchange.HandleAsync(
            Requests.Navigation(stack.Options.CallbackPath + "?state=" + Uri.EscapeDataString(state) + "&code=" + Uri.EscapeDataString(code), cookies),
            PolicyRules.None,
            CancellationToken.None);
    }

    private static Dictionary<string, string> AuthorizeQuery(AuthOutcome outcome) =>
        QueryHelpers.ParseQuery(new Uri(((AuthOutcome.LoginRedirect)outcome).AuthorizeUrl).Query).ToDictionary(p => p.Key, p => p.Value.ToString());

    [TestCase("?acr=gold", "gold", null)]
    [TestCase("?acr=gold,platinum", "gold platinum", null)]
    [TestCase("?acr=gold&acr=platinum&maxAge=300", "gold platinum", 300L)]
    [TestCase("?maxAge=60&allowedRolesAndGroups=staff", "", 60L)]
    public void Rule_FromTheAddressQuery_Parsed(string query, string acr, long? maxAge)
    {
        var rules = Route(query);

        Assert.That(string.Join(' ', rules.StepUp.Acr), Is.EqualTo(acr));
        Assert.That(rules.StepUp.MaxAgeSeconds, Is.EqualTo(maxAge));
    }

    [TestCase("?acr=", "acr is empty")]
    [TestCase("?acr=,", "acr is empty")]
    [TestCase("?maxAge=-5", "maxAge must be")]
    [TestCase("?maxAge=abc", "maxAge must be")]
    [TestCase("?maxAge=", "maxAge must be")]
    [TestCase("?maxAge=0", "maxAge must be")]
    [TestCase("?maxAge=10&maxAge=20", "maxAge must be")]
    [TestCase("?acr=go%22ld", "quote")]
    public void Rule_Invalid_RefusedWithAReason(string query, string reason)
    {
        var rules = PolicyRules.TryFromQuery(new QueryCollection(QueryHelpers.ParseQuery(query)), out var error);

        Assert.That(rules, Is.Null);
        Assert.That(error, Does.Contain(reason));
    }

    [TestCase("gold", true)]
    [TestCase("platinum", true)]
    [TestCase("silver", false)]
    [TestCase(null, false)]
    public async Task Session_AcrListedOrNot_AllowedOrSentToTheProviderWithAcrValues(string? acr, bool allowed)
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, acr);

        var outcome = await stack.NavigateAsync("/admin", cookie, Route("?acr=gold,platinum"));

        if (allowed)
        {
            Assert.That(outcome, Is.InstanceOf<AuthOutcome.Allow>());
            return;
        }

        Assert.That(outcome, Is.InstanceOf<AuthOutcome.LoginRedirect>());
        var query = AuthorizeQuery(outcome);
        Assert.That(query["acr_values"], Is.EqualTo("gold platinum"));
        Assert.That(query, Does.Not.ContainKey("max_age"));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("challenge"));
    }

    [Test]
    public async Task NoSession_StrictRoute_TheFirstLoginAlreadyAsksForTheAcrAndMaxAge()
    {
        await using var stack = await FastStack.StartAsync();

        var outcome = await stack.NavigateAsync("/admin", route: Route("?acr=gold&maxAge=300"));

        var query = AuthorizeQuery(outcome);
        Assert.That(query["acr_values"], Is.EqualTo("gold"));
        Assert.That(query["max_age"], Is.EqualTo("300"));
        Assert.That(AuthorizeQuery(await stack.NavigateAsync("/")), Does.Not.ContainKey("acr_values"));
    }

    [Test]
    public async Task NoSession_StrictRoute_ProviderGivesAWeakerAcr_ForbiddenNotALoop()
    {
        await using var stack = await FastStack.StartAsync();
        var strict = Route("?acr=gold");
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/admin", route: strict);

        var signedIn = (AuthOutcome.SignedIn)await CompleteAsync(stack, redirect, null, "alice", "silver", stack.Provider.Now);

        Assert.That(((AuthOutcome.Deny)await stack.NavigateAsync("/admin", signedIn.SessionCookie, strict)).Reason, Does.StartWith("provider did not satisfy acr gold"));
        Assert.That(await stack.NavigateAsync("/", signedIn.SessionCookie), Is.InstanceOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Session_WithoutARule_UnaffectedByItsAcr()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, acr: null);

        Assert.That(await stack.NavigateAsync("/", cookie), Is.InstanceOf<AuthOutcome.Allow>());
    }

    [Test]
    public async Task Session_MaxAge_FreshAllowedStaleSentToTheProviderWithMaxAge()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");
        var route = Route("?maxAge=300");

        stack.Time.Advance(TimeSpan.FromSeconds(300));
        Assert.That(await stack.NavigateAsync("/pay", cookie, route), Is.InstanceOf<AuthOutcome.Allow>());

        stack.Time.Advance(TimeSpan.FromSeconds(1));
        var stale = await stack.NavigateAsync("/pay", cookie, route);
        Assert.That(AuthorizeQuery(stale)["max_age"], Is.EqualTo("300"));
        Assert.That(AuthorizeQuery(stale), Does.Not.ContainKey("acr_values"));
    }

    [Test]
    public async Task Session_ApiRequest_Rfc9470Challenge()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");

        var outcome = await stack.Exchange.HandleAsync(
            Requests.Api("/admin/api", stack.CookieHeader(cookie)), Route("?acr=gold&maxAge=300"), CancellationToken.None);

        var required = (AuthOutcome.StepUpRequired)outcome;
        Assert.That(required.AcrValues, Is.EqualTo(new[] { "gold" }));
        Assert.That(required.MaxAgeSeconds, Is.EqualTo(300));
        Assert.That(required.DecisionLabel, Is.EqualTo("unauthorized"));
        Assert.That(AuthAnswers.StepUpChallenge(required), Is.EqualTo(
            "Bearer realm=\"forwardauth\", error=\"insufficient_user_authentication\", " +
            "error_description=\"authentication with acr gold is required\", acr_values=\"gold\", max_age=\"300\""));
    }

    [Test]
    public async Task Nginx_DecisionWithoutRedirect_Rfc9470Challenge()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");

        var outcome = await stack.Exchange.DecideWithoutRedirectAsync(
            Requests.Navigation("/admin", stack.CookieHeader(cookie)), Route("?acr=gold"), CancellationToken.None);

        Assert.That(((AuthOutcome.StepUpRequired)outcome).AcrValues, Is.EqualTo(new[] { "gold" }));
    }

    [Test]
    public async Task Session_PolicyRefuses_ForbiddenBeforeAnyStepUp()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");

        var outcome = await stack.NavigateAsync("/admin", cookie, Route("?acr=gold&allowedRolesAndGroups=admins"));

        Assert.That(outcome, Is.InstanceOf<AuthOutcome.Deny>());
        Assert.That(((AuthOutcome.Deny)outcome).Reason, Is.Null);
    }

    [Test]
    public async Task StepUp_SameUser_SameSessionCarriesTheNewAcrOnEveryRoute()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");
        var strict = Route("?acr=gold");
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/admin", cookie, strict);

        var signedIn = (AuthOutcome.SignedIn)await CompleteAsync(stack, redirect, cookie, "alice", "gold", stack.Provider.Now);

        Assert.That(signedIn.ReturnUrl, Is.EqualTo(FastStack.Origin + "/admin"));
        var handle = stack.Services.GetRequiredService<SessionCookie>().TryOpen(cookie)!.Handle;
        Assert.That(stack.Services.GetRequiredService<SessionCookie>().TryOpen(signedIn.SessionCookie)!.Handle, Is.EqualTo(handle), "the same session");
        // The cookie the browser already held opens the stepped-up session: strict and normal routes.
        Assert.That(await stack.NavigateAsync("/admin", cookie, strict), Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(await stack.NavigateAsync("/admin", signedIn.SessionCookie, strict), Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(await stack.NavigateAsync("/", cookie), Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(stack.Logs.Lines.Any(l => l.EventId == 251), Is.True);
    }

    [Test]
    public async Task StepUp_MaxAge_NewAuthTimeOnTheSameSession()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, null);
        var route = Route("?maxAge=60");
        stack.Time.Advance(TimeSpan.FromMinutes(10));
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/pay", cookie, route);

        Assert.That(await CompleteAsync(stack, redirect, cookie, "alice", null, stack.Provider.Now), Is.InstanceOf<AuthOutcome.SignedIn>());

        Assert.That(await stack.NavigateAsync("/pay", cookie, route), Is.InstanceOf<AuthOutcome.Allow>());
        stack.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.That(await stack.NavigateAsync("/pay", cookie, route), Is.InstanceOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task StepUp_AnotherUser_NewSessionAndTheOldOneUntouched()
    {
        await using var stack = await FastStack.StartAsync();
        var aliceCookie = await SignInAsync(stack, "silver");
        var strict = Route("?acr=gold");
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/admin", aliceCookie, strict);

        var signedIn = (AuthOutcome.SignedIn)await CompleteAsync(stack, redirect, aliceCookie, "bob", "gold", stack.Provider.Now);

        var cookies = stack.Services.GetRequiredService<SessionCookie>();
        Assert.That(cookies.TryOpen(signedIn.SessionCookie)!.Handle, Is.Not.EqualTo(cookies.TryOpen(aliceCookie)!.Handle));
        Assert.That(((AuthOutcome.Allow)await stack.NavigateAsync("/admin", signedIn.SessionCookie, strict)).Identity!.Subject, Is.EqualTo("bob"));
        Assert.That(await stack.NavigateAsync("/admin", aliceCookie, strict), Is.InstanceOf<AuthOutcome.LoginRedirect>(), "alice's session still silver");
        Assert.That(((AuthOutcome.Allow)await stack.NavigateAsync("/", aliceCookie)).Identity!.Subject, Is.EqualTo("alice"));
    }

    [Test]
    public async Task StepUp_ProviderGivesAWeakerAcr_ForbiddenWithTheReasonNotAnotherRedirect()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, "silver");
        var strict = Route("?acr=gold");
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/admin", cookie, strict);

        Assert.That(await CompleteAsync(stack, redirect, cookie, "alice", "silver", stack.Provider.Now), Is.InstanceOf<AuthOutcome.SignedIn>());

        var denied = await stack.NavigateAsync("/admin", cookie, strict);
        Assert.That(denied, Is.InstanceOf<AuthOutcome.Deny>());
        Assert.That(((AuthOutcome.Deny)denied).Reason, Does.StartWith("provider did not satisfy acr gold"));
        Assert.That(stack.Logs.Lines.Any(l => l.EventId == 252), Is.True);
        // Other routes are unaffected, and a route asking for another acr still asks the provider.
        Assert.That(await stack.NavigateAsync("/", cookie), Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(await stack.NavigateAsync("/vault", cookie, Route("?acr=platinum")), Is.InstanceOf<AuthOutcome.LoginRedirect>());
        // The refusal holds for a while, then the route asks again.
        stack.Time.Advance(StepUpRefusal.Holds);
        Assert.That(await stack.NavigateAsync("/admin", cookie, strict), Is.InstanceOf<AuthOutcome.LoginRedirect>());
    }

    [Test]
    public async Task StepUp_ProviderIgnoresMaxAge_ForbiddenWithTheReason()
    {
        await using var stack = await FastStack.StartAsync();
        var loggedInAt = stack.Provider.Now;
        var cookie = await SignInAsync(stack, null, loggedInAt);
        var route = Route("?maxAge=60");
        stack.Time.Advance(TimeSpan.FromMinutes(10));
        var redirect = (AuthOutcome.LoginRedirect)await stack.NavigateAsync("/pay", cookie, route);

        await CompleteAsync(stack, redirect, cookie, "alice", null, loggedInAt);

        var denied = await stack.NavigateAsync("/pay", cookie, route);
        Assert.That(((AuthOutcome.Deny)denied).Reason, Does.StartWith("provider did not authenticate again within maxAge 60"));
    }

    [Test]
    public async Task OldRecord_NoAcrNoAuthTime_AcrAbsentAndAuthTimeIsTheCreationTime()
    {
        await using var stack = await FastStack.StartAsync();
        var now = stack.Time.GetUtcNow();
        var cookie = await stack.Sessions.CreateAsync(
            new SessionRecord { Identity = new UserIdentity("alice", "alice@example.com", "alice@example.com", null, ["staff"], new Dictionary<string, string>()), IssuedAt = now, ExpiresAt = now.AddHours(8), LastSeenAt = now },
            CancellationToken.None);

        Assert.That(await stack.NavigateAsync("/admin", cookie, Route("?acr=gold")), Is.InstanceOf<AuthOutcome.LoginRedirect>());
        stack.Time.Advance(TimeSpan.FromSeconds(60));
        Assert.That(await stack.NavigateAsync("/pay", cookie, Route("?maxAge=60")), Is.InstanceOf<AuthOutcome.Allow>());
        stack.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await stack.NavigateAsync("/pay", cookie, Route("?maxAge=60")), Is.InstanceOf<AuthOutcome.LoginRedirect>());
    }

    [TestCase("gold", true)]
    [TestCase("silver", false)]
    public async Task StoreLostTheRecord_TheSealedCookieCarriesAcrAndAuthTime(string acr, bool allowed)
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await SignInAsync(stack, acr);
        await stack.Cache.ClearAsync(CancellationToken.None);

        var outcome = await stack.NavigateAsync("/admin", cookie, Route("?acr=gold&maxAge=60"));

        Assert.That(outcome, allowed ? Is.InstanceOf<AuthOutcome.Allow>() : Is.InstanceOf<AuthOutcome.LoginRedirect>());
        Assert.That(outcome.Note!.Source, Does.StartWith("sealed cookie adopted"));
    }

    [Test]
    public async Task Login_ProviderSendsNoAuthTime_TheLoginTimeStandsIn()
    {
        await using var stack = await FastStack.StartAsync();
        var cookie = await stack.SignInAsync("alice");
        var route = Route("?maxAge=30");

        stack.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.That(await stack.NavigateAsync("/pay", cookie, route), Is.InstanceOf<AuthOutcome.Allow>());
        stack.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await stack.NavigateAsync("/pay", cookie, route), Is.InstanceOf<AuthOutcome.LoginRedirect>());
    }

    [TestCase("gold", 0, true)]
    [TestCase("silver", 0, false)]
    [TestCase(null, 0, false)]
    [TestCase("gold", 301, false)]
    [TestCase("gold", -1, false)]
    public async Task Bearer_JudgedByItsAcrAndAuthTime(string? acr, int authAgeSeconds, bool allowed)
    {
        await using var stack = await FastStack.StartAsync();
        var token = stack.Provider.AccessToken("alice", Claims(acr, authAgeSeconds < 0 ? null : stack.Provider.Now - authAgeSeconds));

        var outcome = await stack.BearerAsync(token, "/admin/api", Route("?acr=gold&maxAge=300"));

        if (allowed)
        {
            Assert.That(outcome, Is.InstanceOf<AuthOutcome.Allow>());
            return;
        }

        var required = (AuthOutcome.StepUpRequired)outcome;
        Assert.That(required.AcrValues, Is.EqualTo(new[] { "gold" }));
        Assert.That(required.MaxAgeSeconds, Is.EqualTo(300));
    }

    [TestCase("gold", 0, true)]
    [TestCase("silver", 0, false)]
    [TestCase(null, 0, false)]
    [TestCase("gold", 301, false)]
    [TestCase("gold", -1, false)]
    public async Task OpaqueBearer_JudgedByTheAcrAndAuthTimeOfItsIntrospection(string? acr, int authAgeSeconds, bool allowed)
    {
        await using var stack = await FastStack.StartAsync(("ALLOW_OPAQUE_TOKENS", "true"));
        var token = stack.Provider.OpaqueToken("alice", TimeSpan.FromHours(1), Claims(acr, authAgeSeconds < 0 ? null : stack.Provider.Now - authAgeSeconds));

        var outcome = await stack.BearerAsync(token, "/admin/api", Route("?acr=gold&maxAge=300"));

        Assert.That(outcome, allowed ? Is.InstanceOf<AuthOutcome.Allow>() : Is.InstanceOf<AuthOutcome.StepUpRequired>());
    }
}
