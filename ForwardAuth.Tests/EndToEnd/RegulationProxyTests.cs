using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using ForwardAuth.Tests.Security;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Regulation through a real proxy: Caddy's forward_auth in front of a ForwardAuth process (Redis, the real provider)
/// and the echo backend. Forged bearer tokens are 401 until the limit, then 429 with <c>Retry-After</c> reaches the
/// client through Caddy; a client cannot escape by writing its own <c>X-Forwarded-For</c> (Caddy replaces it).
/// </summary>
[TestFixture]
[NonParallelizable]
public class RegulationProxyTests
{
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _replica = null!;
    private EchoBackend _backend = null!;
    private CaddyProxy _caddy = null!;

    [OneTimeSetUp]
    public async Task StartStack()
    {
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint", AccessTokenResource = ReplicaPair.ApiAudience });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["REGULATION_MAX_RETRIES"] = "10";
        _replica = await ForwardAuthInstance.StartProcessAsync(settings);
        _backend = await EchoBackend.StartAsync();
        _caddy = await CaddyProxy.StartAsync(CaddyProxy.ForwardAuthTo([$"127.0.0.1:{_replica.Port.ToString(CultureInfo.InvariantCulture)}"], _backend.Port));
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await _caddy.DisposeAsync();
        await _backend.DisposeAsync();
        await _replica.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Test]
    public async Task ForgedBearerTokens_ThroughCaddy_EleventhGets429WithRetryAfter()
    {
        using var http = new HttpClient();
        using var key = RSA.Create(2048);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 11; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _caddy.BaseUrl + "/api/data");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Forged(key));
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            // The client's own claim: Caddy (no trusted_proxies) replaces it with the address it sees.
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", "192.0.2." + (i + 1).ToString(CultureInfo.InvariantCulture));
            last?.Dispose();
            last = await http.SendAsync(request);
            statuses.Add(last.StatusCode);
        }

        Assert.That(statuses.Take(10), Has.All.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(last!.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(int.Parse(last.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture), Is.InRange(280, 300));
        Assert.That(await last.Content.ReadAsStringAsync(), Does.Contain("too_many_attempts"));
        await TestPaths.WaitUntilAsync(
            () => Task.FromResult(_replica.Logs.Any(l => l.Contains("\"Outcome\":\"too_many_attempts\"", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10),
            "the Debug decision line of the refusal");
        var decision = _replica.Logs.Last(l => l.Contains("\"Outcome\":\"too_many_attempts\"", StringComparison.Ordinal));
        Assert.That(decision, Does.Contain("\"Status\":429").And.Contain("banned by regulation").And.Contain("\"Source\":\"bearer token\""));
        Assert.That(_replica.Logs.Count(l => l.Contains("\"Id\":305", StringComparison.Ordinal)), Is.EqualTo(1), "one ban line");
        last.Dispose();
    }

    private string Forged(RSA key) => Jwt.Build(
        new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = OidcProvider.KeyId },
        new Dictionary<string, object>
        {
            ["iss"] = _provider.Issuer, ["sub"] = "mallory", ["aud"] = ReplicaPair.ApiAudience,
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
        },
        Jwt.Rs256(key));
}

/// <summary>
/// Regulation through the real nginx running <c>examples/nginx/nginx.conf</c>: <c>auth_request</c> only understands
/// 2xx/401/403, so a banned client gets 403 from <c>/oauth2/auth</c> — and nginx's 403, with the example's
/// <c>Retry-After</c> passed on, rather than the 500 a 429 would become.
/// </summary>
[TestFixture]
[NonParallelizable]
public class RegulationNginxTests
{
    private RedisServer _redis = null!;
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _replica = null!;
    private EchoBackend _backend = null!;
    private NginxProxy _nginx = null!;

    [OneTimeSetUp]
    public async Task StartStack()
    {
        var port = TestPaths.FreePort();
        _redis = await RedisServer.StartAsync();
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint", AccessTokenResource = ReplicaPair.ApiAudience });
        var settings = ForwardAuthSettings.For(_provider, _redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["REGULATION_MAX_RETRIES"] = "3";
        _replica = await ForwardAuthInstance.StartProcessAsync(settings);
        _backend = await EchoBackend.StartAsync();
        _nginx = await NginxProxy.StartAsync(port, [_replica.Port], _backend.Port);
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await _nginx.DisposeAsync();
        await _backend.DisposeAsync();
        await _replica.DisposeAsync();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Test]
    public async Task ForgedBearerTokens_ThroughNginx_FourthGets403WithRetryAfter()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var key = RSA.Create(2048);

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _nginx.BaseUrl + "/api/data");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Jwt.Build(
                new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = OidcProvider.KeyId },
                new Dictionary<string, object> { ["iss"] = _provider.Issuer, ["sub"] = "mallory", ["aud"] = ReplicaPair.ApiAudience, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds() },
                Jwt.Rs256(key)));
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            answers.Add(await http.SendAsync(request));
        }

        try
        {
            Assert.That(answers.Take(3).Select(a => a.StatusCode), Has.All.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(answers[3].StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), _nginx.ErrorLog);
            Assert.That(int.Parse(answers[3].Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture), Is.InRange(280, 300));
            Assert.That(answers[0].Headers.Contains("Retry-After"), Is.False, "no Retry-After on other answers");
        }
        finally
        {
            answers.ForEach(a => a.Dispose());
        }
    }
}

