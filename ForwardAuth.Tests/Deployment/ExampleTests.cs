using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// examples/: Kubernetes manifests against their schemas, the Compose file, the Traefik file-provider configuration
/// and the ECS task definition — every environment variable one ForwardAuth reads, and each configuration as a whole
/// accepted by ForwardAuth's loader.
/// </summary>
public partial class ExampleTests
{
    private static string Kubernetes(string file) => Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes", file);

    private static IEnumerable<string> KubernetesManifests =>
        Directory.GetFiles(Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes"), "*.yaml").Where(f => !f.EndsWith("-values.yaml", StringComparison.Ordinal)).Order();

    // ---- Kubernetes ------------------------------------------------------------------------------------------

    [Test]
    public void Kubernetes_EveryManifestIsValidAgainstItsSchema()
    {
        var files = KubernetesManifests.ToList();

        var results = ManifestValidator.ValidateFiles(files);

        Assert.That(files.Select(Path.GetFileName), Is.SupersetOf(new[] { "app.yaml", "middleware.yaml", "redis-failover.yaml" }));
        // No published schema for the operator's CRD here: RedisFailover is checked field by field below.
        ManifestValidator.AssertAllValid(results, "examples/kubernetes", "RedisFailover");
        Assert.That(results.Select(r => r.Kind), Does.Contain("IngressRoute").And.Contain("Middleware").And.Contain("RedisFailover"));
    }

    [Test]
    public void Kubernetes_RedisFailover_IsWhatTheValuesPointForwardAuthAt()
    {
        var manifests = ManifestSet.FromFiles(Kubernetes("redis-failover.yaml"));
        var failover = manifests.Single("RedisFailover");
        var values = Yaml.ReadFile(Kubernetes("forwardauth-values.yaml"));
        var ns = failover.Text("metadata.namespace");
        var authSecret = manifests.Single("Secret", failover.Text("spec.auth.secretPath"));

        Assert.Multiple(() =>
        {
            Assert.That(failover.Text("apiVersion"), Is.EqualTo("databases.spotahome.com/v1"));
            Assert.That(failover.Keys("spec"), Is.SubsetOf(new[] { "auth", "sentinel", "redis", "bootstrapNode", "labelWhitelist" }), "fields of the RedisFailover CRD");
            Assert.That(failover.Keys("spec.redis"), Is.SubsetOf(new[] { "replicas", "resources", "customConfig", "storage", "image", "affinity", "securityContext", "tolerations", "nodeSelector", "podAnnotations", "exporter", "command" }));
            Assert.That(int.Parse(failover.Text("spec.sentinel.replicas"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(3), "a Sentinel quorum");
            Assert.That(int.Parse(failover.Text("spec.redis.replicas"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(2), "a replica to fail over to");
            Assert.That(failover.Items("spec.redis.customConfig").Select(n => n.GetValue<string>()), Has.Some.Match(@"^maxmemory-policy volatile-"),
                "every ForwardAuth key has a TTL; allkeys-* could evict revocation markers (docs/operations.md)");
            Assert.That(authSecret.StringMap("stringData"), Does.ContainKey("password"), "the operator reads the key 'password'");

            // The operator names the Sentinel service rfs-<name>, port 26379, master "mymaster".
            Assert.That(values.Text("redis.mode"), Is.EqualTo("sentinel"));
            Assert.That(values.Items("redis.addresses").Single().GetValue<string>(), Is.EqualTo($"rfs-{failover.Name()}.{ns}.svc.cluster.local:26379"));
            Assert.That(values.Text("redis.sentinelMasterName"), Is.EqualTo("mymaster"));
            Assert.That(values.Text("redis.existingSecret"), Is.EqualTo(authSecret.Name()));
            Assert.That(values.Text("redis.existingSecretPasswordKey"), Is.EqualTo("password"));
        });
    }

    [Test]
    public void Kubernetes_IngressRoutesUseMiddlewaresThatExistInTheirNamespace_AndTheHandWrittenOnesMatchTheChart()
    {
        var app = ManifestSet.FromFiles(Kubernetes("app.yaml"));
        var byHand = ManifestSet.FromFiles(Kubernetes("middleware.yaml")).OfKind("Middleware").ToList();
        var chart = HelmChart.Template("forwardauth", [Kubernetes("forwardauth-values.yaml")]).OfKind("Middleware").ToList();

        foreach (var route in app.OfKind("IngressRoute"))
        {
            foreach (var reference in route.Items("spec.routes").SelectMany(r => r.Items("middlewares")))
            {
                var ns = reference.TextOrNull("namespace") ?? route.Text("metadata.namespace");
                Assert.That(chart.Any(m => m.Name() == reference.Text("name") && m.Text("metadata.namespace") == ns), Is.True,
                    $"IngressRoute {route.Name()} uses Middleware {ns}/{reference.Text("name")}, which the chart does not create");
            }

            foreach (var service in route.Items("spec.routes").SelectMany(r => r.Items("services")))
            {
                Assert.That(app.OfKind("Service").Select(s => s.Name()), Does.Contain(service.Text("name")));
            }
        }

        Assert.That(byHand.Select(m => m.Name()), Is.EquivalentTo(chart.Select(m => m.Name())));
        foreach (var middleware in byHand)
        {
            var rendered = chart.Single(m => m.Name() == middleware.Name());
            Assert.That(middleware.At("spec")!.ToJsonString(), Is.EqualTo(rendered.At("spec")!.ToJsonString()), middleware.Name());
            Assert.That(middleware.Text("metadata.namespace"), Is.EqualTo(rendered.Text("metadata.namespace")));
        }
    }

    [Test]
    public void Kubernetes_SettingsConfigMapAndSecrets_AreVariablesForwardAuthReads()
    {
        var manifests = ManifestSet.FromFiles(Kubernetes("settings-configmap.yaml"), Kubernetes("secrets.yaml"));

        ForwardAuthEnvironment.AssertAllRead(manifests.Single("ConfigMap").Keys("data"), "settings-configmap.yaml");
        ForwardAuthEnvironment.AssertAllRead(manifests.Single("Secret").Keys("stringData"), "secrets.yaml");
        Assert.That(manifests.Single("Secret").Keys("stringData"), Is.SubsetOf(ForwardAuthEnvironment.SecretNames));
    }

    // ---- Docker Compose --------------------------------------------------------------------------------------

    private static string ComposeDirectory => Path.Combine(DeploymentTools.ExamplesDirectory, "docker-compose");

    private static JsonObject Compose() => Yaml.ReadFile(Path.Combine(ComposeDirectory, "compose.yaml"));

    private static Dictionary<string, string> DotEnvExample() =>
        File.ReadAllLines(Path.Combine(ComposeDirectory, ".env.example"))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.TrimStart().StartsWith('#'))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)].Trim(), l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim());

    /// <summary>Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$.</summary>
    private static string Interpolate(string text, Dictionary<string, string> env) =>
        ComposeVariable().Replace(text, m =>
        {
            if (m.Value == "$$")
            {
                return "$";
            }

            var name = m.Groups["name"].Value;
            var set = env.TryGetValue(name, out var value) && value.Length > 0;
            return m.Groups["op"].Value switch
            {
                ":-" => set ? value! : m.Groups["arg"].Value,
                ":?" => set ? value! : throw new AssertionException($"{name} must be set: {m.Groups["arg"].Value}"),
                _ => value ?? "",
            };
        });

    [Test]
    public void Compose_RunsThreeReplicasBehindTraefikV3_WithAPasswordProtectedRedis()
    {
        var services = Compose()["services"]!;

        Assert.Multiple(() =>
        {
            Assert.That(services.Text("forwardauth.deploy.replicas"), Is.EqualTo("3"));
            Assert.That(services.Text("forwardauth.build.context"), Is.EqualTo("../.."), "built from the repository's Dockerfile");
            Assert.That(services.Text("forwardauth.read_only"), Is.EqualTo("true"));
            Assert.That(services.Text("traefik.image"), Does.Match(@"^traefik:v3(\.|$)"));
            Assert.That(services.Text("whoami.image"), Does.StartWith("traefik/whoami"));
            Assert.That(services.Text("redis.command"), Does.Contain("--requirepass ${REDIS_PASSWORD").And.Match(@"--maxmemory-policy volatile-"));
            Assert.That(services.At("forwardauth.depends_on.redis"), Is.Not.Null);
            Assert.That(services.At("forwardauth.labels"), Is.Null, "ForwardAuth itself gets no Traefik router (never reachable from outside)");
        });
    }

    [Test]
    public void Compose_EnvironmentIsReadByForwardAuth_AndAcceptedAsAWhole()
    {
        var compose = Compose();
        var service = compose["services"]!["forwardauth"]!;
        var dotenv = DotEnvExample();
        var declared = service.StringMap("environment");
        var secretsDir = TestPaths.NewTempDirectory("compose-secrets");
        File.WriteAllText(Path.Combine(secretsDir, "client_secret"), "compose-client-secret");
        File.WriteAllText(Path.Combine(secretsDir, "session_encryption_key"), "compose-session-encryption-key-0123456789");

        ForwardAuthEnvironment.AssertAllRead(declared.Keys, "compose.yaml, service forwardauth");
        var environment = declared.ToDictionary(kv => kv.Key, kv => Interpolate(kv.Value, dotenv).Replace("/run/secrets/", secretsDir + "/", StringComparison.Ordinal));
        var options = ForwardAuthEnvironment.LoadWithoutComplaint(environment, "compose.yaml with .env.example");

        Assert.Multiple(() =>
        {
            Assert.That(service.Items("secrets").Select(s => s.GetValue<string>()),
                Is.EquivalentTo(environment.Keys.Where(k => k.EndsWith("_FILE", StringComparison.Ordinal)).Select(k => Path.GetFileName(declared[k]))),
                "every *_FILE names a secret the service mounts");
            Assert.That(compose.Keys("secrets"), Is.SupersetOf(service.Items("secrets").Select(s => s.GetValue<string>())));
            Assert.That(options.ClientSecret, Is.EqualTo("compose-client-secret"));
            Assert.That(options.Redis.Enabled, Is.True);
            Assert.That(options.Redis.Address, Is.EqualTo("redis:6379"));
            Assert.That(options.Redis.Password, Is.EqualTo(dotenv["REDIS_PASSWORD"]));
            Assert.That(options.Redis.CacheMode, Is.EqualTo(CacheMode.Hybrid));
            Assert.That(Interpolate(compose.Text("services.redis.command"), dotenv), Does.Contain("--requirepass " + options.Redis.Password));
        });

        // The reference document's Docker Compose environment names, all of them.
        foreach (var name in new[] { "REDIS_ENABLED", "REDIS_ADDRESS", "REDIS_PASSWORD", "REDIS_CACHE_MODE", "REDIS_KEY_PREFIX" })
        {
            Assert.That(declared.Keys, Does.Contain(name));
        }
    }

    [Test]
    public void Compose_TraefikLabels_DefineValidForwardAuthMiddlewaresThatTheRoutersUse()
    {
        var services = Compose()["services"]!.AsObject();
        var labels = services.SelectMany(s => s.Value.StringMap("labels")).ToList();

        var middlewares = AssertForwardAuthLabels(labels, "compose.yaml");

        Assert.That(middlewares, Is.EquivalentTo(new[] { "forwardauth", "forwardauth-admins" }));
        foreach (var address in labels.Where(l => l.Key.EndsWith(".forwardauth.address", StringComparison.Ordinal)))
        {
            Assert.That(address.Value, Does.StartWith("http://forwardauth:4181/auth"), "the forwardauth service, on the image's port");
        }
    }

    [Test]
    public void Ecs_TraefikLabelsOfTheReadme_DefineAValidForwardAuthMiddleware()
    {
        var readme = File.ReadAllText(Path.Combine(DeploymentTools.ExamplesDirectory, "ecs", "README.md"));
        var block = Regex.Match(readme, "```json\n(?<body>.*?)```", RegexOptions.Singleline).Groups["body"].Value;
        var labels = JsonNode.Parse(block)!.AsObject().Select(kv => KeyValuePair.Create(kv.Key, kv.Value!.GetValue<string>())).ToList();

        Assert.That(AssertForwardAuthLabels(labels, "examples/ecs/README.md"), Is.EqualTo(new[] { "forwardauth" }));
    }

    /// <summary>
    /// Traefik's label form of forwardAuth middlewares: each rebuilt as an object and validated against Traefik's
    /// ForwardAuth model, with the identity headers; every middleware a router names is defined. Returns the names.
    /// </summary>
    private static List<string> AssertForwardAuthLabels(IReadOnlyList<KeyValuePair<string, string>> labels, string where)
    {
        var middlewares = labels
            .Select(l => (Match: MiddlewareLabel().Match(l.Key), l.Value))
            .Where(x => x.Match.Success)
            .GroupBy(x => x.Match.Groups["name"].Value)
            .ToDictionary(g => g.Key, g => g.ToDictionary(x => x.Match.Groups["field"].Value, x => x.Value));
        Assert.That(middlewares, Is.Not.Empty, where + ": no forwardauth middleware label");

        var yaml = string.Join("\n---\n", middlewares.Values.Select(fields =>
            string.Join("\n", fields.Select(f => f.Key == "authResponseHeaders"
                ? "authResponseHeaders:\n" + string.Concat(f.Value.Split(',').Select(h => $"  - {h}\n"))
                : $"{f.Key}: \"{f.Value}\""))));
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(yaml, "traefik.io/v1alpha1/ForwardAuth"), where + " forwardAuth labels");
        foreach (var fields in middlewares.Values)
        {
            Assert.That(fields["address"], Does.Match(@"^http://[^/]+:4181/auth(\?|$)"), where);
            Assert.That(fields["authResponseHeaders"].Split(','), Is.EqualTo(HelmChartTests.IdentityHeaders), where);
        }

        var used = labels.Where(l => l.Key.EndsWith(".middlewares", StringComparison.Ordinal) && l.Key.StartsWith("traefik.http.routers.", StringComparison.Ordinal))
            .SelectMany(l => l.Value.Split(',')).Select(m => m.Split('@')[0]).ToList();
        Assert.That(used, Is.Not.Empty, where + ": no router uses the middleware");
        Assert.That(used, Is.SubsetOf(middlewares.Keys), where);
        return middlewares.Keys.ToList();
    }

