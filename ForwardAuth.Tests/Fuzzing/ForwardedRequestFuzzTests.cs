using System.Net;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using ForwardAuth.Endpoints;
using ForwardAuth.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// The forwarded-request parser and everything that consumes its result, on random and mutated
/// <c>X-Forwarded-*</c> requests from trusted and untrusted peers: the parser never throws and only ever yields a
/// well-formed request; the whole <c>/auth</c> handler (in process, the replica's real services) never answers 5xx,
/// never lets a request through without credentials except an excluded path or a preflight, and never redirects
/// anywhere but the provider or the request's own origin; the excluded-path and return-URL guards hold for every
/// parsed request.
/// </summary>
[TestFixture]
public class ForwardedRequestFuzzTests
{
    private static readonly IPAddress?[] Peers =
    [
        IPAddress.Loopback, IPAddress.Parse("10.1.2.3"), IPAddress.Parse("::ffff:127.0.0.1"), IPAddress.IPv6Loopback,
        IPAddress.Parse("203.0.113.9"), IPAddress.Parse("2001:db8::1"), null,
    ];

    private static readonly string[] Methods = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "get", "DELETE"];
    private static readonly string[] Protos = ["http", "https", "HTTPS"];
    private static readonly string[] Hosts = ["app.test", "app.test:8443", "[::1]", "127.0.0.1:9", "xn--bcher-kva.test"];
    private static readonly string[] SpecialPaths = ["/oauth2/callback", "/oauth2/logout", "/oauth2/start", "/public", "/public/x", "/auth"];
    private static readonly string[] UnderscoreHeaders = ["X_Forwarded_User", "x_auth_request_groups", "X-Auth_Request-Email"];
    private const string UriAlphabet = "/\\.%?#;:@&=+ \t\r\n\0abcAPpublic2e5cf0\u00a0\u0085";

    private ForwardAuthOptions _options = null!;
    private AuthExchange _exchange = null!;
    private ForwardAuthMetrics _metrics = null!;
    private EndpointLogger _logger = null!;

    [OneTimeSetUp]
    public void Services()
    {
        var services = FuzzStack.Replica.Services;
        _options = services.GetRequiredService<ForwardAuthOptions>();
        _exchange = services.GetRequiredService<AuthExchange>();
        _metrics = services.GetRequiredService<ForwardAuthMetrics>();
        _logger = services.GetRequiredService<EndpointLogger>();
    }

    private static string ForwardedValue(Random r, string[] valid, Func<Random, string> random) => r.Next(10) switch
    {
        < 5 => r.Pick(valid),
        < 8 => r.Mutate(r.Pick(valid), UriAlphabet),
        _ => random(r),
    };

    private static string UriValue(Random r) => r.Next(10) switch
    {
        < 3 => r.Pick(SpecialPaths) + (r.Chance(0.5) ? "?" + r.Text(30) : ""),
        < 7 => r.PathLike() + (r.Chance(0.3) ? "?" + r.Text(20) : "") + (r.Chance(0.1) ? "#" + r.Text(10) : ""),
        < 9 => r.Mutate(r.PathLike(), UriAlphabet),
        _ => r.Text(),
    };

    private static DefaultHttpContext Request(Random r)
    {
        var context = new DefaultHttpContext { RequestServices = FuzzStack.Replica.Services };
        context.Connection.RemoteIpAddress = r.Pick(Peers);
        var request = context.Request;
        request.Method = r.Chance(0.9) ? "GET" : r.Pick(Methods).ToUpperInvariant();
        request.Scheme = "http";
        // The raw Host header, as Kestrel would hand it over (HostString's setter would validate it first).
        request.Headers.Host = r.Chance(0.8) ? "127.0.0.1:4181" : r.Chance(0.5) ? "xn--" + r.Text(10) : r.Text(20);
        request.Path = "/auth";
        if (r.Chance(0.2))
        {
            request.QueryString = new QueryString("?" + (r.Chance(0.5) ? "allowedRolesAndGroups=" : "") + Uri.EscapeDataString(r.Text(20)));
        }

        var headers = request.Headers;
        Add(r, headers, "X-Forwarded-Method", ForwardedValue(r, Methods, x => x.Text(10)));
        Add(r, headers, "X-Forwarded-Proto", ForwardedValue(r, Protos, x => x.Text(8)));
        Add(r, headers, "X-Forwarded-Host", ForwardedValue(r, Hosts, x => x.Text(30)));
        Add(r, headers, "X-Forwarded-Uri", UriValue(r));
        if (r.Chance(0.3))
        {
            headers["X-Forwarded-For"] = r.Text(40);
        }

        if (r.Chance(0.2))
        {
            headers.Cookie = "_forwardauth_session=" + r.Text(80) + (r.Chance(0.5) ? "; _forwardauth_login_x=" + r.Text(20) : "");
        }

        if (r.Chance(0.1))
        {
            headers.Authorization = (r.Chance(0.7) ? "Bearer " : "") + r.Text(60);
        }

        if (r.Chance(0.1))
        {
            headers.Origin = "http://spa.test";
            headers.AccessControlRequestMethod = "POST";
        }

        if (r.Chance(0.3))
        {
            headers[r.Pick(["Accept", "Sec-Fetch-Mode", "X-Requested-With"])] = r.Pick(["text/html", "navigate", "application/json", "cors", "XMLHttpRequest"]);
        }

        if (r.Chance(0.03))
        {
            headers[r.Pick(UnderscoreHeaders)] = "admin";
        }

        return context;
    }

    private static void Add(Random r, IHeaderDictionary headers, string name, string value)
    {
        switch (r.Next(20))
        {
            case 0:
                return; // missing
            case 1:
                headers[name] = new StringValues([value, value]);
                return;
            case 2:
                headers[name] = "";
                return;
            default:
                headers[name] = value;
                return;
        }
    }

    private static bool Trusted(IPAddress? peer, ForwardAuthOptions options) => ForwardedRequest.IsTrusted(peer, options.TrustedProxies);

    [Test]
    public async Task ParseAndDecide_RandomForwardedRequests_WellFormedOrRefusedNeverA5xx()
    {
        var allowed = 0;
        var refused = 0;
        var ran = await Fuzz.RunAsync("forwarded-request", async (r, i) =>
        {
            var context = Request(r);
            var request = context.Request;
            Fuzz.Input = $"peer {context.Connection.RemoteIpAddress}, {string.Join("; ", request.Headers.Select(h => h.Key + ": " + h.Value))}";
            var parsed = ForwardedRequest.TryParseForwarded(request, _options, out var error);
            var trusted = Trusted(context.Connection.RemoteIpAddress, _options);

            CheckParsed(parsed, error, request, trusted, i);
            CheckGuards(parsed, r, i);

            await VerifyEndpoint.HandleAsync(context, _options, _exchange, _metrics, _logger);
            var status = context.Response.StatusCode;
            if (status >= 500)
            {
                Assert.Fail($"iteration {i}: {status}");
            }

            if (parsed is null && status != 400)
            {
                Assert.Fail($"iteration {i}: unparsable request answered {status}, not 400 ({error})");
            }

            if (status == 200)
            {
                allowed++;
                var preflight = parsed!.Method == "OPTIONS" && request.Headers.ContainsKey("Origin") && request.Headers.ContainsKey("Access-Control-Request-Method");
                if (!preflight && !PathRules.IsExcluded(parsed.Path, _options.ExcludedUrls))
                {
                    Assert.Fail($"iteration {i}: 200 without credentials for {parsed.Method} {parsed.Path}");
                }

                if (context.Response.Headers["X-Forwarded-User"].ToString().Length > 0)
                {
                    Assert.Fail($"iteration {i}: an identity without credentials");
                }
            }
            else if (status is 302 or 303)
            {
                var location = context.Response.Headers.Location.ToString();
                var issuer = FuzzStack.Provider.Issuer;
                if (!location.StartsWith(issuer + "/auth?", StringComparison.Ordinal) && !location.StartsWith(issuer + "/session/end", StringComparison.Ordinal)
                    && !location.StartsWith(parsed!.Origin + "/", StringComparison.Ordinal))
                {
                    Assert.Fail($"iteration {i}: redirect to {location}");
                }
            }
            else
            {
                refused++;
            }
        });

        TestContext.Progress.WriteLine($"fuzz forwarded-request: {allowed} allowed (excluded or preflight), {refused} refused, of {ran}");
        Assert.That(ran, Is.EqualTo(Fuzz.Inputs));
    }

    private static void CheckParsed(ForwardedRequest? parsed, string? error, HttpRequest request, bool trusted, int i)
    {
        if (parsed is null)
        {
            if (string.IsNullOrEmpty(error))
            {
                Assert.Fail($"iteration {i}: refused without a reason");
            }

            return;
        }

        var fields = new[] { parsed.Method, parsed.Proto, parsed.Host, parsed.Path, parsed.Query };
        if (fields.Any(f => f.Any(char.IsControl)) || parsed.Path.Contains(' ', StringComparison.Ordinal))
        {
            Assert.Fail($"iteration {i}: a control character or space survived parsing: {parsed}");
        }

        if (parsed.Method.Length is 0 or > 32 || !parsed.Method.All(char.IsAsciiLetterUpper))
        {
            Assert.Fail($"iteration {i}: method '{parsed.Method}'");
        }

        if (parsed.Proto is not ("http" or "https") || !parsed.Path.StartsWith('/') || parsed.Path.Contains('?', StringComparison.Ordinal) || parsed.Path.Contains('#', StringComparison.Ordinal))
        {
            Assert.Fail($"iteration {i}: proto/path '{parsed.Proto}' '{parsed.Path}'");
        }

        if (parsed.Query.Length > 0 && (parsed.Query[0] != '?' || parsed.Query.Contains('#', StringComparison.Ordinal)))
        {
            Assert.Fail($"iteration {i}: query '{parsed.Query}'");
        }

        if (parsed.Host.Any(c => char.IsWhiteSpace(c) || c is '@' or '/' or '\\' or '?' or '#')
            || !Uri.TryCreate(parsed.Origin + "/", UriKind.Absolute, out var origin) || origin.UserInfo.Length > 0 || origin.AbsolutePath != "/")
        {
            Assert.Fail($"iteration {i}: host '{parsed.Host}' does not make a plain origin");
        }

        if (parsed.FromTrustedProxy != trusted)
        {
            Assert.Fail($"iteration {i}: trust {parsed.FromTrustedProxy} for a {(trusted ? "trusted" : "untrusted")} peer");
        }

        if (!trusted && (parsed.Path != request.Path.Value || !string.Equals(parsed.Method, request.Method, StringComparison.OrdinalIgnoreCase)))
        {
            Assert.Fail($"iteration {i}: an untrusted peer's forwarded headers were believed: {parsed.Method} {parsed.Path}");
        }
    }

    private static void CheckGuards(ForwardedRequest? parsed, Random r, int i)
    {
        if (parsed is null)
        {
            return;
        }

        var back = ReturnUrl.For(parsed.Origin, parsed.PathAndQuery);
        var rd = r.Chance(0.5) ? r.Text(40) : r.Pick(["//", "/\\", "https://", "http://app.test@", "javascript:"]) + r.Text(20);
        var fromRd = ReturnUrl.FromRd(parsed.Origin, rd, "");
        var fromRdWithDomain = ReturnUrl.FromRd(parsed.Origin, rd, "app.test");
        foreach (var url in new[] { back, fromRd })
        {
            if (!SameOrigin(url, parsed.Origin) || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                Assert.Fail($"iteration {i}: return URL '{url}' leaves '{parsed.Origin}'");
            }
        }

        if (!SameOrigin(fromRdWithDomain, parsed.Origin) && !UnderCookieDomain(fromRdWithDomain, "app.test"))
        {
            Assert.Fail($"iteration {i}: rd '{rd}' became '{fromRdWithDomain}', outside the cookie domain");
        }

        if (PathRules.IsExcluded(parsed.Path, ["/public"]))
        {
            var backend = LenientBackendPath(parsed.Path);
            if (backend is not null && backend != "/public" && !backend.StartsWith("/public/", StringComparison.Ordinal))
            {
                Assert.Fail($"iteration {i}: '{parsed.Path}' is excluded, but a lenient backend reads '{backend}'");
            }
        }
    }

    /// <summary>Same scheme, host and port, no userinfo — read the way a browser reads a Location.</summary>
    private static bool SameOrigin(string url, string origin) =>
        Uri.TryCreate(url, UriKind.Absolute, out var target) && Uri.TryCreate(origin + "/", UriKind.Absolute, out var expected)
        && target.Scheme == expected.Scheme && string.Equals(target.IdnHost, expected.IdnHost, StringComparison.OrdinalIgnoreCase)
        && target.Port == expected.Port && target.UserInfo.Length == 0
        && url.StartsWith(expected.Scheme + "://", StringComparison.Ordinal) && !url[(expected.Scheme.Length + 3)..].Split('/')[0].Contains('@', StringComparison.Ordinal);

    private static bool UnderCookieDomain(string url, string domain)
    {
        if (url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || !(url.StartsWith("https://", StringComparison.Ordinal) || url.StartsWith("http://", StringComparison.Ordinal)))
        {
            return false;
        }

        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        if (authority.Contains('@', StringComparison.Ordinal) || authority.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        var host = authority.Split(':')[0];
        return host == domain || host.EndsWith("." + domain, StringComparison.Ordinal);
    }

    /// <summary>
    /// How the most lenient backend could read a path: decoded until nothing changes, backslashes as slashes,
    /// <c>;</c> parameters dropped, dot segments resolved. Null when it is not decodable at all.
    /// </summary>
    internal static string? LenientBackendPath(string path)
    {
        var decoded = path;
        for (var round = 0; round < 5; round++)
        {
            string next;
            try
            {
                next = Uri.UnescapeDataString(decoded);
            }
            catch (UriFormatException)
            {
                return null;
            }

            if (next == decoded)
            {
                break;
            }

            decoded = next;
        }

        var segments = new List<string>();
        foreach (var raw in decoded.Replace('\\', '/').Split('/'))
        {
            var segment = raw.Split(';')[0];
            switch (segment)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    continue;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        return "/" + string.Join('/', segments);
    }
}
