using System.Text.RegularExpressions;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// examples/nginx: the ingress-nginx annotations are valid Ingresses pointing at the nginx protocol's paths with every
/// identity header, and the nginx configuration copies (and so overwrites) every identity header. The configuration
/// itself runs in a real nginx in EndToEnd/NginxTests.
/// </summary>
public class NginxExampleTests
{
    private static string Example(string file) => Path.Combine(DeploymentTools.ExamplesDirectory, "nginx", file);

    [Test]
    public void IngressAnnotations_AreValidIngresses_ForTheNginxProtocol()
    {
        var results = ManifestValidator.ValidateFiles([Example("ingress-annotations.yaml")]);
        var manifests = ManifestSet.FromFiles(Example("ingress-annotations.yaml"));
        var annotations = manifests.Single("Ingress", "app")["metadata"]!["annotations"]!;
        var oauth2 = manifests.Single("Ingress", "app-oauth2");

        ManifestValidator.AssertAllValid(results, "examples/nginx");
        Assert.Multiple(() =>
        {
            Assert.That((string)annotations["nginx.ingress.kubernetes.io/auth-url"]!, Does.EndWith(":4181/oauth2/auth"));
            Assert.That((string)annotations["nginx.ingress.kubernetes.io/auth-signin"]!, Is.EqualTo("https://$host/oauth2/start?rd=$escaped_request_uri"));
            Assert.That(((string)annotations["nginx.ingress.kubernetes.io/auth-response-headers"]!).Split(','), Is.EqualTo(HelmChartTests.IdentityHeaders));
            Assert.That(oauth2.Items("spec.rules").Single().Items("http.paths").Single().Text("path"), Is.EqualTo("/oauth2/"));
            Assert.That(oauth2.At("metadata.annotations"), Is.Null, "ForwardAuth's own pages are not behind auth-url");
        });
    }

    [Test]
    public void NginxConf_SetsEveryIdentityHeaderFromTheAuthAnswer()
    {
        var identity = File.ReadAllText(Example("forwardauth-identity.conf"));
        var conf = File.ReadAllText(Example("nginx.conf"));

        foreach (var header in HelmChartTests.IdentityHeaders)
        {
            var variable = "$upstream_http_" + header.ToLowerInvariant().Replace('-', '_');
            var set = Regex.Match(identity, @"auth_request_set (\$\w+) " + Regex.Escape(variable) + ";");
            Assert.That(set.Success, Is.True, header + " is not read from the auth_request answer");
            Assert.That(identity, Does.Contain($"proxy_set_header {header} {set.Groups[1].Value};"), header + " is not set for the application");
        }

        Assert.That(Regex.Count(conf, @"auth_request /oauth2/auth"), Is.EqualTo(Regex.Count(conf, "include forwardauth-identity.conf;")),
            "every protected location includes the identity headers");
        Assert.That(conf, Does.Contain("error_page 401 = @signin;").And.Contain("internal;"));
    }
}
