using System.Net;

namespace Harness;

/// <summary>
/// One browser, as ForwardAuth.Tests' ForwardAuthClient drives it: <c>/auth</c> calls carry the <c>X-Forwarded-*</c>
/// headers Traefik sends for a request to <see cref="Host"/>, the browser's cookies for that host are kept here, and the
/// provider's pages are walked with their own cookie jar (the provider runs with <c>AUTO_LOGIN=hint</c>, so a
/// <c>login_hint</c> logs that user in without pages).
/// </summary>
internal sealed class Browser : IDisposable
{
    public const string Host = "app.bench.test";
    public const string Proto = "http";
    public const string Origin = Proto + "://" + Host;
    public const string SessionCookie = "_forwardauth_session";

    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = 256 })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private readonly HttpClient _provider = new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    public Dictionary<string, string> Cookies { get; } = new(StringComparer.Ordinal);

    public async Task<HttpResponseMessage> AuthAsync(string forwardAuth, string uri, string? query = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, forwardAuth.TrimEnd('/') + "/auth" + (query is null ? "" : "?" + query));
        request.Headers.TryAddWithoutValidation("X-Forwarded-Method", "GET");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", Proto);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", Host);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Uri", uri);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7");
        request.Headers.TryAddWithoutValidation("Accept", "text/html,application/xhtml+xml");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "navigate");
        if (Cookies.Count > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", Cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await Http.SendAsync(request);
        Remember(response);
        return response;
    }

    /// <summary>Starts a login on <paramref name="forwardAuth"/> and walks the provider until it sends the browser back; returns the callback URI.</summary>
    public async Task<string> StartLoginAsync(string forwardAuth, string loginHint)
    {
        using var challenge = await AuthAsync(forwardAuth, "/");
        if (challenge.StatusCode != HttpStatusCode.Found || challenge.Headers.Location is null)
        {
            throw new HarnessException($"expected a login redirect from {forwardAuth}, got {(int)challenge.StatusCode}");
        }

        var url = challenge.Headers.Location.AbsoluteUri + "&login_hint=" + Uri.EscapeDataString(loginHint);
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await _provider.GetAsync(url);
            var location = response.Headers.Location ?? throw new HarnessException($"provider answered {(int)response.StatusCode} without a redirect");
            url = location.IsAbsoluteUri ? location.AbsoluteUri : new Uri(new Uri(url), location).AbsoluteUri;
            if (url.StartsWith(Origin + "/", StringComparison.Ordinal))
            {
                return url[Origin.Length..];
            }
        }

        throw new HarnessException("the provider never redirected back");
    }

    /// <summary>A whole login; returns the session cookie's value.</summary>
    public async Task<string> LoginAsync(string forwardAuth, string loginHint)
    {
        var callback = await StartLoginAsync(forwardAuth, loginHint);
        using var done = await AuthAsync(forwardAuth, callback);
        if (done.StatusCode != HttpStatusCode.Found || !Cookies.TryGetValue(SessionCookie, out var cookie))
        {
            throw new HarnessException($"login of {loginHint} did not end with a session (status {(int)done.StatusCode})");
        }

        return cookie;
    }

    private void Remember(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            return;
        }

        foreach (var header in values)
        {
            var parts = header.Split(';');
            var eq = parts[0].IndexOf('=', StringComparison.Ordinal);
            var name = parts[0][..eq].Trim();
            var value = parts[0][(eq + 1)..].Trim();
            var expired = parts.Any(p => p.Trim().StartsWith("max-age=0", StringComparison.OrdinalIgnoreCase)
                || p.Trim().StartsWith("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));
            if (expired || value.Length == 0)
            {
                Cookies.Remove(name);
            }
            else
            {
                Cookies[name] = value;
            }
        }
    }

    public void Dispose() => _provider.Dispose();
}
