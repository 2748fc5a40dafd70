using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ForwardAuth.Auth;
using ForwardAuth.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// helm/forwardauth, rendered offline: lint, every manifest against the Kubernetes, Traefik and Prometheus Operator
/// schemas, every environment variable against the settings catalogue, and the configuration each rendering hands
/// the container loaded by ForwardAuth's own loader.
/// </summary>
public partial class HelmChartTests
{
    internal static readonly string[] IdentityHeaders =
        ["X-Forwarded-User", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username"];

    private static string HaValues => Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes", "forwardauth-values.yaml");

    private static string Values(string name) => Path.Combine(DeploymentTools.TestValuesDirectory, name);

    /// <summary>The renderings under test: name → values files.</summary>
    private static readonly Dictionary<string, string[]> Variants = new()
    {
        ["default"] = [],
        ["ha-example"] = [HaValues],
        ["standalone"] = [Values("standalone.yaml")],
        ["cluster-tls"] = [Values("cluster-tls.yaml")],
    };

    public static IEnumerable<string> VariantNames => Variants.Keys;

    private static ManifestSet Render(string variant) => HelmChart.Template("forwardauth", Variants[variant]);

    /// <summary>What the cluster holds besides the release: the example's Secrets and ConfigMaps, the test objects.</summary>
    private static List<JsonObject> ClusterObjects(ManifestSet rendered)
    {
        var examples = Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes");
        return
        [
            .. rendered.Documents,
            .. ManifestSet.FromFiles(
                Path.Combine(examples, "secrets.yaml"),
                Path.Combine(examples, "redis-failover.yaml"),
                Path.Combine(examples, "settings-configmap.yaml"),
                Values("objects.yaml")).Documents,
        ];
    }

    [TestCaseSource(nameof(VariantNames))]
    public void Lint_Passes(string variant)
    {
        var result = HelmChart.Lint(Variants[variant]);

        Assert.That(result.ExitCode, Is.Zero, result.Describe());
        Assert.That(result.StandardOutput, Does.Contain("0 chart(s) failed"));
    }

    [TestCaseSource(nameof(VariantNames))]
    public void Template_EveryManifestIsValidAgainstItsSchema(string variant)
    {
        var rendered = Render(variant);

        ManifestValidator.AssertAllValid(rendered.Validate(), rendered.Source);
        Assert.That(rendered.Kinds, Is.SupersetOf(new[] { "Deployment", "Service", "ConfigMap", "ServiceAccount", "PodDisruptionBudget" }));
    }

    [Test]
    public void Template_Default_RendersTheCoreOnly_WithASingleReplicaBecauseThereIsNoRedis()
    {
        var rendered = Render("default");

        Assert.That(rendered.Kinds, Is.EquivalentTo(new[] { "PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment" }));
        Assert.That(rendered.Single("Deployment").Text("spec.replicas"), Is.EqualTo("1"));
        // With Redis the default replica count applies.
        var withRedis = HelmChart.Template("forwardauth", [], ["redis.enabled=true", "redis.addresses[0]=redis:6379"]);
        Assert.That(withRedis.Single("Deployment").Text("spec.replicas"), Is.EqualTo("2"));
    }

    [Test]
    public void Template_Default_Deployment_IsLockedDownAndProbed()
    {
        var deployment = Render("default").Single("Deployment");
        var pod = deployment.At("spec.template.spec");
        var container = pod.Items("containers").Single();

        Assert.Multiple(() =>
        {
            Assert.That(pod.Text("securityContext.runAsNonRoot"), Is.EqualTo("true"));
            Assert.That(int.Parse(pod.Text("securityContext.runAsUser"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
            Assert.That(pod.Text("automountServiceAccountToken"), Is.EqualTo("false"));
            Assert.That(container.Text("securityContext.readOnlyRootFilesystem"), Is.EqualTo("true"));
            Assert.That(container.Text("securityContext.allowPrivilegeEscalation"), Is.EqualTo("false"));
            Assert.That(container.Items("securityContext.capabilities.drop").Select(n => n.GetValue<string>()), Is.EqualTo(new[] { "ALL" }));
            Assert.That(container.Text("livenessProbe.httpGet.path"), Is.EqualTo("/healthz"));
            Assert.That(container.Text("readinessProbe.httpGet.path"), Is.EqualTo("/readyz"));
            Assert.That(container.Text("startupProbe.httpGet.path"), Is.EqualTo("/healthz"));
            Assert.That(container.Text("ports.0.containerPort"), Is.EqualTo("4181"));
            Assert.That(container.Text("resources.requests.cpu"), Is.Not.Empty);
            Assert.That(container.Text("resources.requests.memory"), Is.Not.Empty);
            Assert.That(container.Text("resources.limits.memory"), Is.Not.Empty);
            Assert.That(pod.Text("affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.topologyKey"),
                Is.EqualTo("kubernetes.io/hostname"));
            Assert.That(pod.Items("volumes").Select(v => v.Text("name")), Does.Contain("tmp"), "a writable /tmp for .NET diagnostics");
        });
    }

    [Test]
    public void Template_HighAvailability_HasTheHpaPdbServiceMonitorAndMiddlewaresOfTheReferenceDocument()
    {
        var rendered = Render("ha-example");
        var deployment = rendered.Single("Deployment");
        var hpa = rendered.Single("HorizontalPodAutoscaler");
        var monitor = rendered.Single("ServiceMonitor");
        var service = rendered.Single("Service");

        Assert.Multiple(() =>
        {
            Assert.That(deployment.At("spec.replicas"), Is.Null, "the HPA owns the replica count");
            Assert.That(hpa.Text("apiVersion"), Is.EqualTo("autoscaling/v2"));
            Assert.That(hpa.Text("spec.scaleTargetRef.name"), Is.EqualTo(deployment.Name()));
            Assert.That(hpa.Text("spec.minReplicas"), Is.EqualTo("3"));
            Assert.That(hpa.Text("spec.maxReplicas"), Is.EqualTo("10"));
            Assert.That(hpa.Items("spec.metrics").Select(m => $"{m.Text("resource.name")}={m.Text("resource.target.averageUtilization")}"),
                Is.EquivalentTo(new[] { "cpu=70", "memory=80" }));
            Assert.That(rendered.Single("PodDisruptionBudget").Text("spec.minAvailable"), Is.EqualTo("2"));
            Assert.That(monitor.Text("apiVersion"), Is.EqualTo("monitoring.coreos.com/v1"));
            Assert.That(monitor.Text("spec.endpoints.0.path"), Is.EqualTo("/metrics"));
            Assert.That(monitor.Text("spec.endpoints.0.port"), Is.EqualTo(service.Text("spec.ports.0.name")));
            Assert.That(monitor.StringMap("spec.selector.matchLabels"), Is.SubsetOf(service.StringMap("metadata.labels")));
            Assert.That(monitor.StringMap("metadata.labels")["release"], Is.EqualTo("kube-prometheus-stack"));
        });

        var middlewares = rendered.OfKind("Middleware").ToDictionary(m => m.Name());
        Assert.That(middlewares.Keys, Is.EquivalentTo(new[] { "forwardauth", "forwardauth-admins" }));
        Assert.That(middlewares.Values.Select(m => m.Text("metadata.namespace")), Is.All.EqualTo("apps"));
        Assert.That(middlewares["forwardauth"].Text("spec.forwardAuth.address"), Is.EqualTo("http://forwardauth.auth.svc.cluster.local:4181/auth"));
        foreach (var middleware in middlewares.Values)
        {
            Assert.That(middleware.Items("spec.forwardAuth.authResponseHeaders").Select(h => h.GetValue<string>()), Is.EqualTo(IdentityHeaders));
        }

        var admins = new Uri(middlewares["forwardauth-admins"].Text("spec.forwardAuth.address"));
        Assert.That(admins.GetLeftPart(UriPartial.Path), Is.EqualTo("http://forwardauth.auth.svc.cluster.local:4181/auth"));
        Assert.That(PolicyRules.FromQuery(new QueryCollection(QueryHelpers.ParseQuery(admins.Query))).Groups, Is.EqualTo(new[] { "admins" }));
    }

    [Test]
    public void Template_MiddlewareAddress_IsTheServiceOfTheRelease_AndPoliciesReachForwardAuthAsRules()
    {
        var rendered = Render("standalone");
        var service = rendered.Single("Service");
        var middlewares = rendered.OfKind("Middleware").ToDictionary(m => m.Name());
        var expected = $"http://{service.Name()}.{HelmChart.Namespace}.svc.cluster.local:{service.Text("spec.ports.0.port")}/auth";

        Assert.That(middlewares["forwardauth"].Text("spec.forwardAuth.address"), Is.EqualTo(expected));
        Assert.That(middlewares["forwardauth"].Text("spec.forwardAuth.trustForwardHeader"), Is.EqualTo("false"), "extra forwardAuth fields are kept");
        var admins = Rules(middlewares["forwardauth-admins"]);
        var example = Rules(middlewares["forwardauth-example"]);
        Assert.That(admins.Groups, Is.EqualTo(new[] { "admins", "root" }));
        Assert.That(example.Domains, Is.EqualTo(new[] { "example.com" }));

        static PolicyRules Rules(JsonObject middleware)
        {
            var address = new Uri(middleware.Text("spec.forwardAuth.address"));
            return PolicyRules.FromQuery(new QueryCollection(QueryHelpers.ParseQuery(address.Query)));
        }
    }

    [Test]
    public void Template_PolicyKeys_AreTheRulesForwardAuthReadsFromTheQuery()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentTools.ChartDirectory, "values.schema.json")));
        var keys = schema.Keys("properties.middleware.properties.policies.additionalProperties.properties").ToList();

        Assert.That(keys, Is.Not.Empty);
        foreach (var key in keys)
        {
            var rules = PolicyRules.FromQuery(new QueryCollection(QueryHelpers.ParseQuery($"?{key}=x")));
            Assert.That(rules.IsEmpty, Is.False, $"ForwardAuth ignores the policy key '{key}' the chart accepts");
        }
    }

