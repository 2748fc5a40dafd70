using System.Globalization;
using System.Text.RegularExpressions;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// Every environment variable the product owner's document names (docs/reference/redis-cache-design.md) is one
/// ForwardAuth reads: setting it to another valid value changes the loaded configuration.
/// </summary>
public partial class ReferenceDocumentTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDirectory("reference");

    [GeneratedRegex(@"\b(REDIS_[A-Z_]+|[A-Z]+(?:_[A-Z]+)*_TTL)\b")]
    private static partial Regex VariableName();

    public static IEnumerable<string> DocumentedVariables()
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "reference", "redis-cache-design.md"));
        return VariableName().Matches(text).Select(m => m.Value).Distinct().Order(StringComparer.Ordinal);
    }

    [Test]
    public void Document_NamesTheVariablesWeExpect() =>
        Assert.That(DocumentedVariables().Count(), Is.GreaterThanOrEqualTo(23), "the document is there and was parsed");

    [TestCaseSource(nameof(DocumentedVariables))]
    public void Variable_FromTheDocument_IsReadAndChangesTheConfiguration(string variable)
    {
        var key = SettingsCatalogue.All.SingleOrDefault(k => k.EnvironmentName == variable);
        Assert.That(key, Is.Not.Null, $"{variable} is not a ForwardAuth setting");

        var baseline = Environment();
        var changed = new Dictionary<string, string>(baseline) { [variable] = OtherValidValue(key!, baseline.GetValueOrDefault(variable)) };

        Assert.That(Load(changed), Is.Not.EqualTo(Load(baseline)).Using<ForwardAuthOptions>(Same), $"{variable} had no effect");
    }

    private static Dictionary<string, string> Environment() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["CLIENT_ID"] = "c",
        ["CLIENT_SECRET"] = "s",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef",
        ["REDIS_ENABLED"] = "true",
        ["REDIS_CACHE_MODE"] = "hybrid",
    };

    private string OtherValidValue(SettingKey key, string? current)
    {
        if (key.EnvironmentName.EndsWith("_FILE", StringComparison.Ordinal))
        {
            var file = Path.Combine(_dir, key.EnvironmentName.ToLowerInvariant() + ".pem");
            File.WriteAllText(file, "placeholder");
            return file;
        }

        return key.Kind switch
        {
            SettingKind.Boolean => (current ?? key.Default) == "true" ? "false" : "true",
            SettingKind.Integer => (long.Parse(string.IsNullOrEmpty(key.Default) ? "3600" : key.Default, CultureInfo.InvariantCulture) + 1)
                .ToString(CultureInfo.InvariantCulture),
            _ when key.EnvironmentName == "REDIS_CACHE_MODE" => "redis",
            _ => "other-value:6380",
        };
    }

    private static ForwardAuthOptions Load(Dictionary<string, string> env)
    {
        // Paired TLS files: give both when one is given, so that the pair is valid.
        if (env.TryGetValue("REDIS_TLS_CERT_FILE", out var cert) && !env.ContainsKey("REDIS_TLS_KEY_FILE"))
        {
            env["REDIS_TLS_KEY_FILE"] = cert;
        }
        else if (env.TryGetValue("REDIS_TLS_KEY_FILE", out var keyFile) && !env.ContainsKey("REDIS_TLS_CERT_FILE"))
        {
            env["REDIS_TLS_CERT_FILE"] = keyFile;
        }

        return ConfigurationLoader.Load([], n => env.GetValueOrDefault(n));
    }

    // Records compare by value, but lists inside compare by reference: compare what matters here.
    private static bool Same(ForwardAuthOptions a, ForwardAuthOptions b) =>
        a.Redis == b.Redis && a.SessionMaxAge == b.SessionMaxAge && a.JtiCacheTtl == b.JtiCacheTtl && a.TokenMetadataTtl == b.TokenMetadataTtl;
}
