using System.Text;

namespace ForwardAuth.Auth;

/// <summary>
/// <c>excludedURLs</c> matching on the normalised path only — never the query or fragment — on segment boundaries
/// (<c>/public</c> matches <c>/public</c> and <c>/public/x</c>, not <c>/publicity</c>). Normalisation can only make a
/// path less excluded: anything a backend might read differently (encoded separators, double encoding, backslashes,
/// <c>;</c> parameters) is not excluded, so it needs authentication.
/// </summary>
internal static class PathRules
{
    public static bool IsExcluded(string rawPath, IReadOnlyList<string> excluded)
    {
        if (excluded.Count == 0)
        {
            return false;
        }

        var path = Normalize(rawPath);
        if (path is null)
        {
            return false;
        }

        foreach (var prefix in excluded)
        {
            if (prefix == "/" || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Decodes once, resolves dot segments, collapses duplicate slashes; null when the path is ambiguous.</summary>
    internal static string? Normalize(string rawPath)
    {
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(rawPath);
        }
        catch (UriFormatException)
        {
            return null;
        }

        if (decoded.Length == 0 || decoded[0] != '/' || decoded.Any(c => c is '%' or '\\' or ';' || char.IsControl(c)))
        {
            return null;
        }

        var segments = new List<string>();
        foreach (var segment in decoded.Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    continue;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        var sb = new StringBuilder();
        foreach (var segment in segments)
        {
            sb.Append('/').Append(segment);
        }

        return sb.Length == 0 ? "/" : sb.ToString();
    }
}