    [TestCaseSource(nameof(VariantNames))]
    public void EveryEnvironmentVariable_IsOneForwardAuthReads(string variant)
    {
        var rendered = Render(variant);
        var deployment = rendered.Single("Deployment");
        var pod = PodEnvironment.Of(deployment, ClusterObjects(rendered));

        ForwardAuthEnvironment.AssertAllRead(rendered.Single("ConfigMap", deployment.Name()).Keys("data"), variant + ": the chart's ConfigMap");
        ForwardAuthEnvironment.AssertAllRead(pod.Declared.Select(d => d.Name), variant + ": the container's environment");
    }

    [TestCaseSource(nameof(VariantNames))]
    public void Template_ReferencesOnlyObjectsThatExist(string variant)
    {
        var rendered = Render(variant);
        var deployment = rendered.Single("Deployment");

        // PodEnvironment fails on a missing ConfigMap, Secret or key, as the kubelet would.
        var pod = PodEnvironment.Of(deployment, ClusterObjects(rendered));

        Assert.That(pod.Variables, Does.ContainKey("ASPNETCORE_URLS"));
        var port = deployment.At("spec.template.spec").Items("containers").Single().Text("ports.0.containerPort");
        Assert.That(pod.Variables["ASPNETCORE_URLS"], Does.EndWith(":" + port), "ForwardAuth listens on the container port");
        Assert.That(rendered.Single("Service").StringMap("spec.selector"), Is.SubsetOf(deployment.StringMap("spec.template.metadata.labels")));
        Assert.That(deployment.Text("spec.template.spec.serviceAccountName"),
            Is.EqualTo(rendered.OfKind("ServiceAccount").Select(a => a.Name()).SingleOrDefault() ?? "default"));
    }

