using ForwardAuth.Configuration;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Writes ForwardAuth's cookies: <c>HttpOnly</c>, <c>SameSite=Lax</c> (sent on the provider's top-level redirect back),
/// <c>Path=/</c>, <c>Secure</c> unless the original request was plain http (and <c>forceHTTPS</c> is off), domain from
/// <c>cookieDomain</c> (with <c>ssoDomains</c>, only on hosts under it: another domain's cookies are host-only).
/// </summary>
internal static class AuthCookies
{
    public static void Set(HttpResponse response, ForwardedRequest request, ForwardAuthOptions options, string name, string value, TimeSpan maxAge) =>
        response.Cookies.Append(name, value, Options(request, options, maxAge));

    public static void Clear(HttpResponse response, ForwardedRequest request, ForwardAuthOptions options, string name)
    {
        var cookie = Options(request, options, TimeSpan.Zero);
        cookie.Expires = DateTimeOffset.UnixEpoch;
        response.Cookies.Append(name, "", cookie);
    }

    // The host without its port ("[::1]" keeps its brackets).
    private static string HostName(string host) =>
        host.LastIndexOf(':') is var colon && colon > 0 && !host.EndsWith(']') ? host[..colon] : host;

    private static CookieOptions Options(ForwardedRequest request, ForwardAuthOptions options, TimeSpan maxAge) => new()
    {
        HttpOnly = true,
        Secure = request.Proto == "https",
        SameSite = SameSiteMode.Lax,
        Path = "/",
        Domain = options.CookieDomain.Length > 0 && (options.Sso is null || SsoOptions.IsUnder(HostName(request.Host), options.CookieDomain)) ? options.CookieDomain : null,
        MaxAge = maxAge,
        IsEssential = true,
    };
}
