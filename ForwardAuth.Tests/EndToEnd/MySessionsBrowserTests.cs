using System.Globalization;
using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using OpenQA.Selenium;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// My sessions as a person uses it: two headless Chromium browsers sign in as alice through Caddy (the forward-auth
/// proxy, which routes <c>/oauth2/sessions</c> to ForwardAuth itself, without the forwardAuth middleware) to two
/// ForwardAuth processes sharing real Redis, with the real dev provider. The first ends the second from the page.
/// </summary>
[TestFixture]
[NonParallelizable]
public class MySessionsBrowserTests : ProxiedStack
{
    private const string SessionCookie = "_forwardauth_session";

    // The page is ForwardAuth's own route (on replica A), in front of the stack's routes.
    private protected override string SiteBody(int a, int b, int backend) =>
        $"""
                    @sessions path /oauth2/sessions
                    reverse_proxy @sessions 127.0.0.1:{a}

        """ + base.SiteBody(a, b, backend);

    private void SignIn(HeadlessChromium browser, string path)
    {
        browser.Driver.Navigate().GoToUrl(SiteUrl + path);
        browser.LogInAtProvider(Provider.Issuer, "alice");
        browser.WaitFor(d => d.Url == SiteUrl + path, "the return to " + path);
    }

    private async Task<HttpStatusCode> StatusThroughCaddyAsync(string cookie, string? replica)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/check");
        request.Headers.Add("Cookie", $"{SessionCookie}={cookie}");
        request.Headers.Add("Accept", "text/html");
        if (replica is not null)
        {
            request.Headers.Add("X-Replica", replica);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Test]
    public async Task Browser_TwoBrowsersOfAlice_PageListsBoth_FormEndsTheOtherOnBothReplicas()
    {
        using var laptop = new HeadlessChromium();
        using var phone = new HeadlessChromium();
        SignIn(laptop, "/laptop");
        SignIn(phone, "/phone");
        var phoneCookie = phone.Driver.Manage().Cookies.GetCookieNamed(SessionCookie)!.Value;
        var laptopCookie = laptop.Driver.Manage().Cookies.GetCookieNamed(SessionCookie)!.Value;
        Assert.That(await StatusThroughCaddyAsync(phoneCookie, replica: null), Is.EqualTo(HttpStatusCode.OK), "replica A accepts the phone");
        Assert.That(await StatusThroughCaddyAsync(phoneCookie, replica: "b"), Is.EqualTo(HttpStatusCode.OK), "replica B accepts the phone");

        var driver = laptop.Driver;
        driver.Manage().Window.Size = new System.Drawing.Size(720, 900);
        driver.Navigate().GoToUrl(SiteUrl + "/oauth2/sessions");
        laptop.WaitFor(d => d.FindElements(By.CssSelector("li.card")).Count == 2, "both sessions listed");
        var cards = driver.FindElements(By.CssSelector("li.card"));
        Assert.That(cards[0].GetAttribute("class"), Does.Contain("current"));
        Assert.That(cards[0].Text, Does.Contain("This session").And.Contain("Chrome (headless) on Linux").And.Contain("127.0.0.1"));
        Assert.That(cards[1].Text, Does.Not.Contain("This session").And.Contain("Chrome (headless) on Linux"));
        Assert.That(driver.PageSource, Does.Not.Contain(phoneCookie[..24]).And.Not.Contain(laptopCookie[..24]), "no cookie value in the page");
        Screenshot(driver, "my-sessions.png");

        laptop.ClickAndWaitForNextPage(cards[1].FindElement(By.CssSelector("button")));
        laptop.WaitFor(d => d.Url.StartsWith(SiteUrl + "/oauth2/sessions?ended=1", StringComparison.Ordinal), "303 back to the page");
        Assert.That(driver.FindElement(By.CssSelector(".notice")).Text, Is.EqualTo("1 session ended."));
        Assert.That(driver.FindElements(By.CssSelector("li.card")), Has.Count.EqualTo(1));
        Screenshot(driver, "my-sessions-after.png");

        Assert.That(await StatusThroughCaddyAsync(phoneCookie, replica: null), Is.EqualTo(HttpStatusCode.Found), "replica A signed the phone out");
        Assert.That(await StatusThroughCaddyAsync(phoneCookie, replica: "b"), Is.EqualTo(HttpStatusCode.Found), "replica B signed the phone out");
        Assert.That(await StatusThroughCaddyAsync(laptopCookie, replica: "b"), Is.EqualTo(HttpStatusCode.OK), "the laptop stays signed in");
        phone.Driver.Navigate().GoToUrl(SiteUrl + "/phone-again");
        phone.WaitFor(d => d.Url.StartsWith(Provider.Issuer, StringComparison.Ordinal), "the phone sent to sign in again");

        var logs = string.Join('\n', A.Output.Concat(B.Output));
        Assert.That(logs, Does.Contain("ended 1 session(s)").And.Contain("\"EventId\":{\"Id\":240,\"Name\":\"SessionsRevoked\"}"));
        Assert.That(logs, Does.Not.Contain(phoneCookie[..24]).And.Not.Contain(laptopCookie[..24]), "no cookie value in any log line");
    }

