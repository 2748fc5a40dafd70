using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>A person in headless Chromium, through Caddy, two ForwardAuth processes, real Redis and the real provider.</summary>
[TestFixture]
[NonParallelizable]
public class BrowserLoginTests : ProxiedStack
{
    private const string SessionCookie = "_forwardauth_session";

    private static JsonElement EchoedHeaders(ChromeDriver driver)
    {
        var text = driver.FindElement(By.TagName("body")).Text;
        return JsonDocument.Parse(text[text.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
    }

    private async Task<HttpStatusCode> StatusThroughCaddyAsync(string cookie, string? replica)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/after-logout");
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
    public async Task Browser_LoginStartsOnA_CallbackOnB_BothAccept_LogoutEndsItOnBoth()
    {
        using var browser = new HeadlessChromium();
        var driver = browser.Driver;

        driver.Navigate().GoToUrl(SiteUrl + "/hello?from=browser");
        browser.LogInAtProvider(Provider.Issuer, "alice");
        browser.WaitFor(d => d.Url == SiteUrl + "/hello?from=browser", "the return to the page first asked for");

        var headers = EchoedHeaders(driver);
        Assert.That(headers.GetProperty("X-Forwarded-User").GetString(), Is.EqualTo("alice@example.com"));
        Assert.That(headers.GetProperty("X-Auth-Request-Groups").GetString(), Is.EqualTo("admins,users"));
        Assert.That(A.Output, Has.Some.Contains("Login started"), "the login started on replica A");
        Assert.That(B.Output, Has.Some.Contains("Login completed"), "the callback landed on replica B");
        Assert.That(A.Output, Has.None.Contains("Login completed"));

        var cookie = driver.Manage().Cookies.GetCookieNamed(SessionCookie);
        Assert.That(cookie, Is.Not.Null);
        Assert.That(cookie.IsHttpOnly, Is.True);
        Assert.That(await StatusThroughCaddyAsync(cookie.Value, replica: null), Is.EqualTo(HttpStatusCode.OK), "replica A accepts the session");
        Assert.That(await StatusThroughCaddyAsync(cookie.Value, replica: "b"), Is.EqualTo(HttpStatusCode.OK), "replica B accepts the session");

        driver.Navigate().GoToUrl(SiteUrl + "/oauth2/logout");
        // The provider may ask "sign out?" first; either way the browser ends at the login page of a new visit.
        browser.WaitFor(d => d.FindElements(By.Name("logout")).Count > 0 || d.FindElements(By.Name("login")).Count > 0, "the provider's logout or login page");
        if (driver.FindElements(By.Name("logout")).Count > 0)
        {
            browser.ClickAndWaitForNextPage(driver.FindElement(By.Name("logout")));
        }

        browser.WaitFor(d => d.Url.StartsWith(Provider.Issuer, StringComparison.Ordinal) && d.FindElements(By.Name("login")).Count > 0, "back at the login page after logout");

        Assert.That(driver.Manage().Cookies.GetCookieNamed(SessionCookie), Is.Null, "the browser's cookie is cleared");
        Assert.That(await StatusThroughCaddyAsync(cookie.Value, replica: null), Is.EqualTo(HttpStatusCode.Found), "replica A refuses the replayed cookie");
        Assert.That(await StatusThroughCaddyAsync(cookie.Value, replica: "b"), Is.EqualTo(HttpStatusCode.Found), "replica B refuses the replayed cookie");

        var logs = string.Join('\n', A.Output.Concat(B.Output));
        Assert.That(logs, Does.Contain("Login completed"), "the logs were captured");
        Assert.That(logs, Does.Not.Contain(cookie.Value[..24]).And.Not.Contain(OidcProvider.ClientSecret).And.Not.Contain(ForwardAuthSettings.EncryptionKey).And.Not.Contain("eyJ"),
            "no cookie, secret, key or token in any log line");
    }

    [Test]
    public void Browser_TwoTabsStartLoginAtOnce_BothComplete()
    {
        using var browser = new HeadlessChromium();
        var driver = browser.Driver;

        driver.Navigate().GoToUrl(SiteUrl + "/tab/one");
        var first = driver.CurrentWindowHandle;
        browser.WaitFor(d => d.FindElements(By.Name("login")).Count > 0, "tab one at the login form");
        driver.SwitchTo().NewWindow(WindowType.Tab);
        var second = driver.CurrentWindowHandle;
        driver.Navigate().GoToUrl(SiteUrl + "/tab/two");
        browser.WaitFor(d => d.FindElements(By.Name("login")).Count > 0, "tab two at the login form");

        driver.SwitchTo().Window(first);
        browser.LogInAtProvider(Provider.Issuer, "alice");
        browser.WaitFor(d => d.Url == SiteUrl + "/tab/one", "tab one back on its page");
        Assert.That(EchoedHeaders(driver).GetProperty("X-Forwarded-User").GetString(), Is.EqualTo("alice@example.com"));

        driver.SwitchTo().Window(second);
        browser.LogInAtProvider(Provider.Issuer, "alice");
        browser.WaitFor(d => d.Url == SiteUrl + "/tab/two", "tab two back on its page");
        Assert.That(EchoedHeaders(driver).GetProperty("X-Forwarded-User").GetString(), Is.EqualTo("alice@example.com"));
    }
}
