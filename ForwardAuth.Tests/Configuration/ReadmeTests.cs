using System.Text.RegularExpressions;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// The README is the front door: its two commands exist and are what CI runs, its decision table is complete; the
/// configuration table of docs/configuration.md stays in step with the catalogue the service reads.
/// </summary>
public partial class ReadmeTests
{
    private static string Readme => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));

    [Test]
    public void ConfigurationTable_ListsEveryKeyWithItsEnvironmentName()
    {
        var page = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "configuration.md"));

        foreach (var key in SettingsCatalogue.All)
        {
            Assert.That(page, Does.Contain($"| `{key.Path}` | `{key.EnvironmentName}`"), key.Path);
        }
    }

    [Test]
    public void TestCommand_IsWhatCiRuns()
    {
        var readme = Readme;
        var ci = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, ".ci", "run"));

        Assert.That(readme, Does.Contain(".ci/test"));
        Assert.That(ci, Does.Contain("/test"));
    }

    [Test]
    public void TwoCommands_AreTheFirstBashBlock_AndBothScriptsExist()
    {
        var block = FencedBash().Match(Readme);
        Assert.That(block.Success, Is.True, "a ```bash block in the README");
        var commands = block.Groups["body"].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();

        Assert.That(commands, Is.EqualTo(new[] { "examples/local/up.sh", ".ci/test" }));
        foreach (var command in commands)
        {
            var script = Path.Combine(TestPaths.RepoRoot, command);
            Assert.That(File.Exists(script), Is.True, command);
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(script) & UnixFileMode.UserExecute, Is.EqualTo(UnixFileMode.UserExecute), command + " is executable");
            }
        }
    }

    [Test]
    public void DecisionTable_NamesEveryAnswer()
    {
        var table = Readme[Readme.IndexOf("| Situation | Answer |", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("\n\n", StringComparison.Ordinal)];

        foreach (var status in new[] { "200", "302", "303", "401", "403", "400", "503", "502" })
        {
            Assert.That(table, Does.Contain($"**{status}**"), status);
        }

        Assert.That(table, Does.Contain("trustedProxies").And.Contain("excludedURLs").And.Contain("allowCorsPreflight"));
    }

    [GeneratedRegex(@"^```bash\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedBash();
}
