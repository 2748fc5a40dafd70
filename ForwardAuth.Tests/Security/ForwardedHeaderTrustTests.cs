using System.Net;
using ForwardAuth.Tests.Support;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// Who may describe the original request. A direct caller outside <c>trustedProxies</c> cannot aim <c>/auth</c> at an
/// excluded path, the callback, the logout or a preflight by spoofing <c>X-Forwarded-*</c>; a trusted proxy's headers
/// are parsed strictly (one value each, no control characters, bounded lengths); <c>X-Forwarded-For</c> never decides.
/// </summary>
[TestFixture]
public class ForwardedHeaderTrustTests
{
    private static string PeerOrigin => "http://127.0.0.1:" + Untrusting.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string RedirectUri(HttpResponseMessage response) =>
        ForwardAuthClient.Query(response.Headers.Location!.PathAndQuery)["redirect_uri"];

    [TestCase("/public")]
    [TestCase("/public/")]
    [TestCase("/public/app.js")]
    [TestCase("/static/assets/logo.png")]
    [TestCase("/public?x=1")]
    public async Task UntrustedPeer_SpoofedExcludedUri_ChallengedAsTheRequestItSent(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(Untrusting, "GET", uri, ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the spoofed excluded path is not believed");
        Assert.That(RedirectUri(response), Is.EqualTo(PeerOrigin + "/oauth2/callback"), "judged for the peer's own host");
    }

    [Test]
    public async Task UntrustedPeer_SpoofedCallbackWithAPendingLoginsState_NeitherConsumesItNorCreatesASession()
    {
        using var victim = new ForwardAuthClient();
        using var challenge = await victim.AuthAsync(A, "GET", "/inbox", ForwardAuthClient.Navigation);
        var callback = await victim.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        using var attacker = new ForwardAuthClient();
        foreach (var (name, value) in victim.Cookies)
        {
            attacker.Cookies[name] = value;
        }

        using var spoofed = await attacker.AuthAsync(Untrusting, "GET", callback, ForwardAuthClient.Navigation);
        using var legit = await victim.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.Multiple(() =>
        {
            Assert.That(spoofed.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(spoofed.Headers.Location!.AbsoluteUri, Does.StartWith(Provider.Issuer + "/auth?"), "a new login, not a callback");
            Assert.That(attacker.Cookies, Does.Not.ContainKey(SessionCookieName));
            Assert.That(legit.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the victim's login was not consumed");
            Assert.That(legit.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/inbox"));
        });
    }

    [Test]
    public async Task UntrustedPeer_SpoofedLogoutUri_SessionStaysValid()
    {
        using var client = await Attack.LoggedInAsync("bob");
        var cookie = client.Cookies[SessionCookieName];

        using var spoofed = await client.AuthAsync(Untrusting, "GET", "/oauth2/logout", ForwardAuthClient.Navigation);
        client.Cookies[SessionCookieName] = cookie;
        using var after = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(spoofed.Headers.Location?.AbsoluteUri ?? "", Does.Not.Contain("/session/end"), "not a logout");
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("/oauth2/start?rd=%2F%2Fevil.example")]
    [TestCase("/oauth2/start?rd=https%3A%2F%2Fevil.example%2F")]
    public async Task UntrustedPeer_SpoofedLoginStart_IsAnOrdinaryChallengeForThePeer(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(Untrusting, "GET", uri, ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(RedirectUri(response), Is.EqualTo(PeerOrigin + "/oauth2/callback"));
    }

    [Test]
    public async Task UntrustedPeer_SpoofedPreflightMethod_NotAPreflight()
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(Untrusting, "OPTIONS", "/api", Attack.Headers(
            ("Origin", "http://spa.test"), ("Access-Control-Request-Method", "DELETE"), ("X-Requested-With", "XMLHttpRequest")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the peer sent GET: no preflight exemption");
    }

    [TestCase("X-Forwarded-Host", "evil.example")]
    [TestCase("X-Forwarded-Proto", "https")]
    [TestCase("X-Forwarded-Host", "app.test")]
    public async Task UntrustedPeer_SpoofedOriginHeaders_IgnoredInRedirectUri(string header, string value)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(Untrusting, "GET", "/", r =>
        {
            ForwardAuthClient.Navigation(r);
            r.Headers.Remove(header);
            r.Headers.TryAddWithoutValidation(header, value);
        });

        Assert.That(RedirectUri(response), Is.EqualTo(PeerOrigin + "/oauth2/callback"));
    }

    [TestCase("X-Forwarded-For", "10.9.9.9")]
    [TestCase("X-Forwarded-For", "203.0.113.1, 10.9.9.9")]
    [TestCase("X-Real-IP", "10.9.9.9")]
    [TestCase("Forwarded", "for=10.9.9.9;proto=https;host=app.test")]
    [TestCase("X-Forwarded-For", "10.9.9.9, 10.9.9.9, 10.9.9.9")]
    public async Task UntrustedPeer_ClaimsToBeTheTrustedProxy_StillUntrusted(string header, string value)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(Untrusting, "GET", "/public/x", r =>
        {
            ForwardAuthClient.Navigation(r);
            r.Headers.Remove("X-Forwarded-For");
            r.Headers.TryAddWithoutValidation(header, value);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the excluded path is still not believed");
    }

    [TestCase("/public\u0000")]
    [TestCase("/public\u0001")]
    [TestCase("no-slash")]
    public async Task UntrustedPeer_MalformedForwardedHeaders_IgnoredNotParsed(string uri)
    {
        var response = await Attack.RawAsync(Untrusting.Port, Attack.AuthRequest(uri, "Accept: text/html\r\n"));

        // Kestrel itself refuses a NUL; anything it lets through is ignored, never parsed, never believed.
        Assert.That(response.Status, uri.Contains('\0', StringComparison.Ordinal) ? Is.EqualTo(400) : Is.EqualTo(302));
    }

    public static IEnumerable<TestCaseData> InvalidPunycodeHosts() =>
        from host in new[] { "xn--", "xn---", "a.xn--", "xn--zzzzzzzzzzzzzzzzzzzzzzzz", "xn--99999999999" }
        from path in new[] { "untrusted /auth", "/oauth2/callback?state=x&code=y", "/oauth2/start?rd=%2F", "/oauth2/logout" }
        select new TestCaseData(host, path).SetArgDisplayNames(host, path);

    [TestCaseSource(nameof(InvalidPunycodeHosts))]
    public async Task HostHeader_InvalidPunycode_NeverAServerError(string host, string path)
    {
        var untrusted = path.StartsWith("untrusted", StringComparison.Ordinal);
        var request = $"GET {(untrusted ? "/auth" : path)} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n";

        var response = await Attack.RawAsync(untrusted ? Untrusting.Port : A.Port, request);

        Assert.That(response.Status, Is.LessThan(500), "a Host header HttpRequest.Host cannot decode must not become a 500");
    }

    [TestCase("get", 302)]
    [TestCase("HEAD", 302)]
    [TestCase("PROPFIND", 303)]
    [TestCase("TRACE", 303)]
    [TestCase("CONNECT", 303)]
    [TestCase("OPTIONS", 303, Description = "OPTIONS without Origin is no preflight: challenged like any non-GET")]
    [TestCase("GET /x", 400)]
    [TestCase("GE T", 400)]
    [TestCase("GET,POST", 400)]
    [TestCase("G3T", 400)]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 400, Description = "33 letters")]
    public async Task TrustedProxy_ForwardedMethod_ParsedStrictly(string method, int expected)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, method, "/page", r =>
        {
            ForwardAuthClient.Navigation(r);
            r.Headers.Remove("Sec-Fetch-Mode");
        });

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [TestCase("X-Forwarded-Uri", "/public", "/admin")]
    [TestCase("X-Forwarded-Uri", "/admin", "/public")]
    [TestCase("X-Forwarded-Host", "app.test", "evil.example")]
    [TestCase("X-Forwarded-Proto", "https", "http")]
    [TestCase("X-Forwarded-Method", "OPTIONS", "GET")]
    public async Task TrustedProxy_HeaderRepeated_400(string header, string first, string second)
    {
        var values = new Dictionary<string, string>
        {
            ["X-Forwarded-Method"] = "GET", ["X-Forwarded-Proto"] = "http", ["X-Forwarded-Host"] = "app.test", ["X-Forwarded-Uri"] = "/public/x",
        };
        var lines = values.Select(v => v.Key == header ? $"{header}: {first}\r\n{header}: {second}" : $"{v.Key}: {v.Value}");
        var request = "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\n" + string.Join("\r\n", lines) + "\r\nConnection: close\r\n\r\n";

        var response = await Attack.RawAsync(A.Port, request);

        Assert.That(response.Status, Is.EqualTo(400));
    }

    [TestCase("http://evil.example/public")]
    [TestCase("https://app.test/public")]
    [TestCase("*")]
    [TestCase("public/x")]
    [TestCase("?/public")]
    [TestCase("#/public")]
    [TestCase("\\public")]
    public async Task TrustedProxy_ForwardedUriNotAPath_400(string uri)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", uri, ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("app.test:99999")]
    [TestCase("app.test\\evil.example")]
    [TestCase("app.test#evil")]
    [TestCase("app.test?evil")]
    [TestCase("evil.example@app.test")]
    [TestCase("app.test:80@evil.example")]
    [TestCase("app.test,evil.example")]
    [TestCase("app..test")]
    [TestCase("app test")]
    [TestCase("[::1")]
    [TestCase("[::1]5")]
    [TestCase("[::1%]")]
    [TestCase("[fe80::1%25eth0]")]
    [TestCase("app%2etest")]
    [TestCase("[::1]]")]
    [TestCase("[::1]evil.example")]
    public async Task TrustedProxy_ForwardedHostNotAHost_400(string host)
    {
        using var client = new ForwardAuthClient();

        using var response = await client.AuthAsync(A, "GET", "/", r =>
        {
            r.Headers.Remove("X-Forwarded-Host");
            r.Headers.TryAddWithoutValidation("X-Forwarded-Host", host);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("HTTPS", "https")]
    [TestCase("Http", "http")]
    public async Task TrustedProxy_ForwardedProtoAnyCase_Normalised(string proto, string scheme)
    {
        using var client = new ForwardAuthClient(proto: proto);

        using var response = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(RedirectUri(response), Is.EqualTo(scheme + "://app.test/oauth2/callback"));
    }

    [TestCase("ftp")]
    [TestCase("javascript")]
    [TestCase("https:")]
    [TestCase("ws")]
    public async Task TrustedProxy_ForwardedProtoNotHttp_400(string proto)
    {
        using var client = new ForwardAuthClient(proto: proto);

        using var response = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    // C0 controls, DEL, a bare CR, and Latin-1 bytes (NEL, NBSP, ÿ) that HttpClient would refuse to send.
    private static readonly string[] Controls = ["\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\u001b", "\u007f", "\r", "\u0085", "\u00a0", "\u00ff"];

    public static IEnumerable<TestCaseData> ControlCharacterCases() =>
        from header in new[] { "X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Method", "X-Forwarded-Proto" }
        from control in Controls
        select new TestCaseData(header, control).SetArgDisplayNames(header, "U+" + ((int)control[0]).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));

    [TestCaseSource(nameof(ControlCharacterCases))]
    public async Task TrustedProxy_ControlOrNonAsciiByteInForwardedHeader_400(string header, string control)
    {
        var values = new Dictionary<string, string>
        {
            ["X-Forwarded-Uri"] = "/public/x", ["X-Forwarded-Host"] = "app.test", ["X-Forwarded-Method"] = "GET", ["X-Forwarded-Proto"] = "http",
        };
        var value = values[header];
        values[header] = value[..(value.Length / 2)] + control + value[(value.Length / 2)..];
        var request = Attack.AuthRequest(values["X-Forwarded-Uri"], method: values["X-Forwarded-Method"], host: values["X-Forwarded-Host"], proto: values["X-Forwarded-Proto"]);

        var response = await Attack.RawAsync(A.Port, request);

        Assert.That(response.Status, Is.EqualTo(400), "Kestrel or ForwardAuth refuses it; never a 200 for the excluded path");
    }

    [TestCase("X-Forwarded-Uri")]
    [TestCase("X-Forwarded-Host")]
    public async Task TrustedProxy_LineFoldedForwardedHeader_400(string header)
    {
        var request = Attack.AuthRequest("/admin").Replace(header + ": ", header + ": x\r\n /public", StringComparison.Ordinal);

        var response = await Attack.RawAsync(A.Port, request);

        Assert.That(response.Status, Is.EqualTo(400));
    }

    [Test]
    public async Task TrustedProxy_ForwardedUriAtTheLengthLimit_AcceptedOneMoreRefused()
    {
        using var client = new ForwardAuthClient();
        var atLimit = "/" + new string('a', 8191);
        var overLimit = atLimit + "a";

        using var accepted = await client.AuthAsync(A, "GET", atLimit, r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));
        using var refused = await client.AuthAsync(A, "GET", overLimit, r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));

        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase("X-Forwarded-Host", 256)]
    [TestCase("X-Forwarded-Host", 4000)]
    [TestCase("X-Forwarded-Method", 33)]
    [TestCase("X-Forwarded-Method", 4000)]
    public async Task TrustedProxy_OverlongForwardedValue_400(string header, int length)
    {
        using var client = new ForwardAuthClient();
        var value = header == "X-Forwarded-Host" ? new string('a', length - 5) + ".test" : new string('A', length);

        using var response = await client.AuthAsync(A, "GET", "/", r =>
        {
            r.Headers.Remove(header);
            r.Headers.TryAddWithoutValidation(header, value);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task TrustedProxy_HeadersBeyondKestrelsLimit_431NotAServerError()
    {
        var response = await Attack.RawAsync(A.Port, Attack.AuthRequest("/" + new string('a', 40_000)));

        Assert.That(response.Status, Is.EqualTo(431));
    }

    [TestCase("")]
    [TestCase("203.0.113.7")]
    [TestCase("127.0.0.1")]
    [TestCase("10.9.9.9, 127.0.0.1, ::1")]
    [TestCase("unknown")]
    [TestCase("not-an-ip, <script>")]
    [TestCase("[2001:db8::1]:4711, 198.51.100.2")]
    public async Task TrustedProxy_ForwardedForChain_NeverChangesTheDecision(string chain)
    {
        using var client = await Attack.LoggedInAsync("bob");
        using var anonymous = new ForwardAuthClient();
        void With(HttpRequestMessage r)
        {
            ForwardAuthClient.Navigation(r);
            r.Headers.Remove("X-Forwarded-For");
            r.Headers.TryAddWithoutValidation("X-Forwarded-For", chain);
        }

        using var session = await client.AuthAsync(A, "GET", "/", With);
        using var noSession = await anonymous.AuthAsync(A, "GET", "/", With);
        using var excluded = await anonymous.AuthAsync(A, "GET", "/public/a", With);

        Assert.Multiple(() =>
        {
            Assert.That(session.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(session.Headers.GetValues("X-Forwarded-User").Single(), Is.EqualTo("bob@example.com"));
            Assert.That(noSession.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(excluded.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task TrustedProxy_VeryLongForwardedForChain_DecidesNormally()
    {
        var chain = string.Join(", ", Enumerable.Range(0, 1500).Select(i => $"10.{i / 256 % 256}.{i % 256}.1"));
        using var anonymous = new ForwardAuthClient();

        using var response = await anonymous.AuthAsync(A, "GET", "/", r =>
        {
            r.Headers.Remove("X-Forwarded-For");
            r.Headers.TryAddWithoutValidation("X-Forwarded-For", chain);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    [Test]
    public async Task ThroughCaddy_ClientSpoofsForwardedHeaders_ProxyOverwritesThem()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/admin");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Uri", "/public/x");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Method", "OPTIONS");
        request.Headers.TryAddWithoutValidation("Origin", "http://spa.test");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "GET");
        request.Headers.TryAddWithoutValidation("Accept", "text/html");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the backend is not reached without a login");
        Assert.That(response.Headers.Location!.AbsoluteUri, Does.StartWith(Provider.Issuer + "/auth?"));
    }

    [Test]
    public async Task ThroughCaddy_ClientSpoofsForwardedHost_ReturnStaysOnTheSite()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/page");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "evil.example");
        request.Headers.TryAddWithoutValidation("Accept", "text/html");

        using var response = await http.SendAsync(request);

        var redirectUri = ForwardAuthClient.Query(response.Headers.Location!.PathAndQuery)["redirect_uri"];
        Assert.That(new Uri(redirectUri).Authority, Is.EqualTo(new Uri(SiteUrl).Authority));
    }
}