    [Test]
    public void RenderedConfiguration_Default_StopsTheServiceNamingWhatIsMissing()
    {
        var rendered = Render("default");
        var pod = PodEnvironment.Of(rendered.Single("Deployment"), ClusterObjects(rendered));

        var error = Assert.Throws<ConfigurationException>(() => ForwardAuthEnvironment.Load(pod.Variables, out _))!;

        Assert.That(error.Problems.Select(p => p.Split(' ')[0].TrimEnd(':')),
            Is.EquivalentTo(new[] { "providerURL", "clientID", "clientSecret", "sessionEncryptionKey" }), error.Message);
    }

    [Test]
    public void RenderedConfiguration_HighAvailability_IsAcceptedByForwardAuth()
    {
        var rendered = Render("ha-example");
        var pod = PodEnvironment.Of(rendered.Single("Deployment"), ClusterObjects(rendered));
        var examples = ManifestSet.FromFiles(
            Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes", "secrets.yaml"),
            Path.Combine(DeploymentTools.ExamplesDirectory, "kubernetes", "redis-failover.yaml"));

        var options = ForwardAuthEnvironment.LoadWithoutComplaint(pod.Variables, "ha-example");

        Assert.Multiple(() =>
        {
            Assert.That(pod.Variables.Keys, Does.Contain("CLIENT_SECRET_FILE").And.Contain("SESSION_ENCRYPTION_KEY_FILE").And.Contain("REDIS_PASSWORD_FILE"));
            Assert.That(pod.Variables.Keys, Does.Not.Contain("CLIENT_SECRET").And.Not.Contain("REDIS_PASSWORD"));
            Assert.That(options.ClientSecret, Is.EqualTo(examples.Single("Secret", "forwardauth-oidc").StringMap("stringData")["CLIENT_SECRET"]));
            Assert.That(options.Redis.Password, Is.EqualTo(examples.Single("Secret", "forwardauth-redis-auth").StringMap("stringData")["password"]));
            Assert.That(options.Redis.Enabled, Is.True);
            Assert.That(options.Redis.CacheMode, Is.EqualTo(CacheMode.Hybrid));
            Assert.That(options.Redis.SentinelMasterName, Is.EqualTo("mymaster"));
            Assert.That(options.Redis.Address, Is.EqualTo("rfs-forwardauth-redis.auth.svc.cluster.local:26379"));
            Assert.That(options.AllowedUserDomains, Is.EqualTo(new[] { "example.com" }), "extraEnvFrom: settings-configmap.yaml");
            Assert.That(options.ForceHttps, Is.True);
        });
    }

