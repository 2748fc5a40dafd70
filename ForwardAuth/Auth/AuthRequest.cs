namespace ForwardAuth.Auth;

/// <summary>
/// The original request as Auth needs it: what the proxy described in its forwarded headers, or what reached ForwardAuth
/// directly (an auth host). Already validated; no HttpContext. <paramref name="Client"/> is the client's address as
/// the endpoint determined it (from a trusted proxy's <c>X-Forwarded-For</c>, else the peer), empty when unknown.
/// </summary>
internal sealed record AuthRequest(string Method, string Origin, string Path, string Query, IHeaderDictionary Headers, string Client = "")
{
    /// <summary>Path and query as the client asked for it.</summary>
    public string PathAndQuery => Query.Length > 0 ? Path + Query : Path;

    /// <summary>A cookie of the original request (the proxy forwards the client's <c>Cookie</c> header).</summary>
    public string? Cookie(string name) => RequestCookies.Read(Headers, name);

    /// <summary>A query parameter given once; a repeated parameter is ambiguous and treated as absent.</summary>
    public string? QueryValue(string name)
    {
        var values = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query).GetValueOrDefault(name);
        return values.Count == 1 ? values[0] ?? "" : null;
    }
}
