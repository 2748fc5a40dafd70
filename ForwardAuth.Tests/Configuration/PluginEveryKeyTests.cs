using System.Text.Json;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// Issue 13: no plugin key is ever dropped silently. The service starts with every key of the traefikoidc plugin set
/// (<see cref="PluginKeyList"/>), and each key is either implemented (a setting of the catalogue) or named in a
/// start-up Warning (event 406) that says what to use instead — never only "unknown configuration key".
/// </summary>
public class PluginEveryKeyTests
{
    [Test]
    public async Task Start_WithEveryPluginKeySet_EachKeyImplementedOrNamedInAWarningWithTheAlternative()
    {
        var directory = TestPaths.NewTempDirectory("plugin-every-key");
        var caFile = Path.Combine(directory, "ca.pem");
        await File.WriteAllTextAsync(caFile, PluginKeyList.CaCertificatePem("file CA"));
        var keys = PluginKeyList.Keys(caFile, PluginKeyList.CaCertificatePem("inline CA"));
        var config = Path.Combine(directory, "forwardauth.yaml");
        await File.WriteAllTextAsync(config, PluginKeyList.Yaml(keys));

        var logs = new LogCapture();
        await using var app = HostingExtensions.Build(
            ["--config", config, "--urls", "http://127.0.0.1:0"], _ => null, configureLogging: l => l.WriteTo.Sink(logs));

        var lines = logs.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var notices = lines.Where(l => EventId(l) == 406)
            .Select(l => (Key: l.GetProperty("Key").GetString()!, Instead: l.GetProperty("Instead").GetString()!, Level: l.GetProperty("@l").GetString()))
            .ToList();
        var unknown = lines.Where(l => EventId(l) == 402).Select(l => l.GetProperty("@m").GetString()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(unknown, Is.Empty, "a plugin key reported only as unknown, without what to use instead");
            foreach (var (path, _) in keys)
            {
                var implemented = SettingsCatalogue.Find(path) is not null;
                var named = notices.Where(n => path.Equals(n.Key, StringComparison.OrdinalIgnoreCase)
                    || path.StartsWith(n.Key + ".", StringComparison.OrdinalIgnoreCase)).ToList();
                Assert.That(implemented || named.Count == 1, Is.True,
                    $"plugin key {path} ({PluginKeyList.Version}) is neither implemented nor named in a start-up warning");
                Assert.That(implemented && named.Count > 0, Is.False, $"{path} is implemented and yet warned about");
                Assert.That(named.Select(n => n.Instead), Has.All.Length.GreaterThan(20), path + ": the warning says what to use instead");
            }

            Assert.That(notices.Select(n => n.Level), Has.All.EqualTo("Warning"));
            Assert.That(notices.Select(n => n.Key), Is.Unique, "one warning per key");
        });
    }

    [Test]
    public void Start_WithEveryPluginKeySet_NoSecretValueInTheLog()
    {
        // The notices name keys, never values: the plugin's secrets (initialAccessToken, redis.password) stay out.
        var directory = TestPaths.NewTempDirectory("plugin-every-key-secrets");
        var caFile = Path.Combine(directory, "ca.pem");
        File.WriteAllText(caFile, PluginKeyList.CaCertificatePem());
        var config = Path.Combine(directory, "forwardauth.yaml");
        File.WriteAllText(config, PluginKeyList.Yaml(PluginKeyList.Keys(caFile, PluginKeyList.CaCertificatePem())));
        var logs = new LogCapture();

        using var app = HostingExtensions.Build(
            ["--config", config, "--urls", "http://127.0.0.1:0"], _ => null, configureLogging: l => l.WriteTo.Sink(logs));

        var all = string.Join("\n", logs.Lines);
        Assert.That(all, Does.Contain("dynamicClientRegistration"));
        Assert.That(all, Does.Not.Contain("initial-access-token").And.Not.Contain("the-redis-password").And.Not.Contain("the-client-secret"));
    }

    [Test]
    public void MigrationGuide_EveryPluginKeyHasItsRowInTheTable()
    {
        var guide = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "migration-from-traefikoidc.md"));
        var start = guide.IndexOf("## Every plugin key", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThan(0), "the guide has the section '## Every plugin key'");
        var end = guide.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        var rows = guide[start..(end < 0 ? guide.Length : end)].Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('|')[1]).ToList();
        var named = rows.SelectMany(cell => cell.Split('`').Where((_, i) => i % 2 == 1)).ToHashSet(StringComparer.Ordinal);

        // A row for a key, or for the block it belongs to (securityHeaders: refused as a whole).
        var missing = PluginKeyList.Keys("", "").Select(k => k.Path)
            .Where(p => !named.Contains(p) && !(p.Split('.')[0] is "securityHeaders" && named.Contains(p.Split('.')[0])))
            .ToList();
        Assert.That(missing, Is.Empty, "plugin keys without a row in the migration guide's table");
    }

    private static int EventId(JsonElement line) =>
        line.TryGetProperty("EventId", out var id) && id.TryGetProperty("Id", out var value) ? value.GetInt32() : 0;
}
