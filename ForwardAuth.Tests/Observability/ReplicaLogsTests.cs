using System.Net;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Observability;

/// <summary>
/// Two hosts in one process (the tests' in-process replicas) each log through their own logger: the static Serilog
/// logger, which the last host built would own, is left alone. Without it, a replica's lines landed in the capture of
/// whichever replica started last, and assertions on one replica's log read another's.
/// </summary>
[TestFixture]
public class ReplicaLogsTests
{
    [Test]
    public async Task TwoInProcessReplicas_EachDecisionLineIsInItsOwnReplicasLog()
    {
        await using var provider = await OidcProvider.StartAsync(new OidcProvider.Settings());
        var settings = ForwardAuthSettings.For(provider);
        settings["LOG_LEVEL"] = "debug";
        await using var first = await ForwardAuthInstance.StartInProcessAsync(settings);
        await using var second = await ForwardAuthInstance.StartInProcessAsync(settings);
        using var client = new ForwardAuthClient();

        using var toFirst = await client.AuthAsync(first, "GET", "/only-first", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));
        using var toSecond = await client.AuthAsync(second, "GET", "/only-second", r => r.Headers.Add("X-Requested-With", "XMLHttpRequest"));

        Assert.That(new[] { toFirst.StatusCode, toSecond.StatusCode }, Is.All.EqualTo(HttpStatusCode.Unauthorized));
        var firstLines = first.Logs.Where(l => l.Contains("/only-", StringComparison.Ordinal)).ToList();
        var secondLines = second.Logs.Where(l => l.Contains("/only-", StringComparison.Ordinal)).ToList();
        Assert.That(firstLines, Has.Count.EqualTo(1).And.All.Contains("/only-first"), "the first replica's log has its own decision, and only it");
        Assert.That(secondLines, Has.Count.EqualTo(1).And.All.Contains("/only-second"), "the second replica's log has its own decision, and only it");
    }
}
