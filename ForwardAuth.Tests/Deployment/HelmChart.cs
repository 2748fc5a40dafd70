namespace ForwardAuth.Tests.Deployment;

/// <summary><c>helm template</c> / <c>helm lint</c> of helm/forwardauth.</summary>
internal static class HelmChart
{
    public const string Namespace = "auth";

    public static ToolResult TryTemplate(string release, IEnumerable<string> valuesFiles, IEnumerable<string>? set = null) =>
        DeploymentTools.RunHelm(Arguments("template", release, valuesFiles, set));

    public static ManifestSet Template(string release, IEnumerable<string> valuesFiles, IEnumerable<string>? set = null)
    {
        var result = TryTemplate(release, valuesFiles, set);
        Assert.That(result.ExitCode, Is.Zero, result.Describe());
        return ManifestSet.FromYaml($"helm template ({string.Join(", ", valuesFiles.Select(Path.GetFileName).DefaultIfEmpty("default values"))})", result.StandardOutput);
    }

    public static ToolResult Lint(IEnumerable<string> valuesFiles) =>
        DeploymentTools.RunHelm(["lint", "--strict", DeploymentTools.ChartDirectory, "--namespace", Namespace, .. valuesFiles.SelectMany(f => new[] { "--values", f })]);

    /// <summary>NOTES.txt as <c>helm install --dry-run=client</c> prints it (no cluster needed).</summary>
    public static string Notes(string release, IEnumerable<string> valuesFiles, IEnumerable<string>? set = null)
    {
        var result = DeploymentTools.RunHelm(Arguments("install", release, valuesFiles, set).Append("--dry-run=client").ToArray());
        Assert.That(result.ExitCode, Is.Zero, result.Describe());
        var at = result.StandardOutput.IndexOf("NOTES:", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "no NOTES in: " + result.StandardOutput);
        return result.StandardOutput[at..];
    }

    private static string[] Arguments(string command, string release, IEnumerable<string> valuesFiles, IEnumerable<string>? set) =>
    [
        command, release, DeploymentTools.ChartDirectory, "--namespace", Namespace,
        .. valuesFiles.SelectMany(f => new[] { "--values", f }),
        .. (set ?? []).SelectMany(s => new[] { "--set", s }),
    ];
}
