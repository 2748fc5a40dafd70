using System.Net;
using System.Security.Cryptography;
using System.Text;
using ForwardAuth.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// The authorization code flow under attack, on the real provider: a callback without, with a foreign, expired or
/// reused <c>state</c>; an ID token with another <c>nonce</c>; an authorization code replayed or injected into
/// another login; a code bound to another PKCE challenge; login CSRF with an attacker's callback; and many concurrent
/// sub-requests while a login is pending. None of them creates a session.
/// </summary>
[TestFixture]
public class OidcFlowTests
{
    private sealed record PendingLogin(string AuthorizeUrl, Dictionary<string, string> Query)
    {
        public string State => Query["state"];

        /// <summary>The authorize URL with some parameters replaced (as an attacker in the middle would).</summary>
        public string With(params (string Name, string? Value)[] changes)
        {
            var query = Query.ToDictionary(q => q.Key, q => (string?)q.Value);
            foreach (var (name, value) in changes)
            {
                query[name] = value;
            }

            var baseUrl = AuthorizeUrl[..AuthorizeUrl.IndexOf('?', StringComparison.Ordinal)];
            return QueryHelpers.AddQueryString(baseUrl, query.Where(q => q.Value is not null));
        }
    }

    private static async Task<PendingLogin> StartAsync(ForwardAuthClient client, string path = "/")
    {
        using var challenge = await client.AuthAsync(A, "GET", path, ForwardAuthClient.Navigation);
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var url = challenge.Headers.Location!.AbsoluteUri;
        return new PendingLogin(url, ForwardAuthClient.Query(new Uri(url).PathAndQuery));
    }

    /// <summary>The same browser's cookies on another connection (concurrent requests must not share one jar object).</summary>
    private static ForwardAuthClient CopyOf(ForwardAuthClient client)
    {
        var copy = new ForwardAuthClient(client.Host, client.Proto);
        foreach (var (name, value) in client.Cookies)
        {
            copy.Cookies[name] = value;
        }

        return copy;
    }

    private static string Param(string callback, string name) => ForwardAuthClient.Query(callback)[name];

    private static async Task AssertRefusedAsync(ForwardAuthClient client, HttpResponseMessage callback, string because)
    {
        Assert.That((int)callback.StatusCode, Is.AnyOf(400, 403), because);
        Assert.That(client.Cookies, Does.Not.ContainKey(SessionCookieName), because);
        using var after = await client.AuthAsync(B, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "still not logged in");
    }

