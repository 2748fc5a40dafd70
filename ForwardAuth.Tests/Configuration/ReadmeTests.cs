using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>The README's configuration table stays in step with the catalogue the service reads.</summary>
public class ReadmeTests
{
    [Test]
    public void ConfigurationTable_ListsEveryKeyWithItsEnvironmentName()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));

        foreach (var key in SettingsCatalogue.All)
        {
            Assert.That(readme, Does.Contain($"| `{key.Path}` | `{key.EnvironmentName}`"), key.Path);
        }
    }

    [Test]
    public void TestCommand_IsWhatCiRuns()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var ci = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, ".ci", "run"));

        Assert.That(readme, Does.Contain(".ci/test"));
        Assert.That(ci, Does.Contain("/test"));
    }
}
