using System.Reflection;
using System.Runtime.InteropServices;

namespace ForwardAuth.Observability;

/// <summary>
/// What is running: the version of Directory.Build.props, the commit it was built from and the .NET runtime. Read
/// from the assembly's InformationalVersion ("0.2.0+&lt;commit&gt;"; the SDK appends the commit of a git checkout, or
/// the SourceRevisionId the Dockerfile passes). Printed by the version flag, logged at start and exported as
/// <c>forwardauth_build_info</c>.
/// </summary>
internal static class BuildInfo
{
    private const int ShortCommitLength = 12;

    public static string InformationalVersion { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The SemVer version, without build metadata.</summary>
    public static string Version { get; } = InformationalVersion.Split('+', 2)[0];

    /// <summary>
    /// The commit's first 12 characters (short enough for a metric label), or "unknown" for a build without git
    /// metadata.
    /// </summary>
    public static string Commit { get; } = InformationalVersion.Split('+', 2) is [_, var commit] && commit.Length > 0
        ? commit[..Math.Min(ShortCommitLength, commit.Length)]
        : "unknown";

    /// <summary>The runtime the process runs on, e.g. ".NET 10.0.1".</summary>
    public static string Framework => RuntimeInformation.FrameworkDescription;
}
