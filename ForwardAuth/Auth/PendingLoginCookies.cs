using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// The bound on pending-login cookies one browser holds. Each login is its own cookie (tabs, frames: none overwrites
/// another), a few hundred bytes each; so that the <c>Cookie</c> header cannot grow past what proxies accept, a new
/// login expires the oldest ones the request carries beyond <see cref="Max"/> − 1 (unreadable or expired ones first).
/// </summary>
internal static class PendingLoginCookies
{
    /// <summary>The most pending-login cookies a browser keeps (with the new one).</summary>
    public const int Max = 8;

    /// <summary>The names of the cookies to expire with the answer that sets a new login cookie.</summary>
    public static IReadOnlyList<string> Stale(IHeaderDictionary headers, LoginCookie loginCookies, DateTimeOffset now)
    {
        var carried = new List<(string Name, string Value)>();
        foreach (var header in headers.Cookie)
        {
            foreach (var part in (header ?? "").Split(';'))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                var name = eq > 0 ? part[..eq].Trim() : "";
                if (name.StartsWith(loginCookies.NamePrefix, StringComparison.Ordinal) && carried.TrueForAll(c => c.Name != name))
                {
                    carried.Add((name, part[(eq + 1)..].Trim().Trim('"')));
                }
            }
        }

        if (carried.Count < Max)
        {
            return [];
        }

        // Unreadable or expired cookies sort first (as the oldest), then by when their login started.
        return carried
            .Select(c => (c.Name, Started: loginCookies.TryOpen(c.Value) is { } login && now - DateTimeOffset.FromUnixTimeMilliseconds(login.CreatedAt) <= LoginCookie.Lifetime
                ? login.CreatedAt
                : long.MinValue))
            .OrderBy(c => c.Started)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(carried.Count - Max + 1)
            .Select(c => c.Name)
            .ToList();
    }
}
