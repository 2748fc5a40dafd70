using System.Net;

namespace ForwardAuth.Configuration;

/// <summary>The list-valued settings that need more than splitting: paths, claim headers, proxy networks.</summary>
internal static class ListSettings
{
    public static List<string> ExcludedUrls(SettingReader r)
    {
        var list = r.List("excludedURLs");
        // "//" would be trimmed to the empty prefix, which matches every path: say "/" to exclude everything.
        foreach (var item in list.Where(p => !p.StartsWith('/') || p.StartsWith("//", StringComparison.Ordinal)
            || p.Contains('?', StringComparison.Ordinal) || p.Contains('%', StringComparison.Ordinal)))
        {
            r.Fail("excludedURLs", $"'{item}' must be a plain path starting with a single '/' (no query or percent-encoding)");
        }

        return list.Select(p => p.Length > 1 ? p.TrimEnd('/') : p).ToList();
    }

    public static List<ClaimHeader> ClaimHeaders(SettingReader r)
    {
        var result = new List<ClaimHeader>();
        foreach (var item in r.List("claimHeaders"))
        {
            var parts = item.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0 || parts[0].Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-')))
            {
                r.Fail("claimHeaders", $"'{item}' is not Header-Name=claim.path");
                continue;
            }

            result.Add(new ClaimHeader(parts[0], parts[1]));
        }

        return result;
    }

    public static List<IPNetwork> TrustedProxies(SettingReader r)
    {
        var result = new List<IPNetwork>();
        foreach (var item in r.List("trustedProxies"))
        {
            var text = item.Contains('/', StringComparison.Ordinal) ? item
                : item + (item.Contains(':', StringComparison.Ordinal) ? "/128" : "/32");
            if (IPNetwork.TryParse(text, out var network))
            {
                result.Add(network);
            }
            else
            {
                r.Fail("trustedProxies", $"'{item}' is not an IP address or CIDR");
            }
        }

        return result;
    }
}
