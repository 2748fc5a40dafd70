using System.Net;
using System.Text;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// Issue 12 item 3 against the real provider (oidc-provider issues opaque access tokens when no resource is
/// requested): <c>allowOpaqueTokens</c> lets such a token through as its user after introspection, a token revoked at
/// the provider is refused once the cached answer ends (<c>tokenMetadataTTL</c> 1 s here), and with the provider gone
/// an unjudged token is answered 503 — never 200.
/// </summary>
public class IntrospectionTests
{
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _replica = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { AutoLogin = "hint" });
        var settings = ForwardAuthSettings.For(_provider);
        settings["ALLOW_OPAQUE_TOKENS"] = "true";
        settings["TOKEN_METADATA_TTL"] = "1";
        _replica = await ForwardAuthInstance.StartProcessAsync(settings);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _replica.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Test, Order(1)]
    public async Task OpaqueAccessToken_IntrospectedAtTheProvider_LetThroughAsItsUser()
    {
        var tokens = await ProviderLogin.ObtainAsync(_provider, "alice");
        Assert.That(tokens.AccessToken.Count(c => c == '.'), Is.Not.EqualTo(2), "the provider issued an opaque access token");
        var before = await IntrospectionCountAsync();

        using var response = await BearerAsync(tokens.AccessToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Forwarded-User").Single(), Does.Contain("alice"));
        Assert.That(await IntrospectionCountAsync(), Is.EqualTo(before + 1));
    }

    [Test, Order(2)]
    public async Task RevokedAtTheProvider_RefusedWithinTheCacheTtl()
    {
        var tokens = await ProviderLogin.ObtainAsync(_provider, "bob");
        using (var allowed = await BearerAsync(tokens.AccessToken))
        {
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await RevokeAsync(tokens.AccessToken);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            await Task.Delay(200);
            using var response = await BearerAsync(tokens.AccessToken);
            status = response.StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized), "a revoked token is refused once the 1 s cached answer ends");
        Assert.That(_replica.Output, Has.Some.Contains("token is not active (introspection)"));
    }

    [Test, Order(3)]
    public async Task ProviderGone_TokenNotJudged_503NotAllowed()
    {
        var tokens = await ProviderLogin.ObtainAsync(_provider, "carol");
        await _provider.DisposeAsync(); // last test of the fixture: the provider stays down

        using var response = await BearerAsync(tokens.AccessToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(response.Headers.Contains("X-Forwarded-User"), Is.False);
    }

    private async Task<HttpResponseMessage> BearerAsync(string token)
    {
        using var browser = new ForwardAuthClient();
        return await browser.AuthAsync(_replica, "GET", "/api/data", r =>
        {
            r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            r.Headers.TryAddWithoutValidation("Accept", "application/json");
        });
    }

    private async Task<int> IntrospectionCountAsync() => (int?)(await _provider.StatsAsync())["introspection"] ?? 0;

    private async Task RevokeAsync(string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _provider.Issuer + "/token/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, ["token_type_hint"] = "access_token" }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{OidcProvider.ClientId}:{OidcProvider.ClientSecret}")));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }
}
