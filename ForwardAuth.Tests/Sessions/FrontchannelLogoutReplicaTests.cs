using System.Net;
using System.Text;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Sessions;

/// <summary>
/// OIDC Front-Channel Logout 1.0 with real components: two replicas over one real Redis and the real dev provider
/// (its client registered with <c>*_session_required</c>, so its ID tokens carry <c>sid</c>). A session made by a login
/// through replica A ends on both replicas when the provider's iframe URL (<c>iss</c> + <c>sid</c>, no cookie) is loaded
/// from replica B. The ID token is read from the session's own <c>{{.IDToken}}</c> header to learn its <c>sid</c>,
/// never printed.
/// </summary>
[TestFixture]
[NonParallelizable]
public class FrontchannelLogoutReplicaTests
{
    private const string Path = "/oauth2/frontchannel-logout";

    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _a = null!;
    private ForwardAuthInstance _b = null!;
    private ForwardAuthInstance _disabled = null!;
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            RedirectUris = ["http://app.test/oauth2/callback"],
            PostLogoutRedirectUris = ["http://app.test/"],
            // Never called here: registering it makes the provider put `sid` into its ID tokens.
            BackchannelLogoutUri = "http://127.0.0.1:9/oauth2/backchannel-logout",
        });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["HEADERS"] = """[{"name":"X-Id-Token","value":"{{.IDToken}}"}]""";
        _disabled = await ForwardAuthInstance.StartInProcessAsync(settings);
        settings["ENABLE_FRONTCHANNEL_LOGOUT"] = "true";
        _a = await ForwardAuthInstance.StartInProcessAsync(settings);
        _b = await ForwardAuthInstance.StartInProcessAsync(settings);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _disabled.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Test]
    public async Task FrontchannelOnB_SessionFromLoginOnA_EndedOnBothReplicas()
    {
        using var browser = new ForwardAuthClient();
        var sid = await SignInAsync(browser, "alice");
        using var other = new ForwardAuthClient();
        await SignInAsync(other, "bob");

        using var answer = await _http.GetAsync(FrontchannelUrl(_b, _provider.Issuer, sid));

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(answer.Headers.CacheControl?.NoCache, Is.True, "Cache-Control: no-cache");
        Assert.That(answer.Headers.CacheControl?.NoStore, Is.True, "Cache-Control: no-store");
        Assert.That(answer.Headers.Contains("X-Frame-Options"), Is.False, "it must load in the provider's iframe");
        Assert.That(answer.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(await StatusAsync(browser, _a), Is.EqualTo(HttpStatusCode.Found), "ended on A, where it was made");
        Assert.That(await StatusAsync(browser, _b), Is.EqualTo(HttpStatusCode.Found), "ended on B");
        Assert.That(await StatusAsync(other, _a), Is.EqualTo(HttpStatusCode.OK), "another sid's session is untouched");
    }

    [Test]
    public async Task Frontchannel_WrongIssuerOrNoSid_400AndSessionKept()
    {
        using var browser = new ForwardAuthClient();
        var sid = await SignInAsync(browser, "carol");

        using var wrongIssuer = await _http.GetAsync(FrontchannelUrl(_a, "https://evil.test", sid));
        using var noSid = await _http.GetAsync(_b.BaseUrl + Path + "?iss=" + Uri.EscapeDataString(_provider.Issuer));

        Assert.That(wrongIssuer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(noSid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await StatusAsync(browser, _a), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(browser, _b), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Frontchannel_NotEnabled_NotRoutedAndSessionKept()
    {
        using var browser = new ForwardAuthClient();
        var sid = await SignInAsync(browser, "dave");

        using var answer = await _http.GetAsync(FrontchannelUrl(_disabled, _provider.Issuer, sid));

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await StatusAsync(browser, _a), Is.EqualTo(HttpStatusCode.OK));
    }

    private static string FrontchannelUrl(ForwardAuthInstance replica, string iss, string sid) =>
        replica.BaseUrl + Path + "?iss=" + Uri.EscapeDataString(iss) + "&sid=" + Uri.EscapeDataString(sid);

    private static async Task<HttpStatusCode> StatusAsync(ForwardAuthClient browser, ForwardAuthInstance replica)
    {
        using var response = await browser.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);
        return response.StatusCode;
    }

    /// <summary>Logs in through A (callback on A) and returns the session's <c>sid</c>, read from its ID token.</summary>
    private async Task<string> SignInAsync(ForwardAuthClient browser, string user)
    {
        using var login = await browser.LoginAsync(_a, _a, "/", user);
        using var verified = await browser.AuthAsync(_b, "GET", "/", ForwardAuthClient.Navigation);
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the session works on B too");
        var idToken = verified.Headers.GetValues("X-Id-Token").Single();
        using var payload = JsonDocument.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(idToken.Split('.')[1])));
        Assert.That(payload.RootElement.TryGetProperty("sid", out var sid), Is.True, "the dev provider's ID token carries sid");
        return sid.GetString()!;
    }
}
