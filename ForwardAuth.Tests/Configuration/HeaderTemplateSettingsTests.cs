using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// The <c>headers</c> key at start: what the plugin's language does not allow (or ForwardAuth refuses) is a
/// configuration error naming the header, all of them in one message; the YAML and environment forms.
/// </summary>
public class HeaderTemplateSettingsTests
{
    private static IReadOnlyList<string> Problems(Dictionary<string, string> settings) =>
        Assert.Throws<ConfigurationException>(() => HeaderTemplateTests.Load(settings))!.Problems;

    [TestCase("{{.}}", "whole context")]
    [TestCase("{{$}}", "whole context")]
    [TestCase("{{if .}}x{{end}}", "whole context")]
    [TestCase("{{.Claims}}", "whole claims map")]
    [TestCase("{{with .Claims}}{{.}}{{end}}", "whole claims map")]
    [TestCase("{{default \"x\" .Claims}}", "whole claims map")]
    [TestCase("{{range .Claims}}x{{end}}", "range needs one claim")]
    [TestCase("{{range .AccessToken}}x{{end}}", "range needs one claim")]
    [TestCase("{{printf \"%s\" .Claims.email}}", "function 'printf' is not supported")]
    [TestCase("{{index .Claims.groups 0}}", "function 'index' is not supported")]
    [TestCase("{{len .Claims.groups}}", "function 'len' is not supported")]
    [TestCase("{{.Claims.email | printf \"%s\"}}", "function 'printf' is not supported")]
    [TestCase("{{.Claims.email | .Claims.sub}}", "a pipeline must end in a function")]
    [TestCase("{{.RefreshToken}}", ".RefreshToken is refused")]
    [TestCase("Bearer {{{{.RefreshToken}}}}", ".RefreshToken is refused")]
    [TestCase("{{.claims.email}}", "case-sensitive, use .Claims")]
    [TestCase("{{.accessToken}}", "case-sensitive, use .AccessToken")]
    [TestCase("{{.Foo}}", "unknown field .Foo")]
    [TestCase("{{.AccessToken.x}}", "without fields")]
    [TestCase("{{get .Claims .Claims.role}}", "needs the claim's name in quotes")]
    [TestCase("{{default \"x\"}}", "default takes 2 arguments")]
    [TestCase("{{get .Claims.realm_access}}", "get takes 2 arguments")]
    [TestCase("{{if ne .Claims.role \"admin\"}}x{{end}}", "function 'ne' is not supported (supported: default, get, eq)")]
    [TestCase("{{if eq .Claims.role}}x{{end}}", "eq takes 2 or more arguments")]
    [TestCase("{{if and .Claims.a .Claims.b}}x{{end}}", "function 'and' is not supported")]
    [TestCase("{{if .Claims.a}}x", "has no {{end}}")]
    [TestCase("x{{end}}", "without an if, range or with")]
    [TestCase("{{range .Claims.g}}x{{else if .Claims.a}}y{{end}}", "is not supported here")]
    [TestCase("{{template \"x\"}}", "'template' is not supported")]
    [TestCase("{{$x := .Claims.email}}{{$x}}", "only in range and with")]
    [TestCase("{{$x = .Claims.email}}", "assignment is not supported")]
    [TestCase("{{$nope}}", "undefined variable $nope")]
    [TestCase("{{range .Claims.g}}{{end}}{{$e}}", "undefined variable $e")]
    [TestCase("{{.Claims.email", "unclosed action")]
    [TestCase("{{\"open}}", "unterminated quoted string")]
    [TestCase("{{}}", "empty action")]
    [TestCase("{{1.5}}", "only whole numbers")]
    [TestCase("{{(.Claims.email).x}}", "a field of a parenthesised value")]
    public void Template_Refused_AtStart_NamingTheHeader(string template, string reason)
    {
        var problems = Problems(HeaderTemplateTests.Settings(("X-User-Info", template)));

        Assert.That(problems, Has.Some.StartsWith("headers (HEADERS): header 'X-User-Info': ").And.Contains(reason));
    }

    [TestCase("X-Forwarded-User", "written by ForwardAuth itself")]
    [TestCase("x-auth-request-email", "written by ForwardAuth itself")]
    [TestCase("Content-Length", "written by ForwardAuth itself")]
    [TestCase("Set-Cookie", "written by ForwardAuth itself")]
    public void Name_OfAHeaderForwardAuthWrites_Refused(string name, string reason) =>
        Assert.That(Problems(HeaderTemplateTests.Settings((name, "{{.Claims.email}}"))), Has.Some.Contains($"header '{name}': is {reason}"));

