using System.Text.RegularExpressions;

namespace ForwardAuth.Configuration;

/// <summary>
/// One login across unrelated domains (<c>authURL</c> + <c>ssoDomains</c>): a browser without a session on a host
/// under one of <paramref name="Domains"/> is sent to the auth host's <see cref="IssuePath"/>, which answers with a
/// one-time ticket redeemed at <see cref="TicketPath"/> on that host. Null in <see cref="ForwardAuthOptions.Sso"/>
/// when neither is set.
/// </summary>
internal sealed partial record SsoOptions(Uri AuthUrl, IReadOnlyList<string> Domains)
{
    /// <summary>Served on the auth host: issues a ticket for <c>?rd=</c> (or starts a login there first).</summary>
    public const string IssuePath = "/oauth2/sso";

    /// <summary>Served on each joining host (routed to ForwardAuth by the proxy): redeems a ticket.</summary>
    public const string TicketPath = "/oauth2/ticket";

    /// <summary>The auth host's origin (scheme, host and port as a browser would name it).</summary>
    public string AuthOrigin => AuthUrl.GetLeftPart(UriPartial.Authority);

    /// <summary>True when <paramref name="host"/> is one of the domains or a subdomain of one (case-insensitive).</summary>
    public bool Covers(string host) => Domains.Any(d => IsUnder(host, d));

    /// <summary>True when <paramref name="host"/> is <paramref name="domain"/> or one of its subdomains.</summary>
    public static bool IsUnder(string host, string domain) =>
        host.Equals(domain, StringComparison.OrdinalIgnoreCase) || host.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads and checks both settings; null when neither is set. Every problem names its field.</summary>
    public static SsoOptions? Read(SettingReader r)
    {
        var url = r.Text("authURL");
        var domains = r.List("ssoDomains");
        if (url.Length == 0 && domains.Count == 0)
        {
            return null;
        }

        if (url.Length == 0)
        {
            r.Fail("authURL", "is required when ssoDomains is set (the auth host that issues single sign-on tickets)");
            return null;
        }

        if (domains.Count == 0)
        {
            r.Fail("ssoDomains", "is required when authURL is set (the domains whose hosts may join the login)");
            return null;
        }

        Uri? authUrl = null;
        if (!ConfigurationLoader.TryAbsoluteUri(url, out var parsed) || parsed.Scheme is not ("https" or "http")
            || parsed.UserInfo.Length > 0 || parsed.AbsolutePath != "/" || parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
        {
            r.Fail("authURL", $"'{url}' must be an absolute http(s) URL of the auth host, without path, query or fragment (e.g. https://auth.example.net)");
        }
        else
        {
            authUrl = parsed;
        }

        var valid = new List<string>();
        foreach (var item in domains)
        {
            var domain = item.TrimStart('.').ToLowerInvariant();
            if (DomainName().IsMatch(domain))
            {
                valid.Add(domain);
            }
            else
            {
                r.Fail("ssoDomains", $"'{item}' is not a domain name with at least two labels (e.g. example.org; no scheme, port, path or wildcard)");
            }
        }

        return authUrl is null || valid.Count != domains.Count ? null : new SsoOptions(authUrl, valid.Distinct(StringComparer.Ordinal).ToList());
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainName();
}
