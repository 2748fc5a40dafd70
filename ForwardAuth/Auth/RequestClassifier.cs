using Microsoft.Net.Http.Headers;

namespace ForwardAuth.Auth;

/// <summary>Tells a browser navigation (redirect it to log in) from an API or XHR call (answer 401).</summary>
internal static class RequestClassifier
{
    public static ChallengeKind ChallengeFor(string method, IHeaderDictionary headers)
    {
        if (IsApi(headers))
        {
            return ChallengeKind.Unauthorized;
        }

        return method is "GET" or "HEAD" ? ChallengeKind.Redirect : ChallengeKind.RedirectSeeOther;
    }

    private static bool IsApi(IHeaderDictionary headers)
    {
        if (headers.ContainsKey(HeaderNames.Authorization) || headers.ContainsKey(HeaderNames.XRequestedWith))
        {
            return true;
        }

        var fetchMode = headers["Sec-Fetch-Mode"].ToString();
        if (fetchMode.Length > 0)
        {
            return !string.Equals(fetchMode, "navigate", StringComparison.OrdinalIgnoreCase);
        }

        var accept = headers.Accept.ToString();
        var wantsHtml = accept.Contains("text/html", StringComparison.OrdinalIgnoreCase);
        var wantsJson = accept.Contains("json", StringComparison.OrdinalIgnoreCase);
        return wantsJson && !wantsHtml;
    }

    public static bool IsCorsPreflight(string method, IHeaderDictionary headers) =>
        method == "OPTIONS" && headers.ContainsKey(HeaderNames.Origin) && headers.ContainsKey(HeaderNames.AccessControlRequestMethod);
}
