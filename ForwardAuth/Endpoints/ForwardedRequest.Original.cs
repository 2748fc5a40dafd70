using ForwardAuth.Configuration;

namespace ForwardAuth.Endpoints;

/// <summary>nginx <c>auth_request</c>: the original request as nginx and ingress-nginx describe it.</summary>
internal sealed partial record ForwardedRequest
{
    /// <summary>
    /// Parses an <c>auth_request</c> subrequest (<c>/oauth2/auth</c>). From a peer in <c>trustedProxies</c> the original
    /// URL comes from <c>X-Original-URL</c> (an absolute URL, as ingress-nginx sends it), else from
    /// <c>X-Forwarded-Uri</c> with <c>X-Forwarded-Host</c> (and <c>X-Forwarded-Proto</c>, default the request's scheme),
    /// else from <c>X-Auth-Request-Redirect</c> (an absolute URL); the method from <c>X-Original-Method</c> or
    /// <c>X-Forwarded-Method</c> (an nginx subrequest is always a GET). From any other peer the headers are ignored and
    /// the request is judged as that peer sent it, as on <c>/auth</c>. Malformed values are refused.
    /// </summary>
    public static ForwardedRequest? TryParseOriginal(HttpRequest request, ForwardAuthOptions options, out string? error) =>
        WithClient(ParseOriginal(request, options, out error), request, options);

    private static ForwardedRequest? ParseOriginal(HttpRequest request, ForwardAuthOptions options, out string? error)
    {
        error = null;
        if (!IsTrusted(request.HttpContext.Connection.RemoteIpAddress, options.TrustedProxies))
        {
            return FromDirect(request, trusted: false, options, out error);
        }

        var method = Optional(request, "X-Original-Method", ref error) ?? Optional(request, "X-Forwarded-Method", ref error) ?? request.Method;
        var original = Optional(request, "X-Original-URL", ref error);
        var uri = original is null ? Optional(request, "X-Forwarded-Uri", ref error) : null;
        var redirect = original is null && uri is null ? Optional(request, "X-Auth-Request-Redirect", ref error) : null;
        if (error is not null)
        {
            return null;
        }

        if (uri is not null)
        {
            var host = Single(request, "X-Forwarded-Host", ref error);
            var proto = Optional(request, "X-Forwarded-Proto", ref error) ?? request.Scheme;
            return error is null ? Build(method, proto, host!, uri, trusted: true, request.Headers, options, out error) : null;
        }

        var absolute = original ?? redirect;
        if (absolute is null)
        {
            error = "X-Original-URL, X-Forwarded-Uri or X-Auth-Request-Redirect is required";
            return null;
        }

        var header = original is not null ? "X-Original-URL" : "X-Auth-Request-Redirect";
        if (!SplitAbsolute(absolute, out var scheme, out var authority, out var pathAndQuery))
        {
            error = header + " must be an absolute http or https URL";
            return null;
        }

        return Build(method, scheme, authority, pathAndQuery, trusted: true, request.Headers, options, out error);
    }

    // "https://host:port/path?query" → its parts as written (no normalisation: Build validates each like the
    // X-Forwarded-* headers, so "https://a@b/", "https://h\\x" or a missing host are refused there).
    private static bool SplitAbsolute(string url, out string scheme, out string authority, out string pathAndQuery)
    {
        scheme = authority = pathAndQuery = "";
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return false;
        }

        scheme = url[..separator].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            return false;
        }

        var rest = url[(separator + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        authority = end < 0 ? rest : rest[..end];
        pathAndQuery = end < 0 ? "/" : rest[end..];
        if (pathAndQuery[0] != '/')
        {
            pathAndQuery = "/" + pathAndQuery;
        }

        return authority.Length > 0;
    }
}