    // ---- Traefik file provider -------------------------------------------------------------------------------

    [Test]
    public void Traefik_DynamicConfiguration_HasValidForwardAuthMiddlewaresThatTheRoutersUse()
    {
        var dynamic = Yaml.ReadFile(Path.Combine(DeploymentTools.ExamplesDirectory, "traefik", "dynamic.yml"));
        var staticConfig = Yaml.ReadFile(Path.Combine(DeploymentTools.ExamplesDirectory, "traefik", "traefik.yml"));
        var middlewares = dynamic["http"]!["middlewares"]!.AsObject();

        ManifestValidator.AssertAllValid(
            ManifestValidator.ValidateYaml(MiddlewareBlocksAsYaml(Path.Combine(DeploymentTools.ExamplesDirectory, "traefik", "dynamic.yml")), "traefik.io/v1alpha1/MiddlewareSpec"),
            "dynamic.yml middlewares");
        var blocks = middlewares.Where(m => m.Value!["forwardAuth"] is not null).Select(m => m.Value!["forwardAuth"]!).ToList();
        ManifestValidator.AssertAllValid(
            ManifestValidator.ValidateYaml(string.Join("\n---\n", blocks.Select(b => b.ToJsonString())), "traefik.io/v1alpha1/ForwardAuth"),
            "dynamic.yml forwardAuth middlewares");
        foreach (var block in blocks)
        {
            Assert.That(block.Text("address"), Does.Match(@"^http://[^/]+:4181/auth(\?|$)"));
            Assert.That(block.Items("authResponseHeaders").Select(h => h.GetValue<string>()), Is.EqualTo(HelmChartTests.IdentityHeaders));
        }

        foreach (var (name, router) in dynamic["http"]!["routers"]!.AsObject())
        {
            Assert.That(router.Items("middlewares").Select(m => m.GetValue<string>()), Is.SubsetOf(middlewares.Select(m => m.Key)), name);
            Assert.That(dynamic.Keys("http.services"), Does.Contain(router.Text("service")), name);
            Assert.That(staticConfig.Keys("entryPoints"), Is.SupersetOf(router.Items("entryPoints").Select(e => e.GetValue<string>())), name);
        }

        Assert.That(Path.GetFileName(staticConfig.Text("providers.file.filename")), Is.EqualTo("dynamic.yml"));
    }

