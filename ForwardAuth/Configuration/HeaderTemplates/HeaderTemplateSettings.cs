namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>
/// The plugin's <c>headers</c> key: <c>- name: X-User-Email</c> / <c>value: "{{.Claims.email}}"</c>. Every entry is
/// compiled here, at start; every problem is a configuration error naming the header (exit code 2).
/// </summary>
internal static class HeaderTemplateSettings
{
    public const string Key = "headers";
    private const int MaxTemplateLength = 4096;

    /// <summary>Headers ForwardAuth writes itself on every 200 (Endpoints/IdentityHeaders): one writer per header.</summary>
    internal static readonly string[] IdentityHeaderNames =
        ["X-Forwarded-User", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username"];

    // Headers of the exchange itself: a template must not corrupt ForwardAuth's own answer to the proxy.
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Proxy-Connection",
        "TE", "Trailer", "Host", "Date", "Server", "Set-Cookie", "Cache-Control", "Pragma", "Expires", "Location",
        "WWW-Authenticate", "Retry-After",
    };

    public static HeaderTemplateSet Read(SettingReader r, IReadOnlyList<ClaimHeader> claimHeaders, bool passAuthorizationHeader, bool stripAuthCookies)
    {
        var entries = r.Entries(Key);
        if (entries.Count == 0)
        {
            return HeaderTemplateSet.None;
        }

        var claimNames = new HashSet<string>(StringComparer.Ordinal);
        var templates = new List<HeaderTemplate>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var name = entry.GetValueOrDefault("name")?.Trim() ?? "";
            var label = name.Length > 0 && IsToken(name) ? $"header '{name}'" : $"entry #{i + 1}";
            if (Problem(entry, name, seen, claimHeaders, passAuthorizationHeader, stripAuthCookies) is { } problem)
            {
                r.Fail(Key, $"{label}: {problem}");
                continue;
            }

            try
            {
                templates.Add(new HeaderTemplate(name, TemplateParser.Parse(Unescape(entry["value"]), claimNames)));
            }
            catch (TemplateException e)
            {
                r.Fail(Key, $"{label}: {e.Message}");
            }
        }

        return new HeaderTemplateSet(templates, claimNames);
    }

    private static string? Problem(
        IReadOnlyDictionary<string, string> entry, string name, HashSet<string> seen, IReadOnlyList<ClaimHeader> claimHeaders, bool passAuthorizationHeader, bool stripAuthCookies)
    {
        if (entry.Keys.FirstOrDefault(k => !k.Equals("name", StringComparison.OrdinalIgnoreCase) && !k.Equals("value", StringComparison.OrdinalIgnoreCase)) is { } unknown)
        {
            return $"unknown field '{unknown}' (an entry has a name and a value)";
        }

        if (name.Length == 0)
        {
            return "has no name";
        }

        if (!IsToken(name))
        {
            return $"'{name}' is not a header name (letters, digits and - only)";
        }

        if (!seen.Add(name))
        {
            return "is listed twice";
        }

        if (IdentityHeaderNames.Contains(name, StringComparer.OrdinalIgnoreCase) || Reserved.Contains(name))
        {
            return "is written by ForwardAuth itself; choose another name";
        }

        if (claimHeaders.Any(c => c.HeaderName.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            return "is also a claimHeaders header; keep one of them";
        }

        if (passAuthorizationHeader && name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
        {
            return "passAuthorizationHeader already writes Authorization; keep one of them";
        }

        if (stripAuthCookies && name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
        {
            return "stripAuthCookies already writes Cookie; keep one of them";
        }

        var value = entry.GetValueOrDefault("value");
        if (string.IsNullOrEmpty(value))
        {
            return "has no value (the template)";
        }

        return value.Length > MaxTemplateLength ? $"the template is longer than {MaxTemplateLength} characters" : null;
    }

    /// <summary>
    /// The plugin's documented escape: <c>{{{{.Claims.email}}}}</c> (Traefik's own template pass turns it into
    /// <c>{{.Claims.email}}</c> before the plugin sees it). ForwardAuth reads the file itself, so it does the same: in a
    /// value that contains <c>{{{{</c> (never valid in Go's language), <c>{{{{</c> and <c>}}}}</c> become <c>{{</c> and <c>}}</c>.
    /// </summary>
    internal static string Unescape(string value) =>
        value.Contains("{{{{", StringComparison.Ordinal)
            ? value.Replace("{{{{", "{{", StringComparison.Ordinal).Replace("}}}}", "}}", StringComparison.Ordinal)
            : value;

    private static bool IsToken(string name) => name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
