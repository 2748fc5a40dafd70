namespace ForwardAuth.Auth;

/// <summary>Reads the cookies of the original request (the proxy forwards the client's <c>Cookie</c> header).</summary>
internal static class RequestCookies
{
    public static string? Read(IHeaderDictionary headers, string name)
    {
        foreach (var header in headers.Cookie)
        {
            foreach (var part in (header ?? "").Split(';'))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && part.AsSpan(0, eq).Trim().SequenceEqual(name))
                {
                    return part[(eq + 1)..].Trim().Trim('"');
                }
            }
        }

        return null;
    }

    /// <summary>The <c>Cookie</c> header without ForwardAuth's own cookies (for <c>stripAuthCookies</c>).</summary>
    public static string WithoutOwnCookies(IHeaderDictionary headers, string prefix) =>
        string.Join("; ", headers.Cookie
            .SelectMany(h => (h ?? "").Split(';'))
            .Select(p => p.Trim())
            .Where(p => p.Length > 0 && !p.StartsWith(prefix, StringComparison.Ordinal)));
}