    // Each middleware of a file-provider configuration as its own YAML document, scalars as written (true stays a boolean).
    private static string MiddlewareBlocksAsYaml(string file)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        var root = (YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode;
        var middlewares = (YamlDotNet.RepresentationModel.YamlMappingNode)((YamlDotNet.RepresentationModel.YamlMappingNode)root["http"])["middlewares"];
        return string.Join("\n---\n", middlewares.Children.Values.Select(node =>
        {
            using var writer = new StringWriter();
            new YamlDotNet.RepresentationModel.YamlStream(new YamlDotNet.RepresentationModel.YamlDocument(node)).Save(writer, assignAnchors: false);
            return writer.ToString().TrimEnd().TrimEnd('.').TrimEnd();
        }));
    }

    [Test]
    public void Traefik_DynamicConfiguration_SecurityHeadersMiddlewareInFrontOfEveryForwardAuth()
    {
        // The plugin's securityHeaders cannot be ForwardAuth's (it never sees the app's response): the example shows
        // Traefik's headers middleware doing it, first on every router that uses ForwardAuth.
        var dynamic = Yaml.ReadFile(Path.Combine(DeploymentTools.ExamplesDirectory, "traefik", "dynamic.yml"));
        var headers = dynamic["http"]!["middlewares"]!["security-headers"]!["headers"]!;
        Assert.That(headers.Text("frameDeny"), Is.EqualTo("true"));
        Assert.That(headers.Text("contentTypeNosniff"), Is.EqualTo("true"));
        Assert.That(headers.Text("stsSeconds"), Is.EqualTo("31536000"));
        foreach (var (name, router) in dynamic["http"]!["routers"]!.AsObject())
        {
            Assert.That(router.Items("middlewares").First().GetValue<string>(), Is.EqualTo("security-headers"), name);
        }
    }