    [Test]
    public void RenderedConfiguration_Standalone_IsAcceptedByForwardAuth()
    {
        var rendered = Render("standalone");
        var pod = PodEnvironment.Of(rendered.Single("Deployment"), ClusterObjects(rendered));

        var options = ForwardAuthEnvironment.LoadWithoutComplaint(pod.Variables, "standalone");

        Assert.Multiple(() =>
        {
            Assert.That(options.ClientSecret, Is.EqualTo("test-client-secret"));
            Assert.That(options.SessionEncryptionKeys, Is.EqualTo(new[] { "test-session-encryption-key-0123456789abcdef" }));
            Assert.That(options.Redis.Password, Is.EqualTo("test-redis-password"));
            Assert.That(options.Redis.Address, Is.EqualTo("redis-master.redis.svc.cluster.local:6379"));
            Assert.That(options.Redis.Db, Is.EqualTo(2));
            Assert.That(options.Redis.KeyPrefix, Is.EqualTo("fa-test"), "config wins over the redis values");
            Assert.That(options.AllowedUserDomains, Is.EqualTo(new[] { "example.com", "example.org" }), "a YAML list becomes a comma-separated value");
            Assert.That(options.SessionMaxAge, Is.EqualTo(TimeSpan.FromSeconds(1_000_000)), "whole numbers keep every digit");
            Assert.That(options.ForceHttps, Is.True);
            Assert.That(options.ProviderUrl, Is.EqualTo(new Uri("https://id.example.com")), "the environment wins over the file");
            Assert.That(options.AllowedRolesAndGroups, Is.EqualTo(new[] { "staff" }), "read from the pasted Middleware (configFile)");
            Assert.That(options.ExcludedUrls, Is.EqualTo(new[] { "/public" }));
            Assert.That(File.ReadAllText(options.CaCertPath), Does.Contain("provider CA"));
        });
        Assert.That(rendered.Single("Deployment").At("spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"), Is.Not.Null);
    }

