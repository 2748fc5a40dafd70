using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Configuration;

/// <summary>The <c>dynamicClientRegistration</c> block: what it requires, what it refuses at start, what it defaults to.</summary>
public class ClientRegistrationSettingsTests
{
    private static Dictionary<string, string> Registering() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef-key",
        ["DYNAMIC_CLIENT_REGISTRATION_ENABLED"] = "true",
        ["CALLBACK_URL"] = "https://auth.example.com/oauth2/callback",
    };

    private static ForwardAuthOptions Load(IDictionary<string, string> env) =>
        ConfigurationLoader.Load([], n => env.TryGetValue(n, out var v) ? v : null);

    private static string Fails(IDictionary<string, string> env) => Assert.Throws<ConfigurationException>(() => Load(env))!.Message;

    [Test]
    public void Enabled_WithoutClientId_NoClientIdOrSecretRequired_CallbackIsTheRedirectUri()
    {
        var options = Load(Registering());

        Assert.That(options.RegistersClient, Is.True);
        Assert.That(options.ClientRegistration.Metadata.RedirectUris, Is.EqualTo(new[] { "https://auth.example.com/oauth2/callback" }));
        Assert.That(options.ClientRegistration.Metadata.GrantTypes, Is.EqualTo(new[] { "authorization_code", "refresh_token" }));
        Assert.That(options.ClientRegistration.Metadata.ClientName, Is.EqualTo("ForwardAuth"));
    }

    [Test]
    public void Disabled_ClientIdStillRequired()
    {
        var env = Registering();
        env.Remove("DYNAMIC_CLIENT_REGISTRATION_ENABLED");

        Assert.That(Fails(env), Does.Contain("clientID").And.Contain("clientSecret"));
    }

    [Test]
    public void Enabled_WithClientId_TheConfiguredClientIsUsed()
    {
        var env = Registering();
        env["CLIENT_ID"] = "fixed";
        env["CLIENT_SECRET"] = "fixed-secret";

        Assert.That(Load(env).RegistersClient, Is.False);
    }

    [Test]
    public void CallbackIsAPath_RedirectUrisRequired_NamingTheField()
    {
        var env = Registering();
        env["CALLBACK_URL"] = "/oauth2/callback";

        Assert.That(Fails(env), Does.Contain("dynamicClientRegistration.clientMetadata.redirect_uris"));

        env["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_REDIRECT_URIS"] = "https://a.example.com/oauth2/callback,https://b.example.com/oauth2/callback";
        Assert.That(Load(env).ClientRegistration.Metadata.RedirectUris, Has.Count.EqualTo(2));
    }

    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_REDIRECT_URIS", "not-a-url", "redirect_uris")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_GRANT_TYPES", "client_credentials", "grant_types")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_RESPONSE_TYPES", "id_token", "response_types")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_TOKEN_ENDPOINT_AUTH_METHOD", "private_key_jwt", "token_endpoint_auth_method")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_APPLICATION_TYPE", "spa", "application_type")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_LOGO_URI", "logo.png", "logo_uri")]
    [TestCase("DYNAMIC_CLIENT_REGISTRATION_REGISTRATION_ENDPOINT", "ftp://id.example.com/register", "registrationEndpoint")]
    public void BadValue_StartUpErrorNamesTheField(string variable, string value, string field)
    {
        var env = Registering();
        env[variable] = value;

        Assert.That(Fails(env), Does.Contain(field));
    }

    [Test]
    public void RegisteredAuthMethod_IsHowTheClientAuthenticates_AndMustAgreeWithTokenEndpointAuthMethod()
    {
        var env = Registering();
        env["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_TOKEN_ENDPOINT_AUTH_METHOD"] = "client_secret_post";
        Assert.That(Load(env).TokenEndpointAuth, Is.EqualTo(TokenEndpointAuth.ClientSecretPost));

        env["TOKEN_ENDPOINT_AUTH_METHOD"] = "client_secret_basic";
        Assert.That(Fails(env), Does.Contain("disagrees with tokenEndpointAuthMethod"));
    }

    [Test]
    public void InitialAccessToken_IsASecret_ReadFromAFile()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("fa-dcr").FullName, "token");
        File.WriteAllText(file, "file-initial-token\n");
        var env = Registering();
        env["DYNAMIC_CLIENT_REGISTRATION_INITIAL_ACCESS_TOKEN_FILE"] = file;

        Assert.That(Load(env).ClientRegistration.InitialAccessToken, Is.EqualTo("file-initial-token"));
        Assert.That(SettingsCatalogue.Find("dynamicClientRegistration.initialAccessToken")!.Secret, Is.True);
    }
}
