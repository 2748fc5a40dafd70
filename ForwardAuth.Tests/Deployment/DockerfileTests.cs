using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// The Dockerfile without a container engine: it passes dockerfilelint, its build steps are the ones .ci/test runs,
/// it copies every repository-wide build input, and its runtime stage is non-root and listens where it says.
/// </summary>
public partial class DockerfileTests
{
    private static string DockerfilePath => Path.Combine(TestPaths.RepoRoot, "Dockerfile");

    [Test]
    public void Dockerfilelint_FindsNoIssue()
    {
        var result = Lint(DockerfilePath);

        Assert.That(result["totalIssues"]?.GetValue<int>(), Is.Zero, result.ToJsonString(new() { WriteIndented = true }));
        Assert.That(result["files"]!.AsArray(), Has.Count.EqualTo(1));
    }

    [Test]
    public void Dockerfilelint_ReallyLints()
    {
        // Guards the check above against a linter that passes everything (wrong arguments, wrong file).
        var bad = Path.Combine(TestPaths.NewTempDirectory("dockerfile"), "Dockerfile");
        File.WriteAllText(bad, "FROM ubuntu:latest\nRUN apt-get install curl\nEXPOSE 99999\n");

        Assert.That(Lint(bad)["totalIssues"]?.GetValue<int>(), Is.GreaterThan(0));
    }

    private static JsonNode Lint(string file)
    {
        var result = DeploymentTools.Run(DeploymentTools.Node, [DeploymentTools.Dockerfilelint, "--json", file]);
        return JsonNode.Parse(result.StandardOutput) ?? throw new AssertionException(result.Describe());
    }

    [Test]
    public void BuildSteps_AreTheCommandsCiRuns()
    {
        var dockerfile = Dockerfile.Read(DockerfilePath);
        var dotnetSteps = dockerfile.Instructions
            .Where(i => i.Stage < dockerfile.FinalStage && i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet ", StringComparison.Ordinal))
            .Select(i => Normalise(i.Arguments))
            .ToList();
        var ciCommands = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, ".ci", "test"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("dotnet ", StringComparison.Ordinal))
            .Select(Normalise)
            .ToList();

        Assert.That(dotnetSteps, Has.Some.StartsWith("dotnet publish ForwardAuth/ForwardAuth.csproj"), "the image is built by dotnet publish");
        Assert.That(dotnetSteps, Is.SubsetOf(ciCommands),
            "every dotnet command of the Dockerfile's build stage must be run by .ci/test as is (only the output directory may differ)");
    }

    // The output directory is where each puts the result; everything else must be the same.
    private static string Normalise(string command) =>
        OutputOption().Replace(Regex.Replace(command.Trim(), @"\s+", " "), "$1<output>");

    [Test]
    public void BuildStage_CopiesEveryRepositoryWideBuildInput_AndTheContextKeepsThem()
    {
        var dockerfile = Dockerfile.Read(DockerfilePath);
        var copied = dockerfile.Instructions.Where(i => i.Stage == 0 && i.Keyword == "COPY")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .ToList();
        var inputs = Directory.GetFiles(TestPaths.RepoRoot)
            .Select(Path.GetFileName)
            .Where(f => f is not null && BuildInput().IsMatch(f))
            .Select(f => f!)
            .ToList();
        var ignore = DockerIgnore.Read(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));

        Assert.That(inputs, Does.Contain("Directory.Build.props").And.Contain("global.json"));
        Assert.That(inputs, Is.SubsetOf(copied), "files at the repository root that change how ForwardAuth builds");
        foreach (var path in copied.Append("ForwardAuth/Program.cs"))
        {
            Assert.That(ignore.Excludes(path.TrimEnd('/')), Is.False, $".dockerignore excludes {path}, which the build needs");
        }

