using ForwardAuth.Auth;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Tests.Fast.Support;

/// <summary>Original requests as Auth receives them (already read from the proxy's forwarded headers).</summary>
internal static class Requests
{
    /// <summary>A browser navigating (GET, <c>Sec-Fetch-Mode: navigate</c>, HTML accepted).</summary>
    public static AuthRequest Navigation(string pathAndQuery, string? cookie = null, string method = "GET") =>
        Make(method, pathAndQuery, cookie, ("Accept", "text/html,application/xhtml+xml"), ("Sec-Fetch-Mode", "navigate"));

    /// <summary>A browser posting a form (the answer to an unauthenticated one is 303).</summary>
    public static AuthRequest FormPost(string pathAndQuery, string? cookie = null) =>
        Make("POST", pathAndQuery, cookie, ("Accept", "text/html"), ("Sec-Fetch-Mode", "navigate"));

    /// <summary>An API call (JSON accepted), with an <c>Authorization</c> header when given.</summary>
    public static AuthRequest Api(string pathAndQuery, string? cookie = null, string? authorization = null, string method = "GET") =>
        authorization is null
            ? Make(method, pathAndQuery, cookie, ("Accept", "application/json"))
            : Make(method, pathAndQuery, cookie, ("Accept", "application/json"), ("Authorization", authorization));

    /// <summary>The answer to a request let through without an identity, with the reason its decision line gives.</summary>
    public static AuthOutcome.Allow AllowedAnonymously(string reason) =>
        new(null, null) { Note = new DecisionNote(reason, "none", "configured none") };

    /// <summary>The address every request of the fast tier comes from (as the endpoint would have determined it).</summary>
    public const string Client = "192.0.2.10";

    public static AuthRequest Make(string method, string pathAndQuery, string? cookie, params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary[name] = value;
        }

        if (cookie is not null)
        {
            dictionary["Cookie"] = cookie;
        }

        var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        return q < 0
            ? new AuthRequest(method, FastStack.Origin, pathAndQuery, "", dictionary, Client)
            : new AuthRequest(method, FastStack.Origin, pathAndQuery[..q], pathAndQuery[q..], dictionary, Client);
    }
}
