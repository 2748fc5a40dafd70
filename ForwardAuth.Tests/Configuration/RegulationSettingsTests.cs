using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Configuration;

/// <summary><c>regulation.*</c> in every form the service accepts, its defaults and its start-up errors; the plugin's <c>rateLimit</c>.</summary>
public class RegulationSettingsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("fa-regulation").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, string> Valid() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = "s3cret-value",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef-key",
    };

    private static ForwardAuthOptions Load(Dictionary<string, string> env, params string[] args) =>
        ConfigurationLoader.Load(args, n => env.TryGetValue(n, out var v) ? v : null);

    private string Write(string name, string text)
    {
        var file = Path.Combine(_dir, name);
        File.WriteAllText(file, text);
        return file;
    }

    [Test]
    public void Defaults_TenFailuresWithinSixtySecondsBanForFiveMinutes()
    {
        var regulation = Load(Valid()).Regulation;

        Assert.That(regulation, Is.EqualTo(new RegulationOptions(10, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300))));
        Assert.That(regulation.Enabled, Is.True);
    }

    [Test]
    public void EnvironmentVariables_InTheServicesStyle()
    {
        var env = Valid();
        env["REGULATION_MAX_RETRIES"] = "5";
        env["REGULATION_FIND_TIME"] = "120";
        env["REGULATION_BAN_TIME"] = "900";

        Assert.That(Load(env).Regulation, Is.EqualTo(new RegulationOptions(5, TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(900))));
    }

    [Test]
    public void YamlBlock_AndJsonFile_AndCommandLine()
    {
        var yaml = Write("config.yaml", "regulation:\n  maxRetries: 3\n  findTime: 30\n  banTime: 600\n");
        var json = Write("config.json", """{"regulation": {"maxRetries": 4, "findTime": 40, "banTime": 400}}""");

        Assert.Multiple(() =>
        {
            Assert.That(Load(Valid(), "--config", yaml).Regulation, Is.EqualTo(new RegulationOptions(3, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600))));
            Assert.That(Load(Valid(), "--config", json).Regulation, Is.EqualTo(new RegulationOptions(4, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(400))));
            Assert.That(Load(Valid(), "--regulation.maxRetries=7").Regulation.MaxRetries, Is.EqualTo(7));
        });
    }

    [Test]
    public void MaxRetriesZero_TurnsRegulationOff()
    {
        var env = Valid();
        env["REGULATION_MAX_RETRIES"] = "0";

        Assert.That(Load(env).Regulation.Enabled, Is.False);
    }

    [TestCase("REGULATION_MAX_RETRIES", "-1", "regulation.maxRetries (REGULATION_MAX_RETRIES)")]
    [TestCase("REGULATION_FIND_TIME", "-60", "regulation.findTime (REGULATION_FIND_TIME)")]
    [TestCase("REGULATION_BAN_TIME", "-300", "regulation.banTime (REGULATION_BAN_TIME)")]
    [TestCase("REGULATION_FIND_TIME", "0", "regulation.findTime (REGULATION_FIND_TIME)")]
    [TestCase("REGULATION_BAN_TIME", "0", "regulation.banTime (REGULATION_BAN_TIME)")]
    [TestCase("REGULATION_MAX_RETRIES", "ten", "regulation.maxRetries (REGULATION_MAX_RETRIES)")]
    public void InvalidValue_StartUpErrorNamingTheField(string variable, string value, string named)
    {
        var env = Valid();
        env[variable] = value;

        var error = Assert.Throws<ConfigurationException>(() => Load(env))!;

        Assert.That(error.Problems, Has.Exactly(1).Contains(named));
    }

    [Test]
    public void PluginRateLimit_IsAKnownKey_AcceptedWithoutChangingRegulation()
    {
        var yaml = Write("plugin.yaml", """
            spec:
              plugin:
                traefikoidc:
                  providerURL: https://id.example.com
                  clientID: c
                  clientSecret: s
                  sessionEncryptionKey: 0123456789abcdef0123456789abcdef-key
                  rateLimit: 100
            """);

        var options = ConfigurationLoader.Load(["--config", yaml], _ => null, out var unknown);

        Assert.That(unknown, Is.Empty);
        Assert.That(options.PluginRateLimit, Is.EqualTo(100));
        Assert.That(options.Regulation, Is.EqualTo(Load(Valid()).Regulation), "its number means something else: regulation keeps its own settings");
    }

    [Test]
    public void PluginRateLimit_Unset_IsNull() => Assert.That(Load(Valid()).PluginRateLimit, Is.Null);
}