        foreach (var path in new[] { "ForwardAuth/bin/Release/net10.0/ForwardAuth.dll", "ForwardAuth/obj/project.assets.json", ".git/HEAD", ".ci/tools/node_modules/yaml/package.json", "ForwardAuth.Tests/ForwardAuth.Tests.csproj" })
        {
            Assert.That(ignore.Excludes(path), Is.True, $".dockerignore lets {path} into the build context");
        }
    }

    [Test]
    public void RuntimeStage_RunsTheServiceAsNonRootOnTheDocumentedPort()
    {
        var dockerfile = Dockerfile.Read(DockerfilePath);
        var final = dockerfile.FinalStage;
        var from = dockerfile.InStage(final, "FROM").Single().Arguments;
        var user = dockerfile.InStage(final, "USER").Last().Arguments;
        var expose = dockerfile.InStage(final, "EXPOSE").Single().Arguments;
        var env = dockerfile.Environment(final);
        var entrypoint = dockerfile.InStage(final, "ENTRYPOINT").Single();
        var publish = dockerfile.Instructions.Single(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal));
        var publishDir = OutputOptionDir().Match(publish.Arguments).Groups["dir"].Value;
        var copyFromBuild = dockerfile.InStage(final, "COPY").Single(c => c.Arguments.StartsWith("--from=", StringComparison.Ordinal));
        var workdir = dockerfile.InStage(final, "WORKDIR").Last().Arguments;
        var framework = Regex.Match(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props")), @"<TargetFramework>net(?<v>[\d.]+)</TargetFramework>").Groups["v"].Value;

        Assert.Multiple(() =>
        {
            Assert.That(from, Does.StartWith($"mcr.microsoft.com/dotnet/aspnet:{framework}"), "the ASP.NET runtime of the target framework");
            Assert.That(int.TryParse(user.Split(':')[0], out var uid) && uid > 0, Is.True, $"USER {user}: a numeric non-root uid (Kubernetes' runAsNonRoot can only verify numbers)");
            Assert.That(env["ASPNETCORE_URLS"], Does.EndWith(":" + expose), "EXPOSE is the port of ASPNETCORE_URLS");
            Assert.That(entrypoint.ExecForm(), Is.EqualTo(new[] { "dotnet", "ForwardAuth.dll" }));
            Assert.That(copyFromBuild.Arguments, Does.Contain(" " + publishDir.TrimEnd('/') + " ").Or.Contain(" " + publishDir.TrimEnd('/') + "/ "), "the runtime stage copies the publish output");
            Assert.That(workdir, Is.EqualTo("/app"));
            Assert.That(dockerfile.InStage(final, "HEALTHCHECK").Single().Arguments, Does.Contain("/healthz"));
        });

        foreach (var (name, value) in env)
        {
            // The base image's ASPNETCORE_HTTP_PORTS is emptied (only ASPNETCORE_URLS decides); anything else must be read.
            if (name == "ASPNETCORE_HTTP_PORTS")
            {
                Assert.That(value, Is.Empty);
                continue;
            }

            Assert.That(ForwardAuthEnvironment.WhyNotRead(name), Is.Null);
        }

        var chartValues = Yaml.ReadFile(Path.Combine(DeploymentTools.ChartDirectory, "values.yaml"));
        Assert.That(chartValues.Text("containerPort"), Is.EqualTo(expose), "the chart's containerPort");
        Assert.That(chartValues.Text("podSecurityContext.runAsUser"), Is.EqualTo(user.Split(':')[0]), "the chart runs as the image's user");
    }

    [GeneratedRegex(@"(?<=\s)(-o|--output)(?:\s+|=)(?<dir>\S+)")]
    private static partial Regex OutputOptionDir();

    [GeneratedRegex(@"((?:^|\s)(?:-o|--output)(?:\s+|=))\S+")]
    private static partial Regex OutputOption();

    [GeneratedRegex(@"^(Directory\.(Build|Packages)\.(props|targets)|global\.json|\.editorconfig|nuget\.config)$", RegexOptions.IgnoreCase)]
    private static partial Regex BuildInput();
}

/// <summary>.dockerignore matching as Docker does it: last matching pattern wins, "!" re-includes, a match covers a directory's contents.</summary>
internal sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude)> _rules = [];

    public static DockerIgnore Read(string path)
    {
        var ignore = new DockerIgnore();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var exclude = !line.StartsWith('!');
            var pattern = line.TrimStart('!').Trim().TrimStart('/').TrimEnd('/');
            var regex = "^" + Regex.Escape(pattern).Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal).Replace(@"\*\*", ".*", StringComparison.Ordinal)
                .Replace(@"\*", "[^/]*", StringComparison.Ordinal).Replace(@"\?", "[^/]", StringComparison.Ordinal) + "(/.*)?$";
            ignore._rules.Add((new Regex(regex), exclude));
        }

        return ignore;
    }

    public bool Excludes(string path)
    {
        var excluded = false;
        foreach (var (pattern, exclude) in _rules)
        {
            if (pattern.IsMatch(path))
            {
                excluded = exclude;
            }
        }

        return excluded;
    }
}
