using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Configuration;

/// <summary><c>sessionCheckInterval</c> (issue 15): off by default, read in seconds, bounded with an error naming the field.</summary>
[Category("Fast")]
public class SessionCheckIntervalSettingTests
{
    private static Dictionary<string, string> Valid() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com/realms/main",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = "s3cret-value",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef-key",
    };

    private static ForwardAuthOptions Load(Dictionary<string, string> env) =>
        ConfigurationLoader.Load([], n => env.TryGetValue(n, out var v) ? v : null, out _);

    [Test]
    public void Default_IsOff() => Assert.That(Load(Valid()).SessionCheckInterval, Is.EqualTo(TimeSpan.Zero));

    [Test]
    public void Set_IsReadInSeconds() =>
        Assert.That(Load(new Dictionary<string, string>(Valid()) { ["SESSION_CHECK_INTERVAL"] = "300" }).SessionCheckInterval, Is.EqualTo(TimeSpan.FromSeconds(300)));

    [TestCase("-1")]
    [TestCase("86401")]
    [TestCase("soon")]
    public void OutOfRange_FailsNamingTheField(string value) =>
        Assert.That(
            Assert.Throws<ConfigurationException>(() => Load(new Dictionary<string, string>(Valid()) { ["SESSION_CHECK_INTERVAL"] = value }))!.Message,
            Does.Contain("sessionCheckInterval (SESSION_CHECK_INTERVAL)"));
}
