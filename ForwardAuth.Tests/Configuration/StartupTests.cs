using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>The real process refuses a bad configuration at start, naming every bad key and printing no secret.</summary>
public class StartupTests
{
    [Test]
    public async Task Process_BadConfiguration_ExitsWithEveryBadKeyNamedAndNoSecret()
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "http://id.example.com",
            ["CLIENT_ID"] = "forwardauth",
            ["CLIENT_SECRET"] = "client-secret-never-printed",
            ["SESSION_ENCRYPTION_KEY"] = "short-key-never-printed",
            ["REDIS_CACHE_MODE"] = "disk",
            ["REDIS_DB"] = "99",
            ["REDIS_PASSWORD"] = "redis-password-never-printed",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{TestPaths.FreePort()}",
        };
        await using var process = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll], env);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var output = string.Join('\n', process.Output);

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(output, Does.Contain("providerURL (PROVIDER_URL)"));
            Assert.That(output, Does.Contain("sessionEncryptionKey (SESSION_ENCRYPTION_KEY)"));
            Assert.That(output, Does.Contain("redis.cacheMode (REDIS_CACHE_MODE)"));
            Assert.That(output, Does.Contain("redis.db (REDIS_DB)"));
            Assert.That(output, Does.Not.Contain("never-printed"));
        });
    }

    [Test]
    public async Task Process_ConfigFileWithEnvironmentOverride_StartsWithTheOverride()
    {
        await using var provider = await OidcProvider.StartAsync(new OidcProvider.Settings { RedirectUris = ["http://app.test/oauth2/callback"] });
        var dir = TestPaths.NewTempDirectory("config");
        var file = Path.Combine(dir, "forwardauth.yaml");
        await File.WriteAllTextAsync(file, $"""
            providerURL: {provider.Issuer}
            allowHTTPProvider: true
            clientID: wrong-client
            clientSecret: {OidcProvider.ClientSecret}
            sessionEncryptionKey: {ForwardAuthSettings.EncryptionKey}
            """);
        var secretFile = Path.Combine(dir, "secret");
        await File.WriteAllTextAsync(secretFile, OidcProvider.ClientSecret + "\n");
        var env = new Dictionary<string, string>
        {
            ["FORWARDAUTH_CONFIG"] = file,
            ["CLIENT_ID"] = OidcProvider.ClientId,
            ["CLIENT_SECRET_FILE"] = secretFile,
        };

        await using var replica = await ForwardAuthInstance.StartProcessAsync(env);
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(replica, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(ForwardAuthClient.Query(challenge.Headers.Location!.PathAndQuery)["client_id"], Is.EqualTo(OidcProvider.ClientId));
    }
}