    [Test]
    public void Entries_BadNamesDuplicatesAndCollisions_EveryProblemInOneMessage()
    {
        var settings = HeaderTemplateTests.Settings(
            ("", "{{.Claims.email}}"),
            ("X User", "{{.Claims.email}}"),
            ("X-Dup", "{{.Claims.email}}"),
            ("x-dup", "{{.Claims.sub}}"),
            ("Authorization", "Bearer {{.AccessToken}}"),
            ("X-Claim", "{{.Claims.sub}}"),
            ("X-Empty", ""),
            ("X-Bad", "{{.}}"));
        settings["PASS_AUTHORIZATION_HEADER"] = "true";
        settings["CLAIM_HEADERS"] = "X-Claim=sub";

        var problems = Problems(settings);

        Assert.That(problems, Has.Some.EqualTo("headers (HEADERS): entry #1: has no name"));
        Assert.That(problems, Has.Some.Contains("entry #2: 'X User' is not a header name"));
        Assert.That(problems, Has.Some.Contains("header 'x-dup': is listed twice"));
        Assert.That(problems, Has.Some.Contains("header 'Authorization': passAuthorizationHeader already writes Authorization"));
        Assert.That(problems, Has.Some.Contains("header 'X-Claim': is also a claimHeaders header"));
        Assert.That(problems, Has.Some.Contains("header 'X-Empty': has no value"));
        Assert.That(problems, Has.Some.Contains("header 'X-Bad': '{{.}}' would print the whole context"));
    }

    [TestCase("X-User-Email={{.Claims.email}}")]
    [TestCase("{\"name\": \"X\"}")]
    [TestCase("[\"X-User-Email\"]")]
    [TestCase("[{name: X-A, value: '{{.Claims.email}}'}, [nested]]")]
    public void Environment_NotAListOfEntries_Refused(string value)
    {
        var settings = HeaderTemplateTests.Settings();
        settings["HEADERS"] = value;

        Assert.That(Problems(settings), Has.Some.StartsWith("headers (HEADERS): ").And.Contains("name"));
    }

    [Test]
    public void Environment_YamlFlowForm_Accepted()
    {
        var settings = HeaderTemplateTests.Settings();
        settings["HEADERS"] = "[{name: X-User-Email, value: '{{.Claims.email}}'}, {name: X-Groups, value: '{{range .Claims.groups}}{{.}},{{end}}'}]";

        var options = HeaderTemplateTests.Load(settings);

        Assert.That(options.HeaderTemplates.Templates.Select(t => t.Name), Is.EqualTo(new[] { "X-User-Email", "X-Groups" }));
        Assert.That(options.HeaderTemplates.ClaimNames, Is.EquivalentTo(new[] { "email", "groups" }));
    }

    [Test]
    public async Task Process_RefusedTemplates_ExitCode2_EachHeaderNamed_NoClaimOrTokenPrinted()
    {
        var env = HeaderTemplateTests.Settings(
            ("X-Refresh", "{{.RefreshToken}}"), ("X-All", "{{.Claims}}"), ("X-Fmt", "{{printf \"%s\" .Claims.email}}"), ("X-Ok", "{{.Claims.email}}"));
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{TestPaths.FreePort()}";
        await using var process = ExternalProcess.Start(TestPaths.RequireExecutable("dotnet"), [TestPaths.ForwardAuthDll], env);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var output = string.Join('\n', process.Output);

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(output, Does.Contain("headers (HEADERS): header 'X-Refresh': .RefreshToken is refused"));
            Assert.That(output, Does.Contain("headers (HEADERS): header 'X-All': '{{.Claims}}' would print the whole claims map"));
            Assert.That(output, Does.Contain("headers (HEADERS): header 'X-Fmt': function 'printf' is not supported"));
            Assert.That(output, Does.Not.Contain("X-Ok"));
            Assert.That(output, Does.Not.Contain("s3cret-value"));
        });
    }

    [Test]
    public void Yaml_UnknownFieldInAnEntry_Refused()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("fa-headers").FullName, "config.yaml");
        File.WriteAllText(file, """
            providerURL: https://id.example.com
            clientID: forwardauth
            clientSecret: s3cret-value
            sessionEncryptionKey: 0123456789abcdef0123456789abcdef-key
            headers:
              - name: X-User-Email
                valeu: "{{.Claims.email}}"
              - just-a-string
            """);

        var problems = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(["--config", file], _ => null))!.Problems;

        Assert.That(problems, Has.Some.Contains("header 'X-User-Email': unknown field 'valeu'"));
        Assert.That(problems, Has.Some.EqualTo($"headers (HEADERS): entry #2 ('{file}' line 8) is not a mapping of plain values (name: …, value: …)"));
    }
}
