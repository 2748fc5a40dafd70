using System.Net;
using System.Text;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Issue 13, <c>dynamicClientRegistration</c> (RFC 7591) against the real provider: two replicas started together
/// with no clientID register ONE client (a lease in the shared Redis), keep it sealed in the store, and a login that
/// starts on one replica and lands its callback on the other works with it; a replica started later reads it instead
/// of registering; a refused registration answers 502 and names the provider's reason.
/// </summary>
[Order(1)]
public class ClientRegistrationTests : ProxiedStack
{
    private const string InitialAccessToken = "dcr-initial-access-token-for-tests";
    private const string Registered = "\"EventId\":{\"Id\":220";
    private const string Loaded = "\"EventId\":{\"Id\":221";
    private const string Refused = "\"EventId\":{\"Id\":222";

    private protected override OidcProvider.Settings ProviderSettings(string site) =>
        base.ProviderSettings(site) with { RegistrationToken = InitialAccessToken };

    private protected override void ConfigureReplicas(Dictionary<string, string> settings, string site) =>
        Registering(settings, site, InitialAccessToken);

    private static void Registering(Dictionary<string, string> settings, string site, string token)
    {
        settings.Remove("CLIENT_ID");
        settings.Remove("CLIENT_SECRET");
        settings["DYNAMIC_CLIENT_REGISTRATION_ENABLED"] = "true";
        settings["DYNAMIC_CLIENT_REGISTRATION_INITIAL_ACCESS_TOKEN"] = token;
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_REDIRECT_URIS"] = site + "/oauth2/callback";
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_POST_LOGOUT_REDIRECT_URIS"] = site + "/";
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_CLIENT_NAME"] = "ForwardAuth tests";
    }

    [Test, Order(1)]
    public async Task TwoReplicasStartedTogether_RegisterOneClient_KeptSealedInTheSharedStore()
    {
        await WaitForLogAsync(A, Registered, Loaded);
        await WaitForLogAsync(B, Registered, Loaded);

        Assert.That(await RegistrationCountAsync(), Is.EqualTo(1), "replicas starting together registered more than one client");
        var keys = await Redis.KeysAsync("fa-test:registration:*");
        Assert.That(keys, Has.Count.EqualTo(1));
        var stored = (byte[]?)await (await Redis.AdminAsync()).StringGetAsync(keys[0]);
        Assert.That(Encoding.UTF8.GetString(stored!), Does.Not.Contain("client_secret").And.Not.Contain("client_id"), "the registration is sealed, not plain JSON");
        var registeredBy = new[] { A, B }.Count(r => r.Output.Any(l => l.Contains(Registered, StringComparison.Ordinal)));
        Assert.That(registeredBy, Is.EqualTo(1), "exactly one replica registered; the other read the registration (event 221)");
    }

    [Test, Order(2)]
    public async Task LoginStartedOnOneReplica_CallbackOnTheOther_SignsInWithTheRegisteredClient()
    {
        await WaitForLogAsync(A, Registered, Loaded);
        await WaitForLogAsync(B, Registered, Loaded);
        using var http = await LoggedInClientAsync("alice");

        using var response = await http.GetAsync(SiteUrl + "/dashboard");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("alice"));
        Assert.That(await RegistrationCountAsync(), Is.EqualTo(1));
    }

    [Test, Order(3)]
    public async Task ReplicaStartedLater_ReadsTheStoredRegistration_RegistersNothing()
    {
        var before = await RegistrationCountAsync();
        var settings = ForwardAuthSettings.For(Provider, Redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        Registering(settings, SiteUrl, InitialAccessToken);
        await using var third = await ForwardAuthInstance.StartProcessAsync(settings);

        await WaitForLogAsync(third, Loaded);

        Assert.That(await RegistrationCountAsync(), Is.EqualTo(before));
    }

    [Test, Order(4)]
    public async Task RegistrationRefused_LoginAnswers502_LogNamesTheProvidersReason_NoSecretLogged()
    {
        var settings = ForwardAuthSettings.For(Provider, Redis);
        Registering(settings, SiteUrl, "a-wrong-initial-access-token");
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_CLIENT_NAME"] = "another client"; // another fingerprint: nothing stored for it
        await using var replica = await ForwardAuthInstance.StartProcessAsync(settings);
        await WaitForLogAsync(replica, Refused);

        using var browser = new ForwardAuthClient();
        using var response = await browser.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        var refusal = replica.Output.First(l => l.Contains(Refused, StringComparison.Ordinal));
        Assert.That(refusal, Does.Contain("invalid_token").Or.Contain("401"), "the provider's reason is in the log line");
        Assert.That(string.Join('\n', replica.Output), Does.Not.Contain("a-wrong-initial-access-token"));
    }

    private async Task<int> RegistrationCountAsync() => (int?)(await Provider.StatsAsync())["registration"] ?? 0;

    private static async Task WaitForLogAsync(ForwardAuthInstance replica, params string[] texts)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!replica.Output.Any(l => texts.Any(t => l.Contains(t, StringComparison.Ordinal))))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"replica never logged {string.Join(" or ", texts)}:\n{string.Join('\n', replica.Output.TakeLast(20))}");
            await Task.Delay(100);
        }
    }
}
