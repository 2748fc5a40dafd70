using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Observability;

/// <summary>
/// <c>LOG_LEVEL=DEBUG</c> (upper case) explains every decision: two replica processes in memory mode (so the second
/// one adopts the first one's sealed cookie), driven through a login, allowed, denied, anonymous, bad-bearer, foreign
/// cookie, nginx and malformed requests. Each decision writes exactly one Debug line (event 304) with the outcome, why,
/// where the session came from, the rules, the elapsed time and the replica — and no token or cookie value.
/// </summary>
[TestFixture]
[NonParallelizable]
public class DecisionLogTests
{
    private const string Resource = "https://api.decisions.test";
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _first = null!;
    private ForwardAuthInstance _second = null!;
    private readonly List<string> _secrets = [];
    private readonly Dictionary<string, HttpStatusCode> _answers = [];

    [OneTimeSetUp]
    public async Task RunTheScript()
    {
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = Resource,
            RedirectUris = ["http://app.test/oauth2/callback"],
        });
        var settings = ForwardAuthSettings.For(_provider);
        settings["LOG_LEVEL"] = "DEBUG";
        settings["AUDIENCE"] = Resource;
        // Separate processes, as in production: each has its own memory store and its own log.
        _first = await ForwardAuthInstance.StartProcessAsync(settings);
        _second = await ForwardAuthInstance.StartProcessAsync(settings);

        using var alice = new ForwardAuthClient();
        using var login = await alice.LoginAsync(_first, _first, "/", "alice");
        _secrets.AddRange(alice.Cookies.Values);
        var tokens = await ProviderLogin.ObtainAsync(_provider, "bob");
        _secrets.AddRange([tokens.AccessToken, tokens.IdToken, tokens.RefreshToken ?? "", OidcProvider.ClientSecret, ForwardAuthSettings.EncryptionKey]);

        await Answer("allowed", alice.AuthAsync(_first, "GET", "/", ForwardAuthClient.Navigation));
        await Answer("denied", alice.AuthAsync(_first, "GET", "/admin", ForwardAuthClient.Navigation, "/auth?allowedRolesAndGroups=auditors"));
        await Answer("adopted", alice.AuthAsync(_second, "GET", "/", ForwardAuthClient.Navigation));
        await Answer("anonymous", new ForwardAuthClient().AuthAsync(_first, "GET", "/api", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest")));
        await Answer("bad bearer", new ForwardAuthClient().AuthAsync(_first, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer not.a.token")));
        await Answer("bearer", new ForwardAuthClient().AuthAsync(_first, "GET", "/api", r => r.Headers.Add("Authorization", "Bearer " + tokens.AccessToken)));
        await Answer("foreign cookie", new ForwardAuthClient().AuthAsync(_first, "GET", "/api", r => { r.Headers.Add("X-Requested-With", "XMLHttpRequest"); r.Headers.Add("Cookie", "_forwardauth_session=forged-cookie-value-0123456789"); }));
        await Answer("nginx anonymous", new ForwardAuthClient().AuthAsync(_first, "GET", "/page", ForwardAuthClient.Navigation, "/oauth2/auth"));
        await Answer("malformed", new ForwardAuthClient().AuthAsync(_first, "GET", "no-slash"));
        _secrets.Add("forged-cookie-value-0123456789");
    }

    private async Task Answer(string name, Task<HttpResponseMessage> request)
    {
        using var response = await request;
        _answers[name] = response.StatusCode;
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        await _provider.DisposeAsync();
    }

    private static List<JsonElement> Decisions(ForwardAuthInstance replica) =>
        replica.Logs.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 304)
            .ToList();

    private static string Field(JsonElement line, string name) => line.GetProperty(name).ToString();

    [Test]
    public void Script_AnsweredAsExpected() =>
        Assert.That(_answers, Is.EquivalentTo(new Dictionary<string, HttpStatusCode>
        {
            ["allowed"] = HttpStatusCode.OK, ["denied"] = HttpStatusCode.Forbidden, ["adopted"] = HttpStatusCode.OK,
            ["anonymous"] = HttpStatusCode.Unauthorized, ["bad bearer"] = HttpStatusCode.Unauthorized, ["bearer"] = HttpStatusCode.OK,
            ["foreign cookie"] = HttpStatusCode.Unauthorized, ["nginx anonymous"] = HttpStatusCode.Unauthorized, ["malformed"] = HttpStatusCode.BadRequest,
        }));

    [Test]
    public void EveryDecision_OneDebugLine_InOrder()
    {
        // The login's challenge, then the script's decisions on the first replica; the callback is not a decision.
        var first = Decisions(_first).Select(l => (Field(l, "Outcome"), Field(l, "Status"), Field(l, "Endpoint"))).ToList();
        var second = Decisions(_second).Select(l => (Field(l, "Outcome"), Field(l, "Status"), Field(l, "Endpoint"))).ToList();

        Assert.That(first, Is.EqualTo(new[]
        {
            ("challenge", "302", "/auth"), ("allow", "200", "/auth"), ("forbidden", "403", "/auth"), ("unauthorized", "401", "/auth"),
            ("unauthorized", "401", "/auth"), ("allow", "200", "/auth"), ("unauthorized", "401", "/auth"),
            ("unauthorized", "401", "/oauth2/auth"), ("bad_request", "400", "/auth"),
        }));
        Assert.That(second, Is.EqualTo(new[] { ("allow", "200", "/auth") }));
        Assert.That(Decisions(_first).Concat(Decisions(_second)).Select(l => l.GetProperty("@l").GetString()), Has.All.EqualTo("Debug"));
    }

    [Test]
    public void EachLine_SaysWhy_WhereFrom_UnderWhichRules_HowLong_OnWhichReplica()
    {
        var lines = Decisions(_first);
        var adopted = Decisions(_second).Single();
        foreach (var line in lines.Append(adopted))
        {
            TestContext.Out.WriteLine(line.GetProperty("@m").GetString());
        }

        Assert.Multiple(() =>
        {
            Assert.That(Field(lines[0], "Reason"), Is.EqualTo("no session cookie"), "the login's challenge");
            Assert.That(Field(lines[0], "Source"), Is.EqualTo("none"));
            Assert.That(Field(lines[1], "Reason"), Is.EqualTo("allowed"));
            Assert.That(Field(lines[1], "Source"), Is.EqualTo("store record (cacheMode memory)"));
            Assert.That(Field(lines[1], "User"), Is.EqualTo("alice@example.com").Or.EqualTo("alice"));
            Assert.That(Field(lines[2], "Reason"), Is.EqualTo("policy denied by route groups"));
            Assert.That(Field(lines[2], "Rules"), Is.EqualTo("configured none; route groups=auditors"));
            Assert.That(Field(lines[2], "Target"), Is.EqualTo("app.test/admin"));
            Assert.That(Field(adopted, "Source"), Is.EqualTo("sealed cookie adopted into the store (cacheMode memory)"));
            Assert.That(Field(lines[3], "Reason"), Is.EqualTo("no session cookie"));
            Assert.That(Field(lines[4], "Reason"), Does.StartWith("bearer token refused: "));
            Assert.That(Field(lines[4], "Source"), Is.EqualTo("bearer token"));
            Assert.That(Field(lines[5], "Source"), Is.EqualTo("bearer token"));
            Assert.That(Field(lines[6], "Reason"), Is.EqualTo("cookie not sealed by this deployment's keys"));
            Assert.That(Field(lines[7], "Reason"), Is.EqualTo("no session cookie"));
            Assert.That(Field(lines[8], "Reason"), Is.EqualTo("X-Forwarded-Uri must be a path starting with '/'"));
            foreach (var line in lines.Append(adopted))
            {
                Assert.That(double.Parse(Field(line, "ElapsedMs"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(0));
                Assert.That(Field(line, "Replica"), Does.Match("^" + System.Text.RegularExpressions.Regex.Escape(Environment.MachineName) + "/[0-9]+$"));
                Assert.That(Field(line, "Target"), Does.StartWith("app.test/").Or.EqualTo("-"), "the protected host and path ('-' when the request was malformed)");
            }
        });
    }

    [Test]
    public void DecisionLines_CarryNoTokenCookieOrSecret()
    {
        var lines = string.Join('\n', _first.Logs.Concat(_second.Logs));

        Assert.That(Decisions(_first), Has.Count.GreaterThan(5), "the scan covers the decision lines");
        foreach (var secret in _secrets.Where(s => s.Length >= 12).Distinct())
        {
            Assert.That(lines, Does.Not.Contain(secret), "a secret, cookie or token (first characters: " + secret[..6] + "…) is in the logs");
        }

        Assert.That(lines, Does.Not.Contain("eyJ"), "no JWT at all");
    }
}
