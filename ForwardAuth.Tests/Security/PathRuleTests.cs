using System.Net;
using ForwardAuth.Tests.Support;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// <c>excludedURLs</c> (<c>/public</c>, <c>/static/assets</c>) is matched on the normalised path only, on segment
/// boundaries, and anything a backend could read differently is not excluded: query and fragment tricks, dot segments
/// (plain, encoded, double-encoded), backslashes, <c>;</c> parameters, case, look-alike characters. Checked on
/// <c>/auth</c> and through Caddy, where the backend's own reading of the path is what counts.
/// </summary>
[TestFixture]
public class PathRuleTests
{
    private static readonly string[] Excluded =
    [
        "/public", "/public/", "/public/app.js", "/public/a/b?x=1", "/public?next=/admin", "/public#/admin", "//public/x", "/./public/x",
        "/%70ublic/x", "/%70%75%62%6c%69%63/x", "/public/./x", "/public/x/../y", "/admin/../public/x", "/static/assets/app.css",
        "/static/assets", "/public/%2e/x", "/public/x?a=..%2f..%2fadmin",
    ];

    private static readonly string[] NotExcluded =
    [
        // query and fragment
        "/admin?/public", "/admin?x=/public/", "/admin#/public", "/admin%23/public", "/admin%3f/public", "/admin%3F/public/x",
        // dot segments, plain and encoded
        "/public/../admin", "/public/./../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin", "/public/%2e./admin",
        "/public/..%2fadmin", "/public/..%2Fadmin", "/public%2f..%2fadmin", "/public/x/../../admin", "/public/%2e%2e%2fadmin",
        "/static/assets/../../admin", "/public/%2F../admin",
        // double encoding
        "/public/%252e%252e/admin", "/%2570ublic/x", "/public/%252fadmin", "/public%252f..%252fadmin",
        // backslashes
        "/public\\..\\admin", "/public%5c..%5cadmin", "/public/..%5cadmin", "/public\\x",
        // ; parameters
        "/public/..;/admin", "/public;/x", "/public;jsessionid=1/x", "/admin;/public", "/public;x=1",
        // case, boundaries, look-alikes
        "/PUBLIC", "/Public/x", "/publicity", "/public-x", "/public.html", "/public./x", "/public%20/x", "/public%00/x", "/public%09",
        "/public%ff/x", "/\uff50ublic/x", "/static", "/static/asset", "/static/assetsX/a", "/admin/public", "/admin//public",
    ];

    public static IEnumerable<TestCaseData> ExcludedCases() => Excluded.Select(p => new TestCaseData(p).SetArgDisplayNames(p));

    public static IEnumerable<TestCaseData> NotExcludedCases() => NotExcluded.Select(p => new TestCaseData(p).SetArgDisplayNames(p));

    [TestCaseSource(nameof(ExcludedCases))]
    public async Task Auth_PathUnderAnExcludedPrefix_200WithoutIdentity(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", uri, ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Is.Empty);
    }

    [TestCaseSource(nameof(NotExcludedCases))]
    public async Task Auth_PathTrick_NeedsLogin(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", Uri(uri), ForwardAuthClient.Navigation);

        // 400 where the characters are not allowed at all; otherwise a login — never the excluded path's 200.
        Assert.That((int)response.StatusCode, uri.Contains('\\', StringComparison.Ordinal) ? Is.EqualTo(302).Or.EqualTo(400) : Is.EqualTo(302));
    }

    [TestCaseSource(nameof(NotExcludedCases))]
    public async Task Auth_PathTrickWithApiHeaders_401NotExcluded(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "POST", Uri(uri), r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));

        Assert.That((int)response.StatusCode, Is.EqualTo(401).Or.EqualTo(400));
    }

    // X-Forwarded-Uri carries the raw request target: a literal non-ASCII character arrives percent-encoded.
    private static string Uri(string path) => path.Any(c => c > 127) ? string.Concat(path.Select(c => c > 127 ? System.Uri.EscapeDataString(c.ToString()) : c.ToString())) : path;

    public static IEnumerable<TestCaseData> CaddyCases() =>
        NotExcluded.Where(p => !p.Contains('#', StringComparison.Ordinal) && p.All(c => c is > ' ' and < (char)127))
            .Select(p => new TestCaseData(p, false).SetArgDisplayNames(p, "login"))
            .Concat(Excluded.Where(p => !p.Contains('#', StringComparison.Ordinal)).Select(p => new TestCaseData(p, true).SetArgDisplayNames(p, "public")));

    [TestCaseSource(nameof(CaddyCases))]
    public async Task ThroughCaddy_RawRequestTarget_BackendReachedOnlyForExcludedPaths(string target, bool excluded)
    {
        var authority = new System.Uri(SiteUrl).Authority;
        var response = await Attack.RawAsync(Caddy.Port, $"GET {target} HTTP/1.1\r\nHost: {authority}\r\nAccept: text/html\r\nConnection: close\r\n\r\n");

        if (excluded)
        {
            Assert.That(response.Status, Is.EqualTo(200));
        }
        else
        {
            Assert.That(response.Status, Is.Not.EqualTo(200), "the backend must not be reached without a login");
            Assert.That(response.Status, Is.LessThan(500));
        }
    }

    public static IEnumerable<TestCaseData> CaddyExcludedCases() =>
        Excluded.Where(p => !p.Contains('#', StringComparison.Ordinal)).Select(p => new TestCaseData(p).SetArgDisplayNames(p));

    [TestCaseSource(nameof(CaddyExcludedCases))]
    public async Task ThroughCaddy_ExcludedPath_BackendReadsItUnderAnExcludedPrefixToo(string target)
    {
        var authority = new System.Uri(SiteUrl).Authority;
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/");
        request.RequestUri = new System.Uri("http://" + authority + target, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

        var body = await http.SendAsync(request);
        var echoed = System.Text.Json.JsonDocument.Parse(await body.Content.ReadAsStringAsync()).RootElement.GetProperty("x-echo-path").GetString()!;
        var path = System.Text.RegularExpressions.Regex.Replace(echoed.Split('?')[0], "/{2,}", "/");

        Assert.That(path, Is.EqualTo("/public").Or.StartsWith("/public/").Or.StartsWith("/static/assets"), "ForwardAuth and the backend agree on what is public");
    }
}
