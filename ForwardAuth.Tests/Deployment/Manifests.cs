using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace ForwardAuth.Tests.Deployment;

/// <summary>YAML documents as JSON nodes (every scalar a string, as Kubernetes and Compose take environment values).</summary>
internal static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static List<JsonObject> ReadDocuments(string yaml)
    {
        var documents = new List<JsonObject>();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var value = Deserializer.Deserialize<object?>(parser);
            if (ToNode(value) is JsonObject obj)
            {
                documents.Add(obj);
            }
        }

        return documents;
    }

    public static JsonObject ReadFile(string path) =>
        ReadDocuments(File.ReadAllText(path)).Single();

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        IDictionary<object, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(Convert.ToString(kv.Key, System.Globalization.CultureInfo.InvariantCulture)!, ToNode(kv.Value)))),
        IList<object?> list => new JsonArray(list.Select(ToNode).ToArray()),
        _ => JsonValue.Create(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
    };
}

/// <summary>Navigation helpers over the JSON form of a manifest.</summary>
internal static class Node
{
    public static string Text(this JsonNode? node, string path) =>
        node.TextOrNull(path) ?? throw new AssertionException($"no '{path}' in {node?.ToJsonString()}");

    /// <summary>A scalar as text (JSON numbers and booleans as written: 4181, true).</summary>
    public static string? TextOrNull(this JsonNode? node, string path) => node.At(path) switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v => v.ToJsonString(),
        null => null,
        var other => throw new AssertionException($"'{path}' is not a scalar: {other.ToJsonString()}"),
    };

    public static JsonNode? At(this JsonNode? node, string path)
    {
        foreach (var segment in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node switch
            {
                JsonArray a when int.TryParse(segment, out var i) => i < a.Count ? a[i] : null,
                JsonObject o => o[segment],
                _ => null,
            };
        }

        return node;
    }

    public static IEnumerable<JsonNode> Items(this JsonNode? node, string path) =>
        node.At(path) is JsonArray a ? a.Where(n => n is not null).Select(n => n!) : [];

    public static IEnumerable<string> Keys(this JsonNode? node, string path) =>
        node.At(path) is JsonObject o ? o.Select(kv => kv.Key) : [];

    public static IReadOnlyDictionary<string, string> StringMap(this JsonNode? node, string path) =>
        node.At(path) is JsonObject o ? o.ToDictionary(kv => kv.Key, kv => kv.Value.TextOrNull("") ?? "") : new Dictionary<string, string>();

    public static string Kind(this JsonObject manifest) => manifest.Text("kind");

    public static string Name(this JsonObject manifest) => manifest.Text("metadata.name");
}

/// <summary>Rendered or example manifests, with the offline validation of <c>.ci/tools/validate-manifests.mjs</c>.</summary>
internal sealed class ManifestSet(string source, IReadOnlyList<JsonObject> documents, string yaml)
{
    public string Source { get; } = source;

    public IReadOnlyList<JsonObject> Documents { get; } = documents;

    public string Yaml { get; } = yaml;

    public static ManifestSet FromYaml(string source, string yaml) => new(source, Deployment.Yaml.ReadDocuments(yaml), yaml);

    public static ManifestSet FromFiles(params string[] files) =>
        FromYaml(string.Join(", ", files.Select(Path.GetFileName)), string.Join("\n---\n", files.Select(File.ReadAllText)));

    public IEnumerable<JsonObject> OfKind(string kind) => Documents.Where(d => d.TextOrNull("kind") == kind);

    public JsonObject Single(string kind) => OfKind(kind).Single();

    public JsonObject Single(string kind, string name) => OfKind(kind).Single(d => d.Name() == name);

    public IReadOnlyList<string> Kinds => Documents.Select(d => d.TextOrNull("kind") ?? "?").ToList();

    public IReadOnlyList<ValidationResult> Validate() => ManifestValidator.ValidateYaml(Yaml);
}

internal sealed record ValidationResult(string Source, int Index, string? ApiVersion, string? Kind, string? Name, string Status, IReadOnlyList<string> Errors)
{
    public override string ToString() => $"{Kind} {Name} ({ApiVersion}): {Status}" + (Errors.Count > 0 ? "\n    " + string.Join("\n    ", Errors) : "");
}

internal static class ManifestValidator
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static IReadOnlyList<ValidationResult> ValidateYaml(string yaml, string? fragment = null)
    {
        var file = Path.Combine(Support.TestPaths.NewTempDirectory("manifests"), "manifests.yaml");
        File.WriteAllText(file, yaml);
        return ValidateFiles([file], fragment);
    }

    public static IReadOnlyList<ValidationResult> ValidateFiles(IEnumerable<string> files, string? fragment = null)
    {
        var args = new List<string> { DeploymentTools.ManifestValidator };
        if (fragment is not null)
        {
            args.Add("--fragment=" + fragment);
        }

        args.AddRange(files);
        var result = DeploymentTools.Run(DeploymentTools.Node, args);
        Assert.That(result.ExitCode, Is.AnyOf(0, 1), result.Describe());
        return JsonSerializer.Deserialize<List<ValidationResult>>(result.StandardOutput, Json)
            ?? throw new AssertionException("validator printed nothing: " + result.Describe());
    }

    /// <summary>Every document valid; documents of the kinds in <paramref name="withoutSchema"/> may have no schema.</summary>
    public static void AssertAllValid(IReadOnlyList<ValidationResult> results, string what, params string[] withoutSchema)
    {
        Assert.That(results, Is.Not.Empty, what + ": nothing was validated");
        var bad = results.Where(r => r.Status != "valid" && !(r.Status == "unknown-kind" && withoutSchema.Contains(r.Kind))).ToList();
        Assert.That(bad, Is.Empty, what + ":\n  " + string.Join("\n  ", bad));
    }
}
