using System.Diagnostics;
using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.EndToEnd;

/// <summary>
/// <c>sessionCheckInterval</c> with everything real: Caddy → two ForwardAuth processes sharing Redis → the dev
/// provider (node oidc-provider). The administrator revokes alice at the provider (its <c>/__revoke-account</c>); within
/// the interval (2 s here) alice is signed out on both replicas while bob is unaffected. Stopping the provider logs no
/// one out and counts skipped checks.
/// </summary>
[TestFixture]
public class SessionCheckProxyTests : ProxiedStack
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private protected override void ConfigureReplicas(Dictionary<string, string> settings, string site) => settings["SESSION_CHECK_INTERVAL"] = "2";

    [Test]
    [Order(1)]
    public async Task AdministratorRevokesAlice_SignedOutOnBothReplicas_BobUnaffected()
    {
        using var alice = await LoggedInClientAsync("alice");
        using var bob = await LoggedInClientAsync("bob");
        foreach (var replica in new[] { "a", "b" })
        {
            Assert.That(await StatusAsync(alice, replica), Is.EqualTo(HttpStatusCode.OK), "alice on " + replica);
            Assert.That(await StatusAsync(bob, replica), Is.EqualTo(HttpStatusCode.OK), "bob on " + replica);
        }

        Assert.That(await Provider.RevokeAccountAsync("alice"), Is.GreaterThan(0), "the provider revoked alice's grant");

        // Each request answers at once and starts a due check in the background: poll until alice is out on both.
        var clock = Stopwatch.StartNew();
        HttpStatusCode onA, onB;
        do
        {
            onA = await StatusAsync(alice, "a");
            onB = await StatusAsync(alice, "b");
            Assert.That(await StatusAsync(bob, "a"), Is.EqualTo(HttpStatusCode.OK), "bob stays signed in (A)");
            Assert.That(await StatusAsync(bob, "b"), Is.EqualTo(HttpStatusCode.OK), "bob stays signed in (B)");
            if (onA == HttpStatusCode.OK || onB == HttpStatusCode.OK)
            {
                await Task.Delay(200);
            }
        }
        while ((onA == HttpStatusCode.OK || onB == HttpStatusCode.OK) && clock.Elapsed < Deadline);

        Assert.That(onA, Is.EqualTo(HttpStatusCode.Found), "alice signed out on replica A");
        Assert.That(onB, Is.EqualTo(HttpStatusCode.Found), "alice signed out on replica B");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "noticed within a few intervals of 2 s");
        Assert.That(await CheckCountAsync("ended"), Is.EqualTo(1), "one replica ended it, for both");
        var ended = A.Logs.Concat(B.Logs).Where(l => l.Contains("\"Id\":245", StringComparison.Ordinal)).ToList();
        Assert.That(ended, Has.Count.EqualTo(1));
        Assert.That(ended[0], Does.Contain("alice@example.com").And.Contain("invalid_grant"));
        Assert.That(await StatusAsync(bob, "a"), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    [Order(2)]
    public async Task IdleSession_CheckedByTheSweepWithoutARequest()
    {
        using var carol = await LoggedInClientAsync("carol");
        Assert.That(await StatusAsync(carol, "b"), Is.EqualTo(HttpStatusCode.OK));
        var before = await Provider.GrantCountAsync("refresh_token");

        var clock = Stopwatch.StartNew();
        while (await Provider.GrantCountAsync("refresh_token") < before + 2 && clock.Elapsed < Deadline)
        {
            await Task.Delay(200);
        }

        Assert.That(await Provider.GrantCountAsync("refresh_token"), Is.GreaterThanOrEqualTo(before + 2), "idle sessions are still checked, every interval");
        Assert.That(await StatusAsync(carol, "a"), Is.EqualTo(HttpStatusCode.OK), "rotation or not, a passed check keeps the session");
    }

    [Test]
    [Order(3)]
    public async Task ProviderOutage_NoOneLoggedOut_ChecksCountedSkipped()
    {
        using var dave = await LoggedInClientAsync("dave");
        var endedBefore = await CheckCountAsync("ended");
        await Provider.DisposeAsync();

        var clock = Stopwatch.StartNew();
        while ((await CheckCountAsync("skipped", "a") < 2 || await CheckCountAsync("skipped", "b") < 2) && clock.Elapsed < Deadline)
        {
            Assert.That(await StatusAsync(dave, "a"), Is.EqualTo(HttpStatusCode.OK), "dave stays signed in (A)");
            Assert.That(await StatusAsync(dave, "b"), Is.EqualTo(HttpStatusCode.OK), "dave stays signed in (B)");
            await Task.Delay(200);
        }

        Assert.That(await CheckCountAsync("skipped", "a"), Is.GreaterThanOrEqualTo(2), "skipped checks counted on A");
        Assert.That(await CheckCountAsync("skipped", "b"), Is.GreaterThanOrEqualTo(2), "skipped checks counted on B");
        Assert.That(await CheckCountAsync("ended"), Is.EqualTo(endedBefore), "an outage ends no session");
        Assert.That(await StatusAsync(dave, "a"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(dave, "b"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(A.Logs.Concat(B.Logs).Any(l => l.Contains("\"Id\":246", StringComparison.Ordinal)), Is.True, "a skipped-check line");
    }

    private async Task<HttpStatusCode> StatusAsync(HttpClient client, string replica)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/");
        request.Headers.Add("Accept", "text/html");
        if (replica == "b")
        {
            request.Headers.Add("X-Replica", "b");
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<double> CheckCountAsync(string outcome, string? replica = null)
    {
        using var http = new HttpClient();
        var total = 0.0;
        foreach (var instance in replica switch { "a" => [A], "b" => [B], _ => new[] { A, B } })
        {
            total += PrometheusText.Parse(await http.GetStringAsync(instance.BaseUrl + "/metrics")).Sum("forwardauth_session_checks_total", ("outcome", outcome));
        }

        return total;
    }
}

/// <summary>
/// The default (<c>sessionCheckInterval</c> 0): signed-in sessions left idle cause no token or userinfo request at the
/// provider. Absence has nothing to poll for: the stack stays idle for 6 s, three intervals of the stack above, in
/// which that stack checks an idle session at least twice.
/// </summary>
[TestFixture]
public class SessionCheckOffProxyTests : ProxiedStack
{
    [Test]
    public async Task Off_IdleSessions_NoProviderTraffic()
    {
        using var alice = await LoggedInClientAsync("alice");
        using var bob = await LoggedInClientAsync("bob");
        await Provider.ResetStatsAsync();

        await Task.Delay(TimeSpan.FromSeconds(6));

        Assert.That(await Provider.GrantCountAsync("refresh_token"), Is.Zero);
        Assert.That(await Provider.UserinfoCountAsync(), Is.Zero);
        using var request = new HttpRequestMessage(HttpMethod.Get, SiteUrl + "/");
        using var response = await alice.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
