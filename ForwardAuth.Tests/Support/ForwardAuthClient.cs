using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// Plays the forward-auth proxy and the browser against replicas directly: sends <c>/auth</c> with the
/// <c>X-Forwarded-*</c> headers Traefik would send for a request to <see cref="Host"/>, keeps the browser's cookies for
/// that host, and walks the provider's pages (auto-login) with its own cookie jar. Each step may go to another replica.
/// </summary>
internal sealed class ForwardAuthClient : IDisposable
{
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly HttpClient _providerHttp;

    public ForwardAuthClient(string host = "app.test", string proto = "http")
    {
        Host = host;
        Proto = proto;
        _providerHttp = new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = ProviderCookies });
    }

    /// <summary>The browser's cookies at the provider.</summary>
    public CookieContainer ProviderCookies { get; } = new();

    /// <summary>The browser at the provider (its cookies in <see cref="ProviderCookies"/>; redirects not followed).</summary>
    public HttpClient ProviderHttp => _providerHttp;

    public string Host { get; }

    public string Proto { get; }

    public string Origin => $"{Proto}://{Host}";

    /// <summary>
    /// The browser's cookies for the protected host. Concurrent: tests send many requests of one browser at once
    /// (<c>Task.WhenAll</c>), and each answer's <c>Set-Cookie</c> lands here while other requests read the jar.
    /// </summary>
    public ConcurrentDictionary<string, string> Cookies { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Sends navigations to <paramref name="uri"/> on <paramref name="replica"/> until <paramref name="provider"/> has
    /// counted one more refresh grant than before the first (the session's tokens came due and were refreshed), within
    /// <paramref name="timeout"/>; returns every answer's status, for the caller to judge.
    /// </summary>
    public async Task<IReadOnlyList<HttpStatusCode>> AuthUntilRefreshedAsync(
        ForwardAuthInstance replica, string uri, OidcProvider provider, TimeSpan timeout, string what)
    {
        var refreshes = await provider.GrantCountAsync("refresh_token");
        var statuses = new List<HttpStatusCode>();
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                using var response = await AuthAsync(replica, "GET", uri, Navigation);
                statuses.Add(response.StatusCode);
                return await provider.GrantCountAsync("refresh_token") > refreshes;
            },
            timeout,
            what);
        return statuses;
    }

    public async Task<HttpResponseMessage> AuthAsync(
        ForwardAuthInstance replica, string method, string uri, Action<HttpRequestMessage>? configure = null, string authPath = "/auth")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, replica.BaseUrl + authPath);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Method", method);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", Proto);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", Host);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Uri", uri);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7");
        var cookies = Cookies.ToArray();
        if (cookies.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        configure?.Invoke(request);
        var response = await _http.SendAsync(request);
        Remember(response);
        return response;
    }

    /// <summary>A top-level browser navigation (what decides between 302 and 401).</summary>
    public static void Navigation(HttpRequestMessage request)
    {
        request.Headers.TryAddWithoutValidation("Accept", "text/html,application/xhtml+xml");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "navigate");
    }

    /// <summary>Follows the provider's redirects (auto-login) until it sends the browser back to our callback.</summary>
    public async Task<string> ProviderRoundTripAsync(string authorizeUrl, string? loginHint = null)
    {
        var url = loginHint is null ? authorizeUrl : authorizeUrl + "&login_hint=" + Uri.EscapeDataString(loginHint);
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await _providerHttp.GetAsync(url);
            var location = response.Headers.Location
                ?? throw new InvalidOperationException($"provider answered {(int)response.StatusCode} without a redirect");
            url = location.IsAbsoluteUri ? location.AbsoluteUri : new Uri(new Uri(url), location).AbsoluteUri;
            if (url.StartsWith(Origin + "/", StringComparison.Ordinal))
            {
                return url[Origin.Length..];
            }
        }

        throw new InvalidOperationException("the provider never redirected back");
    }

    /// <summary>Ends the browser's session at the provider itself (not through ForwardAuth), as a user logging out elsewhere.</summary>
    public async Task ProviderLogoutAsync(string issuer)
    {
        var url = issuer + "/session/end";
        for (var hop = 0; hop < 10 && url.StartsWith(issuer, StringComparison.Ordinal); hop++)
        {
            using var response = await _providerHttp.GetAsync(url);
            if (response.Headers.Location is null)
            {
                return;
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
        }
    }

    /// <summary>A full login: start on <paramref name="start"/>, callback on <paramref name="callback"/>; returns the final redirect.</summary>
    public async Task<HttpResponseMessage> LoginAsync(ForwardAuthInstance start, ForwardAuthInstance callback, string uri = "/", string? loginHint = null)
    {
        using var challenge = await AuthAsync(start, "GET", uri, Navigation);
        if (challenge.StatusCode != HttpStatusCode.Found)
        {
            throw new InvalidOperationException($"expected a login redirect, got {(int)challenge.StatusCode}");
        }

        var callbackUri = await ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, loginHint);
        return await AuthAsync(callback, "GET", callbackUri, Navigation);
    }

    public static Dictionary<string, string> Query(string uri) =>
        QueryHelpers.ParseQuery(new Uri("http://x" + uri).Query).ToDictionary(p => p.Key, p => p.Value.ToString());

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
                Cookies.TryRemove(name, out _);
            }
            else
            {
                Cookies[name] = value;
            }
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _providerHttp.Dispose();
    }
}
