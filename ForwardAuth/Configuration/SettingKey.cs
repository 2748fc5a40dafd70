using System.Text;

namespace ForwardAuth.Configuration;

/// <summary>How a setting's raw text is read.</summary>
internal enum SettingKind
{
    Text,
    List,
    Integer,
    Boolean,

    /// <summary>A list of <c>{name, value}</c> mappings (<c>headers</c>); in the environment the same list as YAML flow or JSON.</summary>
    Entries,

    /// <summary>Name → value pairs: a YAML mapping, or <c>name=value</c> items (a YAML list, or comma-separated text).</summary>
    Map,
}

/// <summary>
/// One configuration key: its YAML path (the traefikoidc plugin's spelling), its environment variable (the upper-snake
/// form of the path), its default and whether it is a secret (never printed, also read from <c>NAME_FILE</c>).
/// </summary>
internal sealed record SettingKey(
    string Path,
    SettingKind Kind,
    string? Default,
    string Description,
    bool Secret = false,
    long Min = long.MinValue,
    long Max = long.MaxValue)
{
    public string EnvironmentName { get; } = ToEnvironmentName(Path);

    /// <summary>
    /// <c>redis.tls.caFile</c> → <c>REDIS_TLS_CA_FILE</c>, <c>providerURL</c> → <c>PROVIDER_URL</c>,
    /// <c>excludedURLs</c> → <c>EXCLUDED_URLS</c>, <c>allowHTTPProvider</c> → <c>ALLOW_HTTP_PROVIDER</c>.
    /// </summary>
    internal static string ToEnvironmentName(string path)
    {
        var sb = new StringBuilder(path.Length + 8);
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '.')
            {
                sb.Append('_');
                continue;
            }

            if (char.IsUpper(c) && i > 0 && path[i - 1] != '.' && IsWordStart(path, i))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(c));
        }

        return sb.ToString();
    }

    // A capital starts a new word after a lower-case letter or digit ("client|ID"), or inside an acronym when the
    // next letters are a lower-case word ("HTTP|Provider") — but not before a plural "s" ("URLs").
    private static bool IsWordStart(string path, int i)
    {
        var previous = path[i - 1];
        if (char.IsLower(previous) || char.IsDigit(previous))
        {
            return true;
        }

        if (!char.IsUpper(previous) || i + 1 >= path.Length || !char.IsLower(path[i + 1]))
        {
            return false;
        }

        var pluralS = path[i + 1] == 's' && (i + 2 >= path.Length || !char.IsLower(path[i + 2]));
        return !pluralS;
    }
}
