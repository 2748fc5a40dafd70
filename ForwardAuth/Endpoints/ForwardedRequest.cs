using System.Net;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The original request as the proxy described it (<c>X-Forwarded-Method/-Proto/-Host/-Uri</c>), believed only from a
/// peer in <c>trustedProxies</c>; from any other peer the forwarded headers are ignored and the request is judged as
/// that peer sent it. Malformed values (missing, control characters, NUL, not a URI) are refused.
/// </summary>
internal sealed partial record ForwardedRequest(
    string Method,
    string Proto,
    string Host,
    string Path,
    string Query,
    bool FromTrustedProxy,
    IHeaderDictionary Headers)
{
    private const int MaxUriLength = 8192;

    /// <summary>Path and query as the client asked for it.</summary>
    public string PathAndQuery => Query.Length > 0 ? Path + Query : Path;

    public string Origin => Proto + "://" + Host;

    /// <summary>The client's address (<see cref="ClientAddress"/>), for regulation; empty when unknown.</summary>
    public string Client { get; init; } = "";

    /// <summary>The request as Auth judges it.</summary>
    public AuthRequest ForAuth() => new(Method, Origin, Path, Query, Headers, Client);

    /// <summary>Parses a forward-auth call (<c>/auth</c>): the forwarded headers describe the request to judge.</summary>
    public static ForwardedRequest? TryParseForwarded(HttpRequest request, ForwardAuthOptions options, out string? error) =>
        WithClient(ParseForwarded(request, options, out error), request, options);

    private static ForwardedRequest? ParseForwarded(HttpRequest request, ForwardAuthOptions options, out string? error)
    {
        error = null;
        if (!IsTrusted(request.HttpContext.Connection.RemoteIpAddress, options.TrustedProxies))
        {
            return FromDirect(request, trusted: false, options, out error);
        }

        var method = Single(request, "X-Forwarded-Method", ref error);
        var proto = Single(request, "X-Forwarded-Proto", ref error);
        var host = Single(request, "X-Forwarded-Host", ref error);
        var uri = Single(request, "X-Forwarded-Uri", ref error);
        if (error is not null)
        {
            return null;
        }

        return Build(method!, proto!, host!, uri!, trusted: true, request.Headers, options, out error);
    }

    /// <summary>
    /// A request served by ForwardAuth itself (callback, logout, login on an auth host): the path is the real one; the
    /// scheme and host come from <c>X-Forwarded-Proto/-Host</c> when a trusted proxy sent them.
    /// </summary>
    public static ForwardedRequest? FromDirect(HttpRequest request, ForwardAuthOptions options, out string? error) =>
        WithClient(FromDirect(request, IsTrusted(request.HttpContext.Connection.RemoteIpAddress, options.TrustedProxies), options, out error), request, options);

    private static ForwardedRequest? WithClient(ForwardedRequest? parsed, HttpRequest request, ForwardAuthOptions options) =>
        parsed is null ? null : parsed with { Client = ClientAddress.Of(request, options.TrustedProxies) };

    private static ForwardedRequest? FromDirect(HttpRequest request, bool trusted, ForwardAuthOptions options, out string? error)
    {
        error = null;
        var proto = request.Scheme;
        // The raw header, validated below like X-Forwarded-Host: HttpRequest.Host decodes punycode and throws on an
        // invalid label ("xn--"), which turned one bad Host header into a 500.
        var host = request.Headers.Host.ToString();
        if (trusted)
        {
            proto = Optional(request, "X-Forwarded-Proto", ref error) ?? proto;
            host = Optional(request, "X-Forwarded-Host", ref error) ?? host;
        }

        if (error is not null)
        {
            return null;
        }

        var uri = request.Path.Value + request.QueryString.Value;
        return Build(request.Method, proto, host, uri, trusted, request.Headers, options, out error);
    }

    private static ForwardedRequest? Build(
        string method, string proto, string host, string uri, bool trusted, IHeaderDictionary headers, ForwardAuthOptions options, out string? error)
    {
        error = ValidateMethod(method) ?? ValidateHost(host) ?? ValidateUri(uri);
        proto = proto.ToLowerInvariant();
        if (proto is not ("http" or "https"))
        {
            error ??= "X-Forwarded-Proto must be http or https";
        }

        if (error is not null)
        {
            return null;
        }

        if (options.ForceHttps)
        {
            proto = "https";
        }

        var queryStart = uri.IndexOf('?', StringComparison.Ordinal);
        var fragmentStart = uri.IndexOf('#', StringComparison.Ordinal);
        var pathEnd = new[] { queryStart, fragmentStart, uri.Length }.Where(i => i >= 0).Min();
        // A '?' after the first '#' is part of the fragment, not a query.
        var query = queryStart >= 0 && (fragmentStart < 0 || queryStart < fragmentStart)
            ? uri[queryStart..(fragmentStart > queryStart ? fragmentStart : uri.Length)]
            : "";
        return new ForwardedRequest(method.ToUpperInvariant(), proto, host.ToLowerInvariant(), uri[..pathEnd], query, trusted, headers);
    }

    internal static bool IsTrusted(IPAddress? peer, IReadOnlyList<IPNetwork> trusted)
    {
        if (peer is null)
        {
            return false;
        }

        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        foreach (var network in trusted)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Single(HttpRequest request, string name, ref string? error)
    {
        var value = Optional(request, name, ref error);
        if (value is null)
        {
            error ??= name + " is missing";
        }

        return value;
    }

    private static string? Optional(HttpRequest request, string name, ref string? error)
    {
        if (!request.Headers.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1)
        {
            error ??= name + " appears more than once";
            return null;
        }

        var value = values[0] ?? "";
        if (value.Length == 0)
        {
            error ??= name + " is empty";
            return null;
        }

        if (value.Any(char.IsControl))
        {
            error ??= name + " contains control characters";
            return null;
        }

        return value;
    }

    private static string? ValidateMethod(string method) =>
        method.Length is > 0 and <= 32 && method.All(char.IsAsciiLetter) ? null : "X-Forwarded-Method is not an HTTP method";

    private static string? ValidateHost(string host)
    {
        // A host name on the wire is ASCII (IDNs travel as punycode) without percent-encoding: Unicode is malformed and
        // some of it makes Uri.IdnHost throw further on; '%' only brings IPv6 zone ids and encoded names Uri rewrites.
        if (host.Length is 0 or > 255 || host.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c > '\u007e' || c is '@' or '/' or '\\' or '?' or '#' or '%'))
        {
            return "X-Forwarded-Host is not a host name";
        }

        // Nothing of the value may spill into the path: "[::1]5" parses as host [::1] with path "/5/".
        return Uri.TryCreate("http://" + host + "/", UriKind.Absolute, out var parsed) && parsed.Host.Length > 0 && parsed.AbsolutePath == "/"
            ? null
            : "X-Forwarded-Host is not a host name";
    }

    private static string? ValidateUri(string uri)
    {
        if (uri.Length is 0 or > MaxUriLength || uri[0] != '/')
        {
            return "X-Forwarded-Uri must be a path starting with '/'";
        }

        return uri.Any(c => char.IsControl(c) || c == ' ') ? "X-Forwarded-Uri contains control characters or spaces" : null;
    }
}