    [Test]
    public void RenderedConfiguration_ClusterOverTls_IsAcceptedByForwardAuth()
    {
        var rendered = Render("cluster-tls");
        var pod = PodEnvironment.Of(rendered.Single("Deployment"), ClusterObjects(rendered));

        var options = ForwardAuthEnvironment.LoadWithoutComplaint(pod.Variables, "cluster-tls");

        Assert.Multiple(() =>
        {
            Assert.That(options.Redis.ClusterMode, Is.True);
            Assert.That(options.Redis.Db, Is.Zero);
            Assert.That(options.Redis.Address.Split(','), Has.Length.EqualTo(3));
            Assert.That(options.Redis.Username, Is.EqualTo("forwardauth"));
            Assert.That(options.Redis.Password, Is.EqualTo("existing-redis-password"));
            Assert.That(options.ClientSecret, Is.EqualTo("existing-client-secret"));
            Assert.That(options.Redis.Tls.Enabled, Is.True);
            Assert.That(File.ReadAllText(options.Redis.Tls.CaFile), Does.Contain("redis CA"));
            Assert.That(File.ReadAllText(options.Redis.Tls.CertFile), Does.Contain("client"));
            Assert.That(File.ReadAllText(options.Redis.Tls.KeyFile), Does.Contain("client key"));
        });
        var hpa = rendered.Single("HorizontalPodAutoscaler");
        Assert.That(hpa.Items("spec.metrics").Select(m => m.Text("resource.name")), Is.EqualTo(new[] { "memory" }));
        Assert.That(rendered.Single("ServiceMonitor").Text("metadata.namespace"), Is.EqualTo("monitoring"));
        Assert.That(rendered.Single("ServiceMonitor").Items("spec.namespaceSelector.matchNames").Single().GetValue<string>(), Is.EqualTo(HelmChart.Namespace));
    }