    // ---- AWS ECS ---------------------------------------------------------------------------------------------

    private static JsonNode EcsContainer()
    {
        var task = JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentTools.ExamplesDirectory, "ecs", "task-definition.json")));
        return task.Items("containerDefinitions").Single(c => c.Text("name") == "forwardauth");
    }

    [Test]
    public void Ecs_TaskDefinition_ReadsSecretsFromSecretsManager_AndConnectsToElastiCacheOverTls()
    {
        var container = EcsContainer();
        var environment = container.Items("environment").ToDictionary(e => e.Text("name"), e => e.Text("value"));
        var secrets = container.Items("secrets").ToDictionary(s => s.Text("name"), s => s.Text("valueFrom"));
        var image = Dockerfile.Read(Path.Combine(TestPaths.RepoRoot, "Dockerfile"));

        ForwardAuthEnvironment.AssertAllRead(environment.Keys, "task-definition.json environment");
        ForwardAuthEnvironment.AssertAllRead(secrets.Keys, "task-definition.json secrets");
        Assert.Multiple(() =>
        {
            // The example registers its client by hand (CLIENT_ID + CLIENT_SECRET): the initial access token of
            // dynamicClientRegistration is the one secret it has no use for.
            Assert.That(secrets.Keys, Is.EquivalentTo(ForwardAuthEnvironment.SecretNames.Except(["DYNAMIC_CLIENT_REGISTRATION_INITIAL_ACCESS_TOKEN"])), "every secret comes from Secrets Manager");
            Assert.That(secrets.Values, Has.All.StartWith("arn:aws:secretsmanager:"));
            Assert.That(environment.Keys.Intersect(ForwardAuthEnvironment.SecretNames), Is.Empty, "no secret in plain environment");
            Assert.That(environment["REDIS_TLS_ENABLED"], Is.EqualTo("true"));
            Assert.That(environment["REDIS_ADDRESS"], Does.Contain(".cache.amazonaws.com:"));
            Assert.That(container.Text("readonlyRootFilesystem"), Is.EqualTo("true"));
            Assert.That(container.Text("user"), Is.EqualTo(image.InStage(image.FinalStage, "USER").Last().Arguments));
            Assert.That(container.At("portMappings.0.containerPort")!.ToString(), Is.EqualTo(image.InStage(image.FinalStage, "EXPOSE").Single().Arguments));
        });

        // Secrets Manager values stand in for the ARNs.
        var all = environment.Concat(secrets.Keys.Select(k => KeyValuePair.Create(k, "secret-from-secrets-manager-0123456789abcdef")))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var options = ForwardAuthEnvironment.LoadWithoutComplaint(all, "task-definition.json");
        Assert.That(options.Redis.Tls.Enabled, Is.True);
        Assert.That(options.Redis.Tls.CaFile, Is.Empty, "ElastiCache's certificates chain to a public CA: the image's trust store");
        Assert.That(options.Redis.Enabled, Is.True);
    }

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:-|:\?)(?<arg>[^}]*))?\}")]
    private static partial Regex ComposeVariable();

    [GeneratedRegex(@"^traefik\.http\.middlewares\.(?<name>[^.]+)\.forwardauth\.(?<field>[^.]+)$")]
    private static partial Regex MiddlewareLabel();
}
