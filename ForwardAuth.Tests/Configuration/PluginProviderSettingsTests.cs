using System.Text.Json;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>The plugin's provider keys at start: <c>insecureSkipVerify</c> warns loudly; bad values stop the start naming the key.</summary>
public class PluginProviderSettingsTests
{
    [TestCase("true", 1)]
    [TestCase("false", 0)]
    [TestCase(null, 0)]
    public async Task Start_InsecureSkipVerify_OneLoudWarningOnlyWhenTrue(string? value, int lines)
    {
        var env = Valid();
        if (value is not null)
        {
            env["INSECURE_SKIP_VERIFY"] = value;
        }

        var logs = new LogCapture();
        await using var app = HostingExtensions.Build(["--urls", "http://127.0.0.1:0"], n => env.GetValueOrDefault(n), configureLogging: l => l.WriteTo.Sink(logs));

        var warnings = logs.Lines.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 407)
            .ToList();
        Assert.That(warnings, Has.Count.EqualTo(lines));
        Assert.That(warnings.Select(w => w.GetProperty("@l").GetString()), Has.All.EqualTo("Warning"));
        Assert.That(warnings.Select(w => w.GetProperty("@m").GetString()), Has.All.Contain("NOT verified").And.All.Contain("caCertPEM"));
    }

    [TestCase("CA_CERT_PEM", "not a certificate", "caCertPEM (CA_CERT_PEM): contains no valid PEM certificate")]
    [TestCase("CA_CERT_PEM", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "caCertPEM (CA_CERT_PEM): contains no valid PEM certificate")]
    [TestCase("REVOCATION_URL", "/revoke", "revocationURL (REVOCATION_URL): '/revoke' is not an absolute https URL")]
    [TestCase("REVOCATION_URL", "http://id.example.com/revoke", "revocationURL (REVOCATION_URL): must use https")]
    [TestCase("OIDC_END_SESSION_URL", "ftp://id.example.com/logout", "oidcEndSessionURL (OIDC_END_SESSION_URL): 'ftp://id.example.com/logout' is not an absolute https URL")]
    public void Load_InvalidValue_StartRefusedNamingTheKey(string variable, string value, string problem)
    {
        var env = Valid();
        env[variable] = value;

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], n => env.GetValueOrDefault(n)));

        Assert.That(error!.Problems, Has.One.StartWith(problem));
    }

    [Test]
    public void Load_ProviderEndpointsAndTls_Read()
    {
        var env = Valid();
        env["REVOCATION_URL"] = "https://id.example.com/revoke";
        env["OIDC_END_SESSION_URL"] = "https://id.example.com/logout";
        env["CA_CERT_PEM"] = PluginKeyList.CaCertificatePem();
        env["STRICT_AUDIENCE_VALIDATION"] = "true";
        env["ALLOW_PRIVATE_IP_ADDRESSES"] = "true";

        var options = ConfigurationLoader.Load([], n => env.GetValueOrDefault(n), out var unknown, out var pluginKeys);

        Assert.That(options.RevocationUrl, Is.EqualTo("https://id.example.com/revoke"));
        Assert.That(options.EndSessionUrl, Is.EqualTo("https://id.example.com/logout"));
        Assert.That(options.CaCertPem, Does.StartWith("-----BEGIN CERTIFICATE-----"));
        Assert.That(options.StrictAudienceValidation, Is.True);
        Assert.That(unknown, Is.Empty);
        Assert.That(pluginKeys, Is.Empty);
    }

    private static Dictionary<string, string> Valid() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = "client-secret",
        ["SESSION_ENCRYPTION_KEY"] = ForwardAuthSettings.EncryptionKey,
    };
}
