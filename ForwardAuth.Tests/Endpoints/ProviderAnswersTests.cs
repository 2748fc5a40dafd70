using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Endpoints;

/// <summary>
/// Provider answers that are not plain success, through two replicas and the dev provider: a voided code
/// (<c>invalid_grant</c>) starts the login once more and never loops; partial consent is logged per missing scope.
/// </summary>
[TestFixture]
public class ProviderAnswersTests : ReplicaPair
{
    private const string SessionCookie = "_forwardauth_session";

    [TearDown]
    public async Task RestoreProvider()
    {
        await Provider.RefuseCodesAsync(0);
        await Provider.SetConsentScopesAsync(null);
    }

    [Test]
    public async Task Callback_CodeRefusedOnce_LoginStartsAgainWithFreshStateAndSucceeds()
    {
        await Provider.RefuseCodesAsync(1);
        var exchanges = await Provider.GrantCountAsync("authorization_code");
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", "/reports", ForwardAuthClient.Navigation);
        var firstState = ForwardAuthClient.Query(challenge.Headers.Location!.PathAndQuery)["state"];
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");

        using var retry = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);

        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Found), "not the 403 dead end");
        Assert.That(retry.Headers.Location!.AbsoluteUri, Does.StartWith(Provider.Issuer + "/auth"));
        Assert.That(ForwardAuthClient.Query(retry.Headers.Location.PathAndQuery)["state"], Is.Not.EqualTo(firstState), "a fresh state");
        Assert.That(B.Logs, Has.Some.Contains("refused the code (invalid_grant); starting the login once more"));

        var second = await client.ProviderRoundTripAsync(retry.Headers.Location.AbsoluteUri, "alice");
        using var done = await client.AuthAsync(A, "GET", second, ForwardAuthClient.Navigation);

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        Assert.That(done.Headers.Location!.AbsoluteUri, Is.EqualTo("http://app.test/reports"));
        Assert.That(client.Cookies.Keys, Does.Contain(SessionCookie));
        Assert.That(await Provider.GrantCountAsync("authorization_code") - exchanges, Is.EqualTo(2));
    }

    [Test]
    public async Task Callback_CodeRefusedTwice_RetriedLoginIsNotRetriedAgain_403()
    {
        await Provider.RefuseCodesAsync(2);
        var exchanges = await Provider.GrantCountAsync("authorization_code");
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var callback = await client.ProviderRoundTripAsync(challenge.Headers.Location!.AbsoluteUri, "alice");
        using var retry = await client.AuthAsync(B, "GET", callback, ForwardAuthClient.Navigation);
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var second = await client.ProviderRoundTripAsync(retry.Headers.Location!.AbsoluteUri, "alice");

        using var refused = await client.AuthAsync(A, "GET", second, ForwardAuthClient.Navigation);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"));
        Assert.That(client.Cookies.Keys, Does.Not.Contain(SessionCookie));
        Assert.That(await Provider.GrantCountAsync("authorization_code") - exchanges, Is.EqualTo(2), "no third exchange: never a loop");
    }

    [Test]
    public async Task Callback_ProviderError_StaysA403WithoutRetry()
    {
        using var client = new ForwardAuthClient();
        using var challenge = await client.AuthAsync(A, "GET", "/", ForwardAuthClient.Navigation);
        var state = ForwardAuthClient.Query(challenge.Headers.Location!.PathAndQuery)["state"];

        using var refused = await client.AuthAsync(B, "GET", "/oauth2/callback?error=access_denied&state=" + Uri.EscapeDataString(state), ForwardAuthClient.Navigation);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "a real refusal is not retried");
    }

    [Test]
    public async Task Login_PartialConsent_EachMissingScopeLoggedOnce()
    {
        await Provider.SetConsentScopesAsync("openid");
        using var client = new ForwardAuthClient();

        using var done = await client.LoginAsync(A, B, "/", "bob");

        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the login itself succeeds");
        var lines = B.Logs.Where(l => l.Contains("did not grant the scope", StringComparison.Ordinal)).ToList();
        foreach (var scope in new[] { "profile", "email", "groups" })
        {
            Assert.That(lines.Count(l => l.Contains($"scope {scope} that", StringComparison.Ordinal) || l.Contains($"scope \\\"{scope}\\\"", StringComparison.Ordinal)), Is.EqualTo(1), scope + "\n" + string.Join('\n', lines));
        }

        Assert.That(lines.Any(l => l.Contains("openid", StringComparison.Ordinal)), Is.False, "openid was granted");
    }
}
