using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// <c>tokenEndpointAuthMethod</c> against a provider that accepts only <c>client_secret_post</c> (the dev provider
/// refuses the method a client did not register, as strict providers do). A refused client is the service's
/// misconfiguration, not the user's: 502, and the log names the settings to check.
/// </summary>
[TestFixture]
public class TokenEndpointAuthTests
{
    private OidcProvider _provider = null!;

    [OneTimeSetUp]
    public async Task Start() => _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
    {
        AutoLogin = "hint",
        TokenAuthMethod = "client_secret_post",
        RedirectUris = ["http://app.test/oauth2/callback"],
    });

    [OneTimeTearDown]
    public async Task Stop() => await _provider.DisposeAsync();

    [TestCase("client_secret_post", HttpStatusCode.Found)]
    [TestCase("client_secret_basic", HttpStatusCode.BadGateway)]
    public async Task Login_TokenEndpointAuthMethod_MustMatchTheProvider(string method, HttpStatusCode expected)
    {
        var settings = ForwardAuthSettings.For(_provider);
        settings["TOKEN_ENDPOINT_AUTH_METHOD"] = method;
        await using var replica = await ForwardAuthInstance.StartInProcessAsync(settings);
        using var client = new ForwardAuthClient();

        using var callback = await client.LoginAsync(replica, replica, "/", "alice");

        Assert.That(callback.StatusCode, Is.EqualTo(expected));
        Assert.That(client.Cookies.ContainsKey("_forwardauth_session"), Is.EqualTo(expected == HttpStatusCode.Found));
        if (expected != HttpStatusCode.Found)
        {
            Assert.That(replica.Logs, Has.Some.Contains("tokenEndpointAuthMethod"), "the log names the setting to check");
        }
    }
}
