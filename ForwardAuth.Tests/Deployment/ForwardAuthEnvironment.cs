using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// The environment variables ForwardAuth reads: every key of <see cref="SettingsCatalogue"/> by its environment name,
/// <c>&lt;NAME&gt;_FILE</c> for the secrets only, and the host's own (ASPNETCORE_URLS, FORWARDAUTH_CONFIG, DOTNET_*).
/// </summary>
internal static class ForwardAuthEnvironment
{
    public static readonly IReadOnlySet<string> SettingNames =
        SettingsCatalogue.All.Select(k => k.EnvironmentName).ToHashSet(StringComparer.Ordinal);

    public static readonly IReadOnlySet<string> SecretNames =
        SettingsCatalogue.All.Where(k => k.Secret).Select(k => k.EnvironmentName).ToHashSet(StringComparer.Ordinal);

    public static readonly IReadOnlySet<string> HostNames = new HashSet<string>(StringComparer.Ordinal) { "ASPNETCORE_URLS", "FORWARDAUTH_CONFIG" };

    /// <summary>Null when ForwardAuth reads <paramref name="name"/>, else why it does not.</summary>
    public static string? WhyNotRead(string name)
    {
        if (SettingNames.Contains(name) || HostNames.Contains(name) || name.StartsWith("DOTNET_", StringComparison.Ordinal))
        {
            return null;
        }

        if (name.EndsWith("_FILE", StringComparison.Ordinal))
        {
            var secret = name[..^"_FILE".Length];
            return SecretNames.Contains(secret) ? null : $"{name}: only secrets ({string.Join(", ", SecretNames)}) have a _FILE form";
        }

        var near = SettingNames.Where(n => Distance(n, name) <= 3).ToList();
        return $"{name}: not a setting of ForwardAuth" + (near.Count > 0 ? $" (did you mean {string.Join(" or ", near)}?)" : "");
    }

    public static void AssertAllRead(IEnumerable<string> names, string where)
    {
        var list = names.ToList();
        Assert.That(list, Is.Not.Empty, where + ": no environment variable found (the check would pass vacuously)");
        var unknown = list.Select(WhyNotRead).Where(w => w is not null).ToList();
        Assert.That(unknown, Is.Empty, where + ":\n  " + string.Join("\n  ", unknown));
    }

    /// <summary>Loads the configuration the way the service does at start, from these variables and nothing else.</summary>
    public static ForwardAuthOptions Load(IReadOnlyDictionary<string, string> environment, out IReadOnlyList<string> unknownKeys) =>
        ConfigurationLoader.Load([], name => environment.TryGetValue(name, out var v) ? v : null, out unknownKeys);

    public static ForwardAuthOptions LoadWithoutComplaint(IReadOnlyDictionary<string, string> environment, string where)
    {
        ForwardAuthOptions options;
        IReadOnlyList<string> unknown;
        try
        {
            options = Load(environment, out unknown);
        }
        catch (ConfigurationException e)
        {
            throw new AssertionException($"{where}: ForwardAuth refuses this configuration:\n{e.Message}");
        }

        Assert.That(unknown, Is.Empty, where + ": keys ForwardAuth ignores");
        return options;
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }

        return d[a.Length, b.Length];
    }
}
