using ForwardAuth.Auth;

namespace ForwardAuth.Tests.Auth;

public class ReturnUrlTests
{
    private const string Origin = "https://app.example.com";

    [TestCase("/dashboard?tab=1", "https://app.example.com/dashboard?tab=1")]
    [TestCase("/", "https://app.example.com/")]
    public void For_LocalPath_StaysOnTheOrigin(string path, string expected) =>
        Assert.That(ReturnUrl.For(Origin, path), Is.EqualTo(expected));

    [TestCase("//evil.example")]
    [TestCase("//evil.example/path")]
    [TestCase("/\\evil.example")]
    [TestCase("/\\/evil.example")]
    [TestCase("/%2F%2Fevil.example")]
    [TestCase("/%5Cevil.example")]
    [TestCase("/@evil.example")]
    [TestCase("/.evil.example")]
    [TestCase("/ /evil.example")]
    [TestCase("/\t/evil.example")]
    [TestCase("/\r\n/evil.example")]
    [TestCase("https://evil.example")]
    [TestCase("javascript:alert(1)")]
    [TestCase("evil.example")]
    [TestCase("")]
    public void For_HostileTarget_NeverLeavesTheOrigin(string target)
    {
        var result = new Uri(ReturnUrl.For(Origin, target));

        Assert.Multiple(() =>
        {
            Assert.That(result.Host, Is.EqualTo("app.example.com"));
            Assert.That(result.Scheme, Is.EqualTo("https"));
            Assert.That(result.AbsoluteUri, Does.Not.Contain("\r").And.Not.Contain("\n"));
        });
    }

    [TestCase("/next", "https://app.example.com/next")]
    [TestCase("//evil.example", "https://app.example.com/")]
    [TestCase("/\\evil.example", "https://app.example.com/")]
    [TestCase("https://evil.example/", "https://app.example.com/")]
    [TestCase("https://other.example.com/x", "https://other.example.com/x")]
    [TestCase("https://example.com.evil.net/", "https://app.example.com/")]
    [TestCase("https://user@other.example.com/", "https://app.example.com/")]
    [TestCase("javascript://other.example.com/%0aalert(1)", "https://app.example.com/")]
    public void FromRd_WithCookieDomain_AllowsOnlyHostsUnderIt(string rd, string expected) =>
        Assert.That(ReturnUrl.FromRd(Origin, rd, "example.com"), Is.EqualTo(expected));

    [Test]
    public void FromRd_AbsoluteWithoutCookieDomain_FallsBackToRoot() =>
        Assert.That(ReturnUrl.FromRd(Origin, "https://app.example.com/x", ""), Is.EqualTo("https://app.example.com/"));
}
