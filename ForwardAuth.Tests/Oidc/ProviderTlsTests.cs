using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Oidc;

/// <summary>
/// The provider's TLS through the provider HttpClient as ForwardAuth registers it (discovery, JWKS, token calls all use
/// it), against a real TLS server whose certificate no system store trusts: refused by default, trusted through the
/// plugin's <c>caCertPEM</c> (alone or with <c>caCertPath</c>), accepted blindly with <c>insecureSkipVerify</c>.
/// </summary>
public class ProviderTlsTests
{
    private static X509Certificate2 _serverCertificate = null!;
    private static string _serverPem = "";
    private static WebApplication _server = null!;
    private static string _url = "";

    [OneTimeSetUp]
    public async Task StartServer()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _serverCertificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        _serverPem = created.ExportCertificatePem();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(_serverCertificate)));
        _server = builder.Build();
        _server.MapGet("/.well-known/openid-configuration", () => "{\"issuer\":\"provider\"}");
        await _server.StartAsync();
        var port = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        _url = $"https://localhost:{port}/.well-known/openid-configuration";
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        await _server.DisposeAsync();
        _serverCertificate.Dispose();
    }

    [Test]
    public void Default_CertificateOfAnUnknownCa_Refused()
    {
        Assert.ThrowsAsync<HttpRequestException>(() => Get(Settings()));
    }

    [Test]
    public async Task CaCertPem_TheServersCa_Trusted()
    {
        Assert.That(await Get(Settings(("CA_CERT_PEM", _serverPem))), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task CaCertPem_WithCaCertPath_BothCombined()
    {
        var file = Path.Combine(TestPaths.NewTempDirectory("provider-tls"), "other-ca.pem");
        await File.WriteAllTextAsync(file, Configuration.PluginKeyList.CaCertificatePem("another CA"));

        Assert.That(await Get(Settings(("CA_CERT_PATH", file), ("CA_CERT_PEM", _serverPem))), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public void CaCertPem_AnotherCa_Refused()
    {
        Assert.ThrowsAsync<HttpRequestException>(() => Get(Settings(("CA_CERT_PEM", Configuration.PluginKeyList.CaCertificatePem("another CA")))));
    }

    [Test]
    public async Task InsecureSkipVerify_AnyCertificateAccepted()
    {
        Assert.That(await Get(Settings(("INSECURE_SKIP_VERIFY", "true"))), Is.EqualTo(HttpStatusCode.OK));
    }

    private static Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "https://localhost",
            ["CLIENT_ID"] = "forwardauth",
            ["CLIENT_SECRET"] = "client-secret",
            ["SESSION_ENCRYPTION_KEY"] = ForwardAuthSettings.EncryptionKey,
        };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    private static async Task<HttpStatusCode> Get(Dictionary<string, string> env)
    {
        var options = ConfigurationLoader.Load([], n => env.GetValueOrDefault(n));
        await using var services = new ServiceCollection().AddProviderHttpClient(options).BuildServiceProvider();
        using var client = services.GetRequiredService<IHttpClientFactory>().CreateClient(ProviderHttp.ClientName);
        using var response = await client.GetAsync(new Uri(_url));
        return response.StatusCode;
    }
}