    [Test]
    public async Task Http_JsonListCspAndRefusals()
    {
        // bob: the browser test's sessions are alice's.
        using var first = await LoggedInClientAsync("bob");
        using var second = await LoggedInClientAsync("bob");

        using var page = await first.GetAsync(SiteUrl + "/oauth2/sessions");
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Headers.CacheControl?.NoStore, Is.True);
        Assert.That(page.Headers.GetValues("Content-Security-Policy").Single(), Does.StartWith("default-src 'none'"));
        Assert.That(html, Does.Not.Contain("<script"));

        var json = await JsonAsync(first, HttpMethod.Get, "/oauth2/sessions");
        var sessions = json.GetProperty("sessions").EnumerateArray().ToList();
        Assert.That(sessions, Has.Count.EqualTo(2));
        Assert.That(sessions[0].GetProperty("current").GetBoolean(), Is.True);
        Assert.That(sessions[0].GetProperty("ip").GetString(), Is.EqualTo("127.0.0.1"));
        var csrf = json.GetProperty("csrf").GetString()!;
        var otherId = sessions[1].GetProperty("id").GetString()!;

        using (var wrong = await SendAsync(first, HttpMethod.Post, $"/oauth2/sessions?revoke={otherId}&csrf=wrong", json: true))
        {
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }

        using (var unknown = await SendAsync(first, HttpMethod.Post, $"/oauth2/sessions?revoke=AAAAAAAAAAAAAAAAAAAAAA&csrf={csrf}", json: true))
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        using (var bad = await SendAsync(first, HttpMethod.Post, $"/oauth2/sessions?csrf={csrf}", json: true))
        {
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }

        using (var anonymous = new HttpClient())
        using (var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/oauth2/sessions"))
        {
            request.Headers.Add("Accept", "application/json");
            using var noSession = await anonymous.SendAsync(request);
            Assert.That(noSession.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var ended = await JsonAsync(first, HttpMethod.Post, $"/oauth2/sessions?revoke=all&csrf={csrf}");
        Assert.That(ended.GetProperty("ended").GetInt32(), Is.EqualTo(1));
        Assert.That(ended.GetProperty("kind").GetString(), Is.EqualTo("all"));
        using var secondAfter = await second.GetAsync(SiteUrl + "/anything");
        Assert.That(secondAfter.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the other session ended");

        var metrics = await new HttpClient().GetStringAsync(A.BaseUrl + "/metrics");
        Assert.That(metrics, Does.Contain("forwardauth_session_revocations_total{kind=\"all\"} 1"));
    }

    private async Task<JsonElement> JsonAsync(HttpClient client, HttpMethod method, string path)
    {
        using var response = await SendAsync(client, method, path, json: true);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), method + " " + path);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, bool json)
    {
        var request = new HttpRequestMessage(method, SiteUrl + path);
        if (json)
        {
            request.Headers.Add("Accept", "application/json");
        }

        return client.SendAsync(request);
    }

    /// <summary>A login through Caddy as a plain HTTP client (the provider auto-logs in the <c>login_hint</c> user).</summary>
    private async Task<HttpClient> LoggedInClientAsync(string login)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        var url = SiteUrl + "/";
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await http.GetAsync(url);
            if (response.Headers.Location is null)
            {
                return http;
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            if (url.StartsWith(Provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        throw new InvalidOperationException("login through Caddy did not settle");
    }

    private static void Screenshot(OpenQA.Selenium.Chrome.ChromeDriver driver, string name)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        driver.GetScreenshot().SaveAsFile(path);
        TestContext.AddTestAttachment(path, "My sessions page");
    }
}
