using System.Globalization;
using System.Text.Json.Nodes;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// The container health probes run for real: ForwardAuth started with the Dockerfile's own ENV (only the port
/// changed, so tests never collide), then the Dockerfile's HEALTHCHECK and the ECS task's healthCheck commands
/// executed as the container runtime would.
/// </summary>
public class HealthProbeTests
{
    private ExternalProcess? _service;
    private int _port;
    private Dictionary<string, string> _imageEnvironment = [];

    private static Dockerfile Image => Dockerfile.Read(Path.Combine(TestPaths.RepoRoot, "Dockerfile"));

    [OneTimeSetUp]
    public async Task StartServiceAsTheImageWould()
    {
        var image = Image;
        _imageEnvironment = image.Environment(image.FinalStage);
        var documentedPort = image.InStage(image.FinalStage, "EXPOSE").Single().Arguments;
        var imageUrls = _imageEnvironment["ASPNETCORE_URLS"];
        // On another port when the chosen one is taken before the process binds it (see Ports).
        (_port, _service) = await Ports.StartOnFreePortAsync(async port =>
        {
            _imageEnvironment["ASPNETCORE_URLS"] = imageUrls.Replace(":" + documentedPort, ":" + port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var environment = new Dictionary<string, string>(_imageEnvironment)
            {
                // A provider nobody answers for: liveness must not depend on it.
                ["PROVIDER_URL"] = "https://127.0.0.1:9/",
                ["CLIENT_ID"] = "forwardauth",
                ["CLIENT_SECRET"] = "probe-test-secret",
                ["SESSION_ENCRYPTION_KEY"] = "probe-test-session-encryption-key-0123456789",
            };
            var service = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll], environment);
            try
            {
                using var http = new HttpClient();
                await TestPaths.WaitUntilAsync(
                    async () =>
                    {
                        await service.ThrowIfExitedAsync("ForwardAuth");
                        return (await http.GetAsync($"http://127.0.0.1:{port}/healthz")).IsSuccessStatusCode;
                    },
                    TimeSpan.FromSeconds(30),
                    "ForwardAuth started with the image's environment");
            }
            catch
            {
                await service.DisposeAsync();
                throw;
            }

            return (port, service);
        });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }
    }

    [Test]
    public void ImageEnvironment_ListensOnlyWhereAspNetCoreUrlsSays()
    {
        // The base image's ASPNETCORE_HTTP_PORTS=8080 would otherwise be overridden with a warning at every start.
        Assert.That(_service!.Output, Has.None.Contains("Overriding HTTP_PORTS"));
        Assert.That(_service.Output, Has.None.Contains("\"@l\":\"Error\""));
    }

    [Test]
    public void DockerfileHealthcheck_PassesAgainstTheRunningService()
    {
        var result = RunDockerfileProbe(_imageEnvironment["ASPNETCORE_URLS"]);

        Assert.That(result.ExitCode, Is.Zero, result.Describe());
    }

    [Test]
    public void DockerfileHealthcheck_FailsWhenNothingAnswers()
    {
        using var nothingThere = PortReservation.Take();
        var result = RunDockerfileProbe($"http://+:{nothingThere.Port}");

        Assert.That(result.ExitCode, Is.Not.Zero, result.Describe());
    }

    [Test]
    public void EcsHealthCheck_PassesAgainstTheRunningService_OnTheTaskPort()
    {
        var task = JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentTools.ExamplesDirectory, "ecs", "task-definition.json")));
        var container = task.Items("containerDefinitions").Single(c => c.Text("name") == "forwardauth");
        var taskPort = container.At("portMappings.0.containerPort")!.ToString();
        var command = container.Items("healthCheck.command").Select(n => n.GetValue<string>()).ToList();

        Assert.That(command[0], Is.EqualTo("CMD"), "exec form");
        Assert.That(command[^1], Does.Contain("/127.0.0.1/" + taskPort + " ").And.Contain("/healthz"), "probes the container port");
        var script = command[^1].Replace("/" + taskPort + " ", "/" + _port.ToString(CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal);
        var result = DeploymentTools.Run(command[1], [.. command.Skip(2).SkipLast(1), script]);

        Assert.That(result.ExitCode, Is.Zero, result.Describe());
    }

    private static ToolResult RunDockerfileProbe(string aspNetCoreUrls)
    {
        var image = Image;
        var healthcheck = image.InStage(image.FinalStage, "HEALTHCHECK").Single().Arguments;
        var cmd = healthcheck[(healthcheck.IndexOf(" CMD ", StringComparison.Ordinal) + 5)..];
        var exec = new DockerInstruction(image.FinalStage, "CMD", cmd).ExecForm()
            ?? throw new AssertionException("HEALTHCHECK CMD should use the exec form (no /bin/sh assumption): " + cmd);

        return DeploymentTools.Run(TestPaths.RequireExecutable(exec[0]), exec.Skip(1), new Dictionary<string, string> { ["ASPNETCORE_URLS"] = aspNetCoreUrls });
    }
}
