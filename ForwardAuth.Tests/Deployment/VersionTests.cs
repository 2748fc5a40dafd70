using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ForwardAuth.Observability;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// One version, in Directory.Build.props, and everywhere it must reach: the assembly, the version flag of the real
/// process, the image label and the chart's appVersion. The startup log line and the build metric are checked on a
/// running instance (Observability/BuildInfoTests).
/// </summary>
public partial class VersionTests
{
    /// <summary>The <c>&lt;Version&gt;</c> of Directory.Build.props.</summary>
    internal static string PropsVersion { get; } =
        XDocument.Load(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    [Test]
    public void DirectoryBuildProps_Version_IsSemVer() =>
        Assert.That(PropsVersion, Does.Match(SemVer()), "a SemVer 2.0 version without build metadata");

    [Test]
    public void Assembly_InformationalVersion_IsThePropsVersionWithTheCommitItWasBuiltFrom()
    {
        var informational = typeof(HostingExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        Assert.Multiple(() =>
        {
            Assert.That(informational.Split('+')[0], Is.EqualTo(PropsVersion));
            Assert.That(BuildInfo.Version, Is.EqualTo(PropsVersion));
            Assert.That(BuildInfo.InformationalVersion, Is.EqualTo(informational));
        });

        if (!Path.Exists(Path.Combine(TestPaths.RepoRoot, ".git")))
        {
            Assert.That(BuildInfo.Commit, Is.EqualTo("unknown"), "built outside a git checkout");
            return;
        }

        // Built from this checkout: the commit is one of the repository's (HEAD may have moved since the build).
        Assert.That(informational, Does.Match(@"\+[0-9a-f]{40}$"));
        Assert.That(BuildInfo.Commit, Is.EqualTo(informational.Split('+')[1][..12]));
        var exists = DeploymentTools.Run(TestPaths.RequireExecutable("git"), ["-C", TestPaths.RepoRoot, "cat-file", "-e", informational.Split('+')[1] + "^{commit}"]);
        Assert.That(exists.ExitCode, Is.Zero, exists.Describe());
    }

    [Test]
    public async Task Process_VersionFlag_PrintsTheVersionAndExitsZeroBeforeReadingConfiguration()
    {
        // A configuration that would stop the process with exit code 2 if it were read.
        var env = new Dictionary<string, string>
        {
            ["FORWARDAUTH_CONFIG"] = Path.Combine(TestPaths.NewTempDirectory("version"), "missing.yaml"),
            ["REDIS_CACHE_MODE"] = "disk",
        };
        await using var process = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll, "--version"], env);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, string.Join('\n', process.Output));
            Assert.That(process.Output, Is.EqualTo(new[] { "ForwardAuth " + BuildInfo.InformationalVersion }));
            Assert.That(process.Output.Single(), Does.StartWith($"ForwardAuth {PropsVersion}"));
        });
    }

    [Test]
    public void Dockerfile_VersionArgument_IsThePropsVersion_AndLabelsTheImage()
    {
        var dockerfile = Dockerfile.Read(Path.Combine(TestPaths.RepoRoot, "Dockerfile"));
        var final = dockerfile.FinalStage;
        var arguments = dockerfile.InStage(final, "ARG").Select(a => a.Arguments).ToList();
        var labels = string.Join(' ', dockerfile.InStage(final, "LABEL").Select(l => l.Arguments));

        Assert.Multiple(() =>
        {
            Assert.That(arguments, Does.Contain("VERSION=" + PropsVersion), "the image label's default version");
            Assert.That(labels, Does.Contain("org.opencontainers.image.version=\"$VERSION\""));
            Assert.That(arguments, Has.Some.StartsWith("REVISION="));
            Assert.That(labels, Does.Contain("org.opencontainers.image.revision=\"$REVISION\""));
            // The build stage hands the same REVISION to MSBuild, which appends it to the assembly's version.
            Assert.That(dockerfile.InStage(0, "ARG").Select(a => a.Arguments), Has.Some.StartsWith("REVISION="));
            Assert.That(dockerfile.Environment(0)["SourceRevisionId"], Is.EqualTo("$REVISION"));
        });
    }

    [Test]
    public void HelmChart_AppVersion_IsThePropsVersion()
    {
        var chart = Yaml.ReadFile(Path.Combine(DeploymentTools.ChartDirectory, "Chart.yaml"));
        var example = Yaml.ReadFile(Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes", "forwardauth-values.yaml"));

        Assert.Multiple(() =>
        {
            Assert.That(chart.Text("appVersion"), Is.EqualTo(PropsVersion));
            Assert.That(chart.Text("version"), Does.Match(SemVer()), "the chart's own version");
            Assert.That(example.Text("image.tag"), Is.EqualTo(PropsVersion), "the Kubernetes example's image tag");
        });
    }

    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")]
    private static partial Regex SemVer();
}
