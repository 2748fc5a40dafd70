using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Security;

/// <summary>The tools the attack classes share: raw requests, token claims, a login through Caddy.</summary>
internal static class Attack
{
    /// <summary>The status line and headers of an answer to bytes HttpClient would refuse to send.</summary>
    internal sealed record RawResponse(int Status, string Head)
    {
        public string? Header(string name) => Head.Split("\r\n")
            .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(l => l[(name.Length + 1)..].Trim())
            .FirstOrDefault();
    }

    public static async Task<RawResponse> RawAsync(int port, string rawRequest)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(rawRequest));
        var received = new StringBuilder();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }

        var head = received.ToString().Split("\r\n\r\n")[0];
        return new RawResponse(int.Parse(head.Split(' ')[1], CultureInfo.InvariantCulture), head);
    }

    /// <summary>A forward-auth call as Traefik would send it, plus <paramref name="extraHeaders"/> (raw lines).</summary>
    public static string AuthRequest(string uri, string extraHeaders = "", string method = "GET", string host = "app.test", string proto = "http") =>
        "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        $"X-Forwarded-Method: {method}\r\nX-Forwarded-Proto: {proto}\r\nX-Forwarded-Host: {host}\r\nX-Forwarded-Uri: {uri}\r\n" +
        extraHeaders + "Connection: close\r\n\r\n";

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The claims of a valid access token for <paramref name="sub"/> at <paramref name="now"/> (seconds).</summary>
    public static Dictionary<string, object> AccessClaims(string sub = "carol", string? email = "carol@example.com", long? now = null)
    {
        var t = now ?? Now;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = SecurityStack.Provider.Issuer,
            ["aud"] = ReplicaPair.ApiAudience,
            ["sub"] = sub,
            ["iat"] = t,
            ["exp"] = t + 300,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (email is not null)
        {
            claims["email"] = email;
        }

        return claims;
    }

    public static Action<HttpRequestMessage> Bearer(string token) =>
        r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);

    public static Action<HttpRequestMessage> Headers(params (string Name, string Value)[] headers) => r =>
    {
        foreach (var (name, value) in headers)
        {
            r.Headers.TryAddWithoutValidation(name, value);
        }
    };

    /// <summary>A browser logged in through Caddy (cookie jar, no automatic redirects).</summary>
    public static async Task<HttpClient> LoggedInThroughCaddyAsync(string login, string path = "/")
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        var http = new HttpClient(handler);
        var url = SecurityStack.SiteUrl + path;
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await http.GetAsync(url);
            if (response.Headers.Location is null)
            {
                return http;
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            if (url.StartsWith(SecurityStack.Provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        http.Dispose();
        throw new InvalidOperationException("login through Caddy did not settle");
    }

    /// <summary>A client of replica A/B that has completed a login as <paramref name="login"/>.</summary>
    public static async Task<ForwardAuthClient> LoggedInAsync(string login, string host = "app.test")
    {
        var client = new ForwardAuthClient(host);
        using var done = await client.LoginAsync(SecurityStack.A, SecurityStack.B, "/", login);
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found), "login");
        Assert.That(client.Cookies, Does.ContainKey(SecurityStack.SessionCookieName), "login");
        return client;
    }
}
