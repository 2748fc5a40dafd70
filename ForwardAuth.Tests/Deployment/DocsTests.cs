using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// docs/install.md and docs/migration-from-traefikoidc.md: their values files render, their manifests are valid,
/// their --set flags name real values, and the plugin block the migration guide says to paste loads as is.
/// </summary>
public partial class DocsTests
{
    private static string Doc(string name) => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", name));

    private static List<string> Blocks(string markdown, string language) =>
        FencedBlock().Matches(markdown).Where(m => m.Groups["lang"].Value == language).Select(m => m.Groups["body"].Value).ToList();

    [Test]
    public void Install_ValuesBlocksRenderValidManifests_AndManifestBlocksAreValid()
    {
        var yamlBlocks = Blocks(Doc("install.md"), "yaml");
        var valuesBlocks = yamlBlocks.Where(b => !b.Contains("apiVersion:", StringComparison.Ordinal)).ToList();
        var manifestBlocks = yamlBlocks.Except(valuesBlocks).ToList();

        Assert.That(valuesBlocks, Has.Count.GreaterThanOrEqualTo(3), "the Redis values (standalone, Sentinel, Cluster)");
        Assert.That(manifestBlocks, Is.Not.Empty, "the Traefik Middleware");
        foreach (var block in valuesBlocks)
        {
            var file = Path.Combine(TestPaths.NewTempDirectory("install-values"), "values.yaml");
            File.WriteAllText(file, block);
            var rendered = HelmChart.Template("forwardauth", [file]);
            ManifestValidator.AssertAllValid(rendered.Validate(), "install.md values:\n" + block);
        }

        var manifests = ManifestValidator.ValidateYaml(string.Join("\n---\n", manifestBlocks));
        ManifestValidator.AssertAllValid(manifests, "install.md manifests");
        var middleware = ManifestSet.FromYaml("install.md", string.Join("\n---\n", manifestBlocks)).Single("Middleware");
        var chart = HelmChart.Template("forwardauth", [], ["middleware.enabled=true", "middleware.namespace=apps"]).Single("Middleware");
        Assert.That(middleware.At("spec")!.ToJsonString(), Is.EqualTo(chart.At("spec")!.ToJsonString()), "the Middleware the chart creates for the release of the install command");
    }

    [Test]
    public void Install_SetFlagsNameValuesTheChartHas()
    {
        var commands = string.Join("\n", Blocks(Doc("install.md"), "bash")) + "\n" + Doc("install.md");
        var paths = SetFlag().Matches(commands).Select(m => m.Groups["path"].Value).Distinct().ToList();
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentTools.ChartDirectory, "values.schema.json")));

        Assert.That(paths, Does.Contain("config.PROVIDER_URL").And.Contain("secrets.existingSecret"));
        foreach (var path in paths)
        {
            if (path.StartsWith("config.", StringComparison.Ordinal))
            {
                Assert.That(ForwardAuthEnvironment.SettingNames, Does.Contain(path["config.".Length..]), path);
                continue;
            }

            var node = schema;
            foreach (var segment in path.Split('.'))
            {
                node = node?["properties"]?[segment];
            }

            Assert.That(node, Is.Not.Null, $"--set {path}: no such value in helm/forwardauth/values.schema.json");
        }
    }

    [Test]
    public void Migration_ThePluginBlockLoadsAsIs_InEachOfItsThreeShapes()
    {
        var block = Blocks(Doc("migration-from-traefikoidc.md"), "yaml").Single(b => b.Contains("traefikoidc:", StringComparison.Ordinal));
        var middleware = Yaml.ReadDocuments(block).Single();
        var shapes = new Dictionary<string, JsonNode>
        {
            ["whole Middleware"] = middleware,
            ["plugin: block"] = new JsonObject { ["plugin"] = middleware.At("spec.plugin")!.DeepClone() },
            ["bare keys"] = middleware.At("spec.plugin.traefikoidc")!.DeepClone(),
        };

        foreach (var (shape, content) in shapes)
        {
            var file = Path.Combine(TestPaths.NewTempDirectory("migration"), "forwardauth.yaml");
            File.WriteAllText(file, content.ToJsonString()); // JSON is YAML
            ForwardAuthOptions options;
            IReadOnlyList<string> unknown;
            try
            {
                options = ConfigurationLoader.Load(["--config", file], _ => null, out unknown);
            }
            catch (ConfigurationException e)
            {
                throw new AssertionException($"{shape}: {e.Message}");
            }

            Assert.Multiple(() =>
            {
                Assert.That(unknown, Is.Empty, shape);
                Assert.That(options.ProviderUrl, Is.EqualTo(new Uri(middleware.Text("spec.plugin.traefikoidc.providerURL"))), shape);
                Assert.That(options.ClientSecret, Is.EqualTo(middleware.Text("spec.plugin.traefikoidc.clientSecret")), shape);
                Assert.That(options.Redis.Enabled, Is.True, shape);
                Assert.That(options.Redis.Address, Is.EqualTo(middleware.Text("spec.plugin.traefikoidc.redis.address")), shape);
                Assert.That(options.AllowedRolesAndGroups, Is.EqualTo(new[] { "staff" }), shape);
            });
        }
    }

    [Test]
    public void Migration_TheReplacementMiddlewareIsValid_KeepsTheNameAndListsTheIdentityHeaders()
    {
        var blocks = Blocks(Doc("migration-from-traefikoidc.md"), "yaml");
        var plugin = Yaml.ReadDocuments(blocks.Single(b => b.Contains("traefikoidc:", StringComparison.Ordinal))).Single();
        var replacement = blocks.Single(b => b.Contains("forwardAuth:", StringComparison.Ordinal));

        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(replacement), "migration guide forwardAuth Middleware");
        var middleware = Yaml.ReadDocuments(replacement).Single();
        Assert.That(middleware.Name(), Is.EqualTo(plugin.Name()), "same name: the routes need no change");
        Assert.That(middleware.Text("metadata.namespace"), Is.EqualTo(plugin.Text("metadata.namespace")));
        Assert.That(middleware.Items("spec.forwardAuth.authResponseHeaders").Select(h => h.GetValue<string>()), Is.EqualTo(HelmChartTests.IdentityHeaders));
    }

    [Test]
    public void Migration_SecretTable_NamesTheVariablesOfEachSecret()
    {
        var rows = SecretRow().Matches(Doc("migration-from-traefikoidc.md")).ToList();

        Assert.That(rows.Select(r => r.Groups["key"].Value), Is.EquivalentTo(SettingsCatalogue.All.Where(k => k.Secret).Select(k => k.Path)));
        foreach (var row in rows)
        {
            var key = SettingsCatalogue.Find(row.Groups["key"].Value)!;
            Assert.That(row.Groups["env"].Value, Is.EqualTo(key.EnvironmentName));
            Assert.That(row.Groups["file"].Value, Is.EqualTo(key.EnvironmentName + "_FILE"));
        }
    }

    [GeneratedRegex(@"^```(?<lang>\w*)\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"--set(?:-string)?[ =](?<path>[A-Za-z_][\w.]*)=")]
    private static partial Regex SetFlag();

    [GeneratedRegex(@"^\| `(?<key>[\w.]+)` \| `(?<env>[A-Z_]+)` \| `(?<file>[A-Z_]+)` \|$", RegexOptions.Multiline)]
    private static partial Regex SecretRow();
}
