namespace ForwardAuth.Configuration;

/// <summary>
/// <c>authorizeParams</c>: extra parameters of the authorization request (<c>prompt</c>, <c>access_type</c>,
/// <c>resource</c>, <c>audience</c>, <c>hd</c>, <c>domain_hint</c>…). The protocol's own parameters are ForwardAuth's:
/// setting one here is a start-up error, since overriding it would break state, nonce, PKCE or the callback.
/// </summary>
internal static class AuthorizeParams
{
    private const string Path = "authorizeParams";

    /// <summary>
    /// Set by ForwardAuth itself. <c>response_mode</c> too: the callback reads the query, a form_post answer would
    /// never complete.
    /// </summary>
    private static readonly string[] Reserved =
        ["state", "nonce", "redirect_uri", "client_id", "response_type", "response_mode", "scope"];

    public static IReadOnlyDictionary<string, string> Read(SettingReader r)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in r.Items(Path))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var name = (eq < 0 ? item : item[..eq]).Trim();
            var value = eq < 0 ? "" : item[(eq + 1)..].Trim();
            if (name.Length == 0 || eq < 0)
            {
                r.Fail(Path, $"'{item}' is not name=value");
            }
            else if (IsReserved(name))
            {
                r.Fail(Path, $"'{name}' is a protocol parameter ForwardAuth sets itself and cannot be overridden" + (name == "scope" ? " (use scopes)" : ""));
            }
            else if (!parameters.TryAdd(name, value))
            {
                r.Fail(Path, $"'{name}' is given twice");
            }
        }

        return parameters;
    }

    private static bool IsReserved(string name) =>
        Reserved.Contains(name, StringComparer.OrdinalIgnoreCase) || name.StartsWith("code_challenge", StringComparison.OrdinalIgnoreCase);
}
