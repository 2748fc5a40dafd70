using System.Text;
using System.Text.Json.Nodes;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// What the kubelet would hand the ForwardAuth container of a Deployment: its environment (envFrom ConfigMaps and
/// Secrets, env values and secretKeyRef/configMapKeyRef) and its mounted files (Secret, ConfigMap and projected
/// volumes), materialised in a temporary directory. Paths in the environment that point into a mount are rewritten
/// to the materialised copy, so the service's own loader can read the files.
/// </summary>
internal sealed class PodEnvironment
{
    private readonly IReadOnlyList<JsonObject> _objects;
    private readonly string _namespace;

    private PodEnvironment(IReadOnlyList<JsonObject> objects, string ns)
    {
        _objects = objects;
        _namespace = ns;
    }

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    /// <summary>Names as the container spec gives them (before any rewriting), with where each comes from.</summary>
    public List<(string Name, string Source)> Declared { get; } = [];

    public Dictionary<string, string> Mounts { get; } = new(StringComparer.Ordinal);

    public static PodEnvironment Of(JsonObject deployment, IEnumerable<JsonObject> clusterObjects)
    {
        var ns = deployment.TextOrNull("metadata.namespace") ?? "default";
        var pod = new PodEnvironment(clusterObjects.ToList(), ns);
        var spec = deployment.At("spec.template.spec");
        var container = spec.Items("containers").Single(c => c.Text("name") == "forwardauth");
        var root = TestPaths.NewTempDirectory("pod");

        foreach (var source in container.Items("envFrom"))
        {
            if (source.At("configMapRef") is { } cmRef)
            {
                foreach (var (k, v) in pod.ConfigMapData(cmRef.Text("name"), cmRef.TextOrNull("optional") == "true"))
                {
                    pod.Set(k, v, "ConfigMap " + cmRef.Text("name"));
                }
            }
            else if (source.At("secretRef") is { } sRef)
            {
                foreach (var (k, v) in pod.SecretData(sRef.Text("name"), sRef.TextOrNull("optional") == "true"))
                {
                    pod.Set(k, v, "Secret " + sRef.Text("name"));
                }
            }
        }

        foreach (var env in container.Items("env"))
        {
            var name = env.Text("name");
            if (env.TextOrNull("value") is { } value)
            {
                pod.Set(name, value, "env");
            }
            else if (env.At("valueFrom.secretKeyRef") is { } s)
            {
                var data = pod.SecretData(s.Text("name"), s.TextOrNull("optional") == "true");
                pod.SetFromKey(name, data, s, "Secret");
            }
            else if (env.At("valueFrom.configMapKeyRef") is { } c)
            {
                var data = pod.ConfigMapData(c.Text("name"), c.TextOrNull("optional") == "true");
                pod.SetFromKey(name, data, c, "ConfigMap");
            }
            else
            {
                pod.Declared.Add((name, "env (fieldRef/resourceFieldRef)"));
            }
        }

        var volumes = spec.Items("volumes").ToDictionary(v => v.Text("name"));
        var index = 0;
        foreach (var mount in container.Items("volumeMounts"))
        {
            var volume = volumes[mount.Text("name")];
            var dir = Path.Combine(root, "volume-" + index++);
            Directory.CreateDirectory(dir);
            pod.Materialise(volume, dir);
            var local = mount.TextOrNull("subPath") is { } sub ? Path.Combine(dir, sub) : dir;
            pod.Mounts[mount.Text("mountPath")] = local;
        }

        foreach (var name in pod.Variables.Keys.ToList())
        {
            var value = pod.Variables[name];
            var mountPath = pod.Mounts.Keys.Where(m => value == m || value.StartsWith(m.TrimEnd('/') + "/", StringComparison.Ordinal))
                .OrderByDescending(m => m.Length).FirstOrDefault();
            if (mountPath is not null)
            {
                pod.Variables[name] = pod.Mounts[mountPath] + value[mountPath.Length..];
            }
        }

        return pod;
    }

    private void Set(string name, string value, string source)
    {
        Variables[name] = value;
        Declared.Add((name, source));
    }

    private void SetFromKey(string name, IReadOnlyDictionary<string, string> data, JsonNode reference, string kind)
    {
        var key = reference.Text("key");
        if (data.TryGetValue(key, out var value))
        {
            Set(name, value, $"{kind} {reference.Text("name")} key {key}");
        }
        else if (reference.TextOrNull("optional") != "true")
        {
            Assert.Fail($"env {name}: {kind} {reference.Text("name")} has no key '{key}' (the pod would not start)");
        }
    }

    private JsonObject Find(string kind, string name, bool optional)
    {
        var found = _objects.Where(o => o.TextOrNull("kind") == kind && o.TextOrNull("metadata.name") == name
            && (o.TextOrNull("metadata.namespace") ?? _namespace) == _namespace).ToList();
        if (found.Count == 0 && !optional)
        {
            Assert.Fail($"{kind} {_namespace}/{name} does not exist (the pod would not start)");
        }

        return found.SingleOrDefault() ?? new JsonObject();
    }

    private IReadOnlyDictionary<string, string> ConfigMapData(string name, bool optional) =>
        Find("ConfigMap", name, optional).StringMap("data");

    private Dictionary<string, string> SecretData(string name, bool optional)
    {
        var secret = Find("Secret", name, optional);
        var data = secret.StringMap("data").ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(Convert.FromBase64String(kv.Value)));
        foreach (var (k, v) in secret.StringMap("stringData"))
        {
            data[k] = v;
        }

        return data;
    }

    private void Materialise(JsonNode volume, string dir)
    {
        if (volume.At("emptyDir") is not null)
        {
            return;
        }

        if (volume.At("configMap") is { } cm)
        {
            WriteItems(ConfigMapData(cm.Text("name"), cm.TextOrNull("optional") == "true"), cm, dir, "ConfigMap " + cm.Text("name"));
        }
        else if (volume.At("secret") is { } s)
        {
            WriteItems(SecretData(s.Text("secretName"), s.TextOrNull("optional") == "true"), s, dir, "Secret " + s.Text("secretName"));
        }
        else if (volume.At("projected") is { } p)
        {
            foreach (var source in p.Items("sources"))
            {
                if (source.At("secret") is { } ps)
                {
                    WriteItems(SecretData(ps.Text("name"), ps.TextOrNull("optional") == "true"), ps, dir, "Secret " + ps.Text("name"));
                }
                else if (source.At("configMap") is { } pc)
                {
                    WriteItems(ConfigMapData(pc.Text("name"), pc.TextOrNull("optional") == "true"), pc, dir, "ConfigMap " + pc.Text("name"));
                }
            }
        }
        else
        {
            Assert.Fail("volume kind not understood by the test: " + volume.ToJsonString());
        }
    }

    private static void WriteItems(IReadOnlyDictionary<string, string> data, JsonNode source, string dir, string what)
    {
        var items = source.Items("items").ToList();
        var files = items.Count == 0
            ? data.Select(kv => (Path: kv.Key, Value: kv.Value))
            : items.Select(i => (Path: i.Text("path"), Value: data.TryGetValue(i.Text("key"), out var v)
                ? v
                : throw new AssertionException($"{what} has no key '{i.Text("key")}' (the volume would not mount)")));
        foreach (var (path, value) in files)
        {
            var file = Path.Combine(dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, value);
        }
    }
}
