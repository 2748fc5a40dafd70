using System.Text.Json;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary><c>enablePKCE: false</c> (the plugin's default is off) starts, and says once that PKCE is used anyway.</summary>
public class EnablePkceLogTests
{
    [TestCase("false", 1)]
    [TestCase("true", 0)]
    [TestCase(null, 0)]
    public async Task Start_EnablePkce_LoggedOnceOnlyWhenFalse(string? enablePkce, int lines)
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "https://id.example.com",
            ["CLIENT_ID"] = "forwardauth",
            ["CLIENT_SECRET"] = "client-secret",
            ["SESSION_ENCRYPTION_KEY"] = ForwardAuthSettings.EncryptionKey,
        };
        if (enablePkce is not null)
        {
            env["ENABLE_PKCE"] = enablePkce;
        }

        var logs = new LogCapture();
        await using var app = HostingExtensions.Build(
            ["--urls", "http://127.0.0.1:0"], n => env.GetValueOrDefault(n), configureLogging: l => l.WriteTo.Sink(logs));

        var pkce = logs.Lines.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 405)
            .Select(l => l.GetProperty("@m").GetString())
            .ToList();
        Assert.That(pkce, Has.Count.EqualTo(lines));
        Assert.That(pkce, Has.All.EqualTo("enablePKCE is false: ignored, every login uses PKCE (S256)"));
    }
}
