using System.Text.Json;
using ForwardAuth.Observability;
using ForwardAuth.Tests.Deployment;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Observability;

/// <summary>A started instance says what it is: one startup log line and the <c>forwardauth_build_info</c> gauge.</summary>
[TestFixture]
public class BuildInfoTests
{
    private OidcProvider _provider = null!;
    private ForwardAuthInstance _replica = null!;
    private List<PrometheusText.Sample> _metrics = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _provider = await OidcProvider.StartAsync(new OidcProvider.Settings { RedirectUris = ["http://app.test/oauth2/callback"] });
        _replica = await ForwardAuthInstance.StartInProcessAsync(ForwardAuthSettings.For(_provider));
        using var http = new HttpClient();
        _metrics = PrometheusText.Parse(await http.GetStringAsync(_replica.BaseUrl + "/metrics"));
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _replica.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Test]
    public void Log_Startup_NamesVersionCommitAndFrameworkOnce()
    {
        var starting = _replica.Logs.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 1)
            .ToList();

        Assert.That(starting, Has.Count.EqualTo(1), "one startup line, event id 1");
        var line = starting[0];
        Assert.Multiple(() =>
        {
            Assert.That(line.GetProperty("@m").GetString(), Does.StartWith("ForwardAuth ").And.Contain(" starting (commit "));
            Assert.That(line.GetProperty("Version").GetString(), Is.EqualTo(VersionTests.PropsVersion));
            Assert.That(line.GetProperty("Commit").GetString(), Is.EqualTo(BuildInfo.Commit));
            Assert.That(line.GetProperty("Framework").GetString(), Is.EqualTo(BuildInfo.Framework));
        });
    }

    [Test]
    public void Metrics_BuildInfo_IsOneSeriesWithVersionCommitAndFramework()
    {
        var series = _metrics.Where(s => s.Name == "forwardauth_build_info").ToList();

        Assert.That(series, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(series[0].Value, Is.EqualTo(1));
            Assert.That(series[0].Labels["version"], Is.EqualTo(VersionTests.PropsVersion));
            Assert.That(series[0].Labels["commit"], Is.EqualTo(BuildInfo.Commit).And.Match("^([0-9a-f]{12}|unknown)$"));
            Assert.That(series[0].Labels["framework"], Is.EqualTo(BuildInfo.Framework).And.StartWith(".NET "));
        });
    }
}
