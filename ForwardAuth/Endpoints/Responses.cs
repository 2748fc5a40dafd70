using System.Net;
using System.Text.Json;

namespace ForwardAuth.Endpoints;

/// <summary>Small response writers shared by the handlers. Nothing secret is ever echoed.</summary>
internal static class Responses
{
    public static Task Json(HttpResponse response, int status, string error, string description)
    {
        response.StatusCode = status;
        NoStore(response);
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["error"] = error,
            ["error_description"] = description,
        }));
    }

    public static Task Page(HttpResponse response, int status, string title, string message, string? linkUrl)
    {
        response.StatusCode = status;
        NoStore(response);
        response.ContentType = "text/html; charset=utf-8";
        var link = linkUrl is null ? "" : $"<p><a href=\"{WebUtility.HtmlEncode(linkUrl)}\">Try again</a></p>";
        return response.WriteAsync(
            $"<!doctype html><html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head>" +
            $"<body><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(message)}</p>{link}</body></html>");
    }

    public static void Redirect(HttpResponse response, int status, string location)
    {
        response.StatusCode = status;
        NoStore(response);
        response.Headers.Location = location;
    }

    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }

    /// <summary>
    /// The front-channel logout answer: a tiny page the provider loads in a hidden iframe. Never cached (the
    /// specification's <c>no-cache, no-store</c>) and without frame restrictions, so it loads in the provider's frame.
    /// </summary>
    public static Task FrontchannelLoggedOut(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers.Pragma = "no-cache";
        response.ContentType = "text/html; charset=utf-8";
        return response.WriteAsync("<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title></head><body>Signed out</body></html>");
    }
}