    [Test]
    public void ChartSettingNames_AreExactlyTheCatalogue()
    {
        var text = File.ReadAllText(Path.Combine(DeploymentTools.ChartDirectory, "templates", "_settings.tpl"));

        var settings = Define(text, "forwardauth.settingNames");
        var secrets = Define(text, "forwardauth.secretSettingNames");

        var missing = ForwardAuthEnvironment.SettingNames.Except(settings).Except(secrets).ToList();
        Assert.That(missing, Is.Empty, "settings of the catalogue the chart refuses in `config`: add them to helm/forwardauth/templates/_settings.tpl");
        Assert.That(settings.Except(ForwardAuthEnvironment.SettingNames), Is.Empty, "names in _settings.tpl that ForwardAuth does not read");
        Assert.That(secrets, Is.EquivalentTo(ForwardAuthEnvironment.SecretNames), "the secrets of the catalogue");
        Assert.That(settings.Intersect(secrets), Is.Empty);

        static List<string> Define(string text, string name)
        {
            var m = Regex.Match(text, @"\{\{-? define """ + Regex.Escape(name) + @""" -?\}\}(?<body>.*?)\{\{-? end -?\}\}", RegexOptions.Singleline);
            Assert.That(m.Success, Is.True, name + " not found in _settings.tpl");
            return m.Groups["body"].Value.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries).ToList();
        }
    }

    [TestCase("config.REDIS_ADRESS=redis:6379", "config.REDIS_ADRESS: ForwardAuth reads no such setting")]
    [TestCase("config.CLIENT_SECRET=x", "config.CLIENT_SECRET: secrets go in")]
    [TestCase("config.REDIS_PASSWORD_FILE=/x", "config.REDIS_PASSWORD_FILE: secrets go in")]
    [TestCase("autoscaling.enabled=true", "several replicas need a shared store")]
    [TestCase("redis.enabled=true", "redis.addresses: give the Redis node")]
    [TestCase("redis.mode=sentinels", "value must be one of 'standalone', 'sentinel', 'cluster'")]
    [TestCase("replicas=3", "additional properties 'replicas' not allowed")]
    [TestCase("middleware.policies.admins.allowedRoles=admins", "additional properties 'allowedRoles' not allowed")]
    public void Template_RefusesValuesForwardAuthWouldNotRead(string set, string message)
    {
        var result = HelmChart.TryTemplate("forwardauth", [], [set]);

        Assert.That(result.ExitCode, Is.Not.Zero, result.Describe());
        Assert.That(result.StandardError, Does.Contain(message));
    }

    [Test]
    public void Notes_ShowTheForwardAuthAddressAndWhatIsMissing()
    {
        var notes = HelmChart.Notes("forwardauth", []);
        var complete = HelmChart.Notes("forwardauth", [HaValues]);

        Assert.That(notes, Does.Contain("http://forwardauth.auth.svc.cluster.local:4181/auth"));
        Assert.That(notes, Does.Contain("config.PROVIDER_URL").And.Contain("secrets.sessionEncryptionKey"));
        Assert.That(notes, Does.Contain("ONE replica"));
        foreach (var header in IdentityHeaders)
        {
            Assert.That(notes, Does.Contain(header));
        }

        Assert.That(complete, Does.Contain("Middlewares created in namespace apps: forwardauth, forwardauth-admins."));
        Assert.That(complete, Does.Not.Contain("WARNING"));
        Assert.That(complete, Does.Contain("/oauth2/callback"));
    }

    [Test]
    public void ValuesYaml_DocumentsEveryKey_AndTheSchemaKnowsEveryKey()
    {
        var lines = File.ReadAllLines(Path.Combine(DeploymentTools.ChartDirectory, "values.yaml"));
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentTools.ChartDirectory, "values.schema.json")));
        var undocumented = new List<string>();
        var unknownToSchema = new List<string>();
        var stack = new List<(int Indent, string Key, bool Documented)>();

        for (var i = 0; i < lines.Length; i++)
        {
            var m = KeyLine().Match(lines[i]);
            if (!m.Success)
            {
                continue;
            }

            var indent = m.Groups["indent"].Length;
            var key = m.Groups["key"].Value;
            stack.RemoveAll(s => s.Indent >= indent);
            var commented = i > 0 && lines[i - 1].TrimStart().StartsWith('#');
            var path = string.Join('.', stack.Select(s => s.Key).Append(key));
            var documented = commented || stack.Any(s => s.Documented);
            var next = lines.Skip(i + 1).FirstOrDefault(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#'));
            var isParent = m.Groups["value"].Value.Length == 0 && next is not null && Indent(next) > indent && KeyLine().IsMatch(next);
            if (!documented && !isParent)
            {
                undocumented.Add(path);
            }

            // `config` is a map of environment names (checked against the catalogue elsewhere); the schema says so.
            if (!path.StartsWith("config.", StringComparison.Ordinal) && SchemaProperty(schema, stack.Select(s => s.Key).Append(key)) is null)
            {
                unknownToSchema.Add(path);
            }

            stack.Add((indent, key, documented));
        }

        Assert.That(undocumented, Is.Empty, "values.yaml keys without a comment above them (or above their parent)");
        Assert.That(unknownToSchema, Is.Empty, "values.yaml keys values.schema.json does not describe");

        static int Indent(string line) => line.Length - line.TrimStart().Length;
    }

    private static JsonNode? SchemaProperty(JsonNode? schema, IEnumerable<string> path)
    {
        var node = schema;
        foreach (var key in path)
        {
            if (node?["properties"]?[key] is { } property)
            {
                node = property;
            }
            else if (node?["type"]?.ToString() == "object" && node["additionalProperties"] is not JsonValue)
            {
                // A free-form object (resources, affinity, …) or a map with a value schema.
                return node;
            }
            else
            {
                return null;
            }
        }

        return node;
    }

    [GeneratedRegex(@"^(?<indent>\s*)(?<key>[A-Za-z_][\w.-]*):(?:\s+(?<value>.+))?$")]
    private static partial Regex KeyLine();
}