    /// <summary>
    /// A code the provider refuses (<c>invalid_grant</c>) starts the login once more with a fresh state, because a
    /// voided code is usually a race of tabs: the answer is a redirect to the provider with a new state — never a
    /// session (a second refusal ends in 403: <c>Endpoints/ProviderAnswersTests</c>).
    /// </summary>
    private static async Task AssertRestartedNotSignedInAsync(ForwardAuthClient client, PendingLogin attacked, HttpResponseMessage callback, string because)
    {
        Assert.That(callback.StatusCode, Is.EqualTo(HttpStatusCode.Found), because);
        var location = callback.Headers.Location!.AbsoluteUri;
        Assert.That(location, Does.StartWith(attacked.AuthorizeUrl[..attacked.AuthorizeUrl.IndexOf('?', StringComparison.Ordinal)]), "the login starts again at the provider");
        Assert.That(ForwardAuthClient.Query(new Uri(location).PathAndQuery)["state"], Is.Not.EqualTo(attacked.State), "with a fresh state");
        Assert.That(client.Cookies, Does.Not.ContainKey(SessionCookieName), because);
        using var after = await client.AuthAsync(B, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Found), "still not logged in");
    }

    [TestCase("?code=abc")]
    [TestCase("?state=&code=abc")]
    [TestCase("?state=%20&code=abc")]
    [TestCase("?code=abc&state")]
    public async Task Callback_StateMissing_400NoSession(string query)
    {
        using var client = new ForwardAuthClient();
        await StartAsync(client);

        using var callback = await client.AuthAsync(B, "GET", "/oauth2/callback" + query, ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "no state");
    }

    [Test]
    public async Task Callback_StateRepeatedWithTwoValues_TreatedAsMissing()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");

        using var callback = await client.AuthAsync(B, "GET", callbackUri + "&state=another", ForwardAuthClient.Navigation);
        using var legit = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        Assert.That((int)callback.StatusCode, Is.EqualTo(400), "ambiguous: neither value is picked");
        Assert.That(legit.StatusCode, Is.EqualTo(HttpStatusCode.Found), "and the real login was not burnt");
    }

    [TestCase(201)]
    [TestCase(5000)]
    public async Task Callback_StateOverlong_400(int length)
    {
        using var client = new ForwardAuthClient();

        using var callback = await client.AuthAsync(B, "GET", "/oauth2/callback?code=abc&state=" + new string('s', length), ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "overlong state");
    }

    [Test]
    public async Task Callback_UnknownState_403()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");

        using var callback = await client.AuthAsync(B, "GET", callbackUri.Replace(login.State, Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)), StringComparison.Ordinal), ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "unknown state");
    }

    [Test]
    public async Task Callback_StateInAnotherCase_403()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");
        var flipped = new string(login.State.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());

        using var callback = await client.AuthAsync(B, "GET", callbackUri.Replace(login.State, flipped, StringComparison.Ordinal), ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "state is exact");
    }

    [Test]
    public async Task Callback_LoginCookieGone_403()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");
        Assert.That(await Redis.KeysAsync("fa-test:login:*"), Is.Empty, "the pending login is in no store record");
        var binding = client.Cookies.Keys.Single(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal));
        Assert.That(client.Cookies.TryRemove(binding, out _), Is.True, "the browser dropped the 10-minute login cookie");

        using var callback = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "the 10-minute login cookie is gone");
    }

    [Test]
    public async Task Callback_LoginCookieTampered_403AndTheStateNotSpent()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");
        var binding = client.Cookies.Keys.Single(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal));
        var genuine = client.Cookies[binding];
        client.Cookies[binding] = genuine[..40] + (genuine[40] == 'A' ? 'B' : 'A') + genuine[41..];

        using var callback = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);
        var page = await callback.Content.ReadAsStringAsync();
        client.Cookies[binding] = genuine;
        using var legit = await client.AuthAsync(A, "GET", callbackUri, ForwardAuthClient.Navigation);

        Assert.That((int)callback.StatusCode, Is.EqualTo(403));
        Assert.That(page, Does.Contain("this login has expired or was already used"), "as a state nobody issued");
        Assert.That(legit.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the genuine cookie still completes the login");
        Assert.That(client.Cookies, Does.ContainKey(SessionCookieName));
    }

    [Test]
    public async Task Callback_StateOfOneTabWithTheCodeOfAnother_CodeInjectionRefusedLoginRestarted()
    {
        using var client = new ForwardAuthClient();
        var first = await StartAsync(client, "/tab1");
        var second = await StartAsync(client, "/tab2");
        var firstCallback = await client.ProviderRoundTripAsync(first.AuthorizeUrl, "alice");
        var secondCallback = await client.ProviderRoundTripAsync(second.AuthorizeUrl, "alice");

        // The second login's state (and binding cookie) with the first login's code: bound to another PKCE challenge.
        using var swapped = await client.AuthAsync(B, "GET", $"/oauth2/callback?code={Param(firstCallback, "code")}&state={second.State}", ForwardAuthClient.Navigation);

        await AssertRestartedNotSignedInAsync(client, second, swapped, "the code belongs to another login");
        Assert.That(secondCallback, Does.Contain(second.State));
    }

    [Test]
    public async Task Callback_ReusedAfterAProviderError_StateWasSpent()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");

        using var error = await client.AuthAsync(B, "GET", $"/oauth2/callback?error=access_denied&state={login.State}", ForwardAuthClient.Navigation);
        var binding = client.Cookies.Where(c => c.Key.StartsWith("_forwardauth_login_", StringComparison.Ordinal)).ToList();
        using var retry = await client.AuthAsync(A, "GET", callbackUri, ForwardAuthClient.Navigation);

        Assert.That((int)error.StatusCode, Is.EqualTo(403));
        Assert.That(binding, Is.Empty, "the binding cookie is cleared with the failure");
        await AssertRefusedAsync(client, retry, "a state is spent by its first callback, whatever came of it");
    }

    [TestCase("<script>alert(1)</script>")]
    [TestCase("x\r\nSet-Cookie: pwned=1")]
    public async Task Callback_ProviderErrorText_EscapedInThePage(string error)
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);

        using var callback = await client.AuthAsync(B, "GET", $"/oauth2/callback?error={Uri.EscapeDataString(error)}&state={login.State}", ForwardAuthClient.Navigation);
        var page = await callback.Content.ReadAsStringAsync();

        Assert.That((int)callback.StatusCode, Is.EqualTo(403));
        Assert.That(page, Does.Not.Contain("<script>").And.Not.Contain("\r\nSet-Cookie"));
        Assert.That(callback.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], Has.None.Contain("pwned"));
    }

    [TestCase("attacker-nonce")]
    [TestCase(null)]
    public async Task Callback_IdTokenWithAnotherNonce_403NoSession(string? nonce)
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);

        var callbackUri = await client.ProviderRoundTripAsync(login.With(("nonce", nonce)), "alice");
        Assert.That(Param(callbackUri, "code"), Is.Not.Empty, "the provider issued a code: the refusal is ForwardAuth's");
        using var callback = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        await AssertRefusedAsync(client, callback, "the ID token's nonce is not the login's");
        Assert.That(await callback.Content.ReadAsStringAsync(), Does.Contain("nonce"));
    }

    [Test]
    public async Task Callback_CodeBoundToAnotherPkceChallenge_LoginRestartedNoSession()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var attackerVerifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var attackerChallenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(attackerVerifier)));

        var callbackUri = await client.ProviderRoundTripAsync(login.With(("code_challenge", attackerChallenge)), "alice");
        Assert.That(Param(callbackUri, "code"), Is.Not.Empty, "the provider issued a code for the attacker's challenge");
        using var callback = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        await AssertRestartedNotSignedInAsync(client, login, callback, "ForwardAuth's verifier does not match the code's challenge");
    }

    [Test]
    public async Task Callback_CodeReplayedInANewLogin_LoginRestartedNoSession()
    {
        using var client = new ForwardAuthClient();
        var first = await StartAsync(client, "/first");
        var firstCallback = await client.ProviderRoundTripAsync(first.AuthorizeUrl, "alice");
        using var done = await client.AuthAsync(B, "GET", firstCallback, ForwardAuthClient.Navigation);
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        client.Cookies.TryRemove(SessionCookieName, out _);
        var second = await StartAsync(client, "/second");

        using var replay = await client.AuthAsync(A, "GET", $"/oauth2/callback?code={Param(firstCallback, "code")}&state={second.State}", ForwardAuthClient.Navigation);

        await AssertRestartedNotSignedInAsync(client, second, replay, "an authorization code is redeemed once");
    }

    [Test]
    public async Task Callback_AttackersOwnCallbackInTheVictimsBrowser_LoginCsrfRefused()
    {
        using var attacker = new ForwardAuthClient();
        var login = await StartAsync(attacker);
        var attackersCallback = await attacker.ProviderRoundTripAsync(login.AuthorizeUrl, "mallory");
        using var victim = new ForwardAuthClient();

        using var callback = await victim.AuthAsync(B, "GET", attackersCallback, ForwardAuthClient.Navigation);

        await AssertRefusedAsync(victim, callback, "the victim's browser did not start that login");
    }

    [Test]
    public async Task Callback_OnAnotherHost_RefusedWithoutThatHostsBindingCookie()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client);
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");
        using var otherHost = new ForwardAuthClient("other.test");

        using var callback = await otherHost.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        await AssertRefusedAsync(otherHost, callback, "cookies are per host: the binding cookie does not follow");
    }

    [Test]
    public async Task ConcurrentNavigations_DuringLogin_EachGetsItsOwnLoginAndAnyCanFinish()
    {
        using var client = new ForwardAuthClient();
        var paths = Enumerable.Range(0, 20).Select(i => $"/frame/{i}").ToList();

        // One browser, many frames at once: each request on its own connection; the cookies they set land in one jar.
        var frames = paths.Select(_ => new ForwardAuthClient()).ToList();
        var logins = await Task.WhenAll(paths.Select((p, i) => StartAsync(frames[i], p)));
        foreach (var (name, value) in frames.SelectMany(f => f.Cookies))
        {
            client.Cookies[name] = value;
        }

        frames.ForEach(f => f.Dispose());
        var bindings = client.Cookies.Keys.Where(k => k.StartsWith("_forwardauth_login_", StringComparison.Ordinal)).ToList();
        var picked = new[] { 17, 3, 11 };
        var callbacks = new List<string>();
        foreach (var i in picked)
        {
            callbacks.Add(await client.ProviderRoundTripAsync(logins[i].AuthorizeUrl, "alice"));
        }

        var done = await Task.WhenAll(callbacks.Select((c, i) => CopyOf(client).AuthAsync(i % 2 == 0 ? A : B, "GET", c, ForwardAuthClient.Navigation)));

        Assert.Multiple(() =>
        {
            Assert.That(logins.Select(l => l.State).Distinct().Count(), Is.EqualTo(20), "one state per navigation");
            Assert.That(logins.Select(l => l.Query["nonce"]).Distinct().Count(), Is.EqualTo(20), "one nonce per navigation");
            Assert.That(logins.Select(l => l.Query["code_challenge"]).Distinct().Count(), Is.EqualTo(20), "one PKCE pair per navigation");
            Assert.That(bindings, Has.Count.EqualTo(20), "one binding cookie per login: none overwrites another");
            Assert.That(done.Select(d => d.Headers.Location!.AbsolutePath), Is.EqualTo(picked.Select(i => paths[i])));
        });
    }

    [Test]
    public async Task ConcurrentXhrSubRequests_DuringLogin_401AndNoLoginRecords()
    {
        using var client = new ForwardAuthClient();
        await StartAsync(client, "/app");
        var before = (await Redis.KeysAsync("fa-test:login:*")).Count;

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            client.AuthAsync(i % 2 == 0 ? A : B, "GET", $"/api/items/{i}", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"))));

        Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await Redis.KeysAsync("fa-test:login:*")).Count, Is.EqualTo(before), "API calls start no login: no store writes to flood");
    }

    [Test]
    public async Task ConcurrentSubRequests_RightAfterTheCallback_AllInOnBothReplicas()
    {
        using var client = new ForwardAuthClient();
        var login = await StartAsync(client, "/app");
        var callbackUri = await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice");
        using var done = await client.AuthAsync(B, "GET", callbackUri, ForwardAuthClient.Navigation);

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            client.AuthAsync(i % 2 == 0 ? A : B, "GET", $"/asset/{i}.js", r => r.Headers.Add("Sec-Fetch-Mode", "no-cors"))));

        Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(responses.Select(r => r.Headers.GetValues("X-Forwarded-User").Single()), Is.All.EqualTo("alice@example.com"));
    }

    [Test]
    public async Task ConcurrentCallbacksOfOneBrowsersLogins_EachANewSession()
    {
        using var client = new ForwardAuthClient();
        var logins = new List<PendingLogin>();
        for (var i = 0; i < 4; i++)
        {
            logins.Add(await StartAsync(client, $"/t{i}"));
        }

        var callbacks = new List<string>();
        foreach (var login in logins)
        {
            callbacks.Add(await client.ProviderRoundTripAsync(login.AuthorizeUrl, "alice"));
        }

        var done = await Task.WhenAll(callbacks.Select((c, i) => CopyOf(client).AuthAsync(i % 2 == 0 ? A : B, "GET", c, ForwardAuthClient.Navigation)));
        var cookies = done.Select(d => d.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(SessionCookieName + "=", StringComparison.Ordinal))).ToList();

        Assert.That(done.Select(d => d.StatusCode), Is.All.EqualTo(HttpStatusCode.Found));
        Assert.That(cookies.Distinct().Count(), Is.EqualTo(4), "every completed login is its own session");
    }
}
