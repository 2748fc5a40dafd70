using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace ForwardAuth.Tests.Support;

/// <summary>Debian's Chromium, headless, driven by Selenium; a fresh profile per instance.</summary>
internal sealed class HeadlessChromium : IDisposable
{
    private readonly string _profile = TestPaths.NewTempDirectory("chromium");

    /// <param name="arguments">Extra command-line switches (e.g. <c>--host-resolver-rules=MAP *.test 127.0.0.1</c>).</param>
    public HeadlessChromium(params string[] arguments)
    {
        TestPaths.RequireExecutable("chromedriver");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(TestPaths.RequireExecutable("chromedriver"))!, "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = TestPaths.RequireExecutable("chromium") };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + _profile);
        options.AddArguments(arguments);
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
    }

    public ChromeDriver Driver { get; }

    public void WaitFor(Func<IWebDriver, bool> condition, string what)
    {
        var wait = new DefaultWait<IWebDriver>(Driver) { Timeout = TimeSpan.FromSeconds(20), PollingInterval = TimeSpan.FromMilliseconds(50) };
        // Pages change under the test while it polls: an element from the page being left is not an error.
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException), typeof(UnknownErrorException));
        wait.Message = "waiting for " + what;
        wait.Until(condition);
    }

    /// <summary>Fills the dev provider's login form, then approves the consent page when it appears.</summary>
    public void LogInAtProvider(string issuer, string login)
    {
        WaitFor(d => d.Url.StartsWith(issuer, StringComparison.Ordinal) && d.FindElements(By.Name("login")).Count > 0, "the provider's login form");
        Driver.FindElement(By.Name("login")).SendKeys(login);
        Driver.FindElement(By.Name("password")).SendKeys("any-password");
        ClickAndWaitForNextPage(Driver.FindElement(By.CssSelector("button[type=submit]")));
        WaitFor(d => !d.Url.StartsWith(issuer, StringComparison.Ordinal) || d.FindElements(By.CssSelector("form button[type=submit], form button[autofocus]")).Count > 0, "consent or return");
        if (Driver.Url.StartsWith(issuer, StringComparison.Ordinal))
        {
            ClickAndWaitForNextPage(Driver.FindElement(By.CssSelector("form button[type=submit], form button[autofocus]")));
        }
    }

    /// <summary>Clicks and waits until the page that held the element is gone (no racing the old page's elements).</summary>
    public void ClickAndWaitForNextPage(IWebElement element)
    {
        element.Click();
        WaitFor(_ => IsStale(element), "the next page");
    }

    private static bool IsStale(IWebElement element)
    {
        try
        {
            _ = element.Enabled;
            return false;
        }
        catch (StaleElementReferenceException)
        {
            return true;
        }
        catch (UnknownErrorException e) when (e.Message.Contains("does not belong to the document", StringComparison.Ordinal))
        {
            return true;
        }
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
