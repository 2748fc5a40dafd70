namespace ForwardAuth.Auth;

/// <summary>
/// Where a browser may be sent back after login: only ever to the host the login started from. The target is kept as
/// an absolute URL built from the trusted origin, so no path trick (<c>//evil</c>, <c>/\evil</c>, encoded or padded
/// variants) can move it to another host.
/// </summary>
internal static class ReturnUrl
{
    /// <summary>The absolute URL for <paramref name="pathAndQuery"/> on <paramref name="origin"/>, or the origin's root.</summary>
    public static string For(string origin, string? pathAndQuery)
    {
        var root = origin + "/";
        if (string.IsNullOrEmpty(pathAndQuery) || pathAndQuery[0] != '/' || pathAndQuery.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return root;
        }

        if (!Uri.TryCreate(root, UriKind.Absolute, out var originUri)
            || !Uri.TryCreate(origin + pathAndQuery, UriKind.Absolute, out var target))
        {
            return root;
        }

        return IsSameOrigin(originUri, target) ? target.AbsoluteUri : root;
    }

    /// <summary>True when <paramref name="url"/> is an absolute http(s) URL on exactly that scheme, host and port.</summary>
    public static bool IsSameOrigin(Uri origin, Uri url) =>
        url.IsAbsoluteUri
        && url.Scheme == origin.Scheme
        && IdnHost(url) is { } host
        && string.Equals(host, IdnHost(origin), StringComparison.OrdinalIgnoreCase)
        && url.Port == origin.Port
        && url.UserInfo.Length == 0;

    // Uri accepts some Unicode hosts whose IDN form it then cannot compute (IdnHost throws): such a host is no target.
    private static string? IdnHost(Uri url)
    {
        try
        {
            return url.IdnHost;
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// For an explicit <c>?rd=</c>: a local path, or (auth-host deployments) an absolute URL on a host under the cookie
    /// domain. Anything else falls back to the origin's root.
    /// </summary>
    public static string FromRd(string origin, string? rd, string cookieDomain)
    {
        if (string.IsNullOrEmpty(rd))
        {
            return origin + "/";
        }

        if (rd[0] == '/' && (rd.Length == 1 || (rd[1] != '/' && rd[1] != '\\')))
        {
            return For(origin, rd);
        }

        if (cookieDomain.Length > 0
            // Printable ASCII only, checked before Uri sees it: Uri.TryCreate itself throws on "//" followed by a
            // Unicode format character (IndexOutOfRangeException in .NET 10), and a browser sends IDNs as punycode.
            && rd.All(c => c is > ' ' and <= '~')
            && Uri.TryCreate(rd, UriKind.Absolute, out var target)
            && target.Scheme is "https" or "http"
            && target.UserInfo.Length == 0
            && IdnHost(target) is { } host
            && (host.Equals(cookieDomain, StringComparison.OrdinalIgnoreCase)
                || host.EndsWith("." + cookieDomain, StringComparison.OrdinalIgnoreCase)))
        {
            return target.AbsoluteUri;
        }

        return origin + "/";
    }
}
