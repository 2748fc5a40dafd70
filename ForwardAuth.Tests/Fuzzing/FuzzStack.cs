using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// The real provider (its signing key mints the valid inputs) and one in-process replica in memory mode, quiet at
/// <c>error</c> level so that a hundred thousand refusals do not turn into a hundred thousand log lines.
/// </summary>
[SetUpFixture]
public sealed class FuzzStack
{
    internal static OidcProvider Provider { get; private set; } = null!;
    internal static ForwardAuthInstance Replica { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = ["http://app.test/oauth2/callback"],
        });
        var settings = ForwardAuthSettings.For(Provider);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["EXCLUDED_URLS"] = "/public";
        settings["LOG_LEVEL"] = "error";
        Replica = await ForwardAuthInstance.StartInProcessAsync(settings);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await Replica.DisposeAsync();
        await Provider.DisposeAsync();
    }
}
