using YamlDotNet.RepresentationModel;

namespace ForwardAuth.Configuration;

/// <summary>A value as a source gave it: one scalar, a YAML sequence, or a sequence of mappings (<c>headers</c>).</summary>
internal sealed record RawValue(string? Scalar, IReadOnlyList<string>? Items, string Source, IReadOnlyList<IReadOnlyDictionary<string, string>>? Entries = null);

/// <summary>
/// Raw key → value pairs gathered from the sources in order (defaults → YAML → environment → command line; later
/// wins), plus what the sources got wrong. Nothing here interprets a value.
/// </summary>
internal sealed class RawSettings
{
    private readonly Dictionary<string, RawValue> _values = new(StringComparer.OrdinalIgnoreCase);

    public List<string> Errors { get; } = [];

    /// <summary>Keys a source named that ForwardAuth does not know (e.g. plugin keys we do not implement).</summary>
    public List<string> UnknownKeys { get; } = [];

    /// <summary>traefikoidc plugin keys a source named that ForwardAuth does not implement, with what to use instead.</summary>
    public List<PluginKeyNotice> PluginKeys { get; } = [];

    public RawValue? this[string path] => _values.GetValueOrDefault(path);

    public void Set(string path, RawValue value)
    {
        var key = SettingsCatalogue.Find(path);
        if (key is null)
        {
            AddUnknown(path, value.Source);
            return;
        }

        _values[key.Path] = value;
    }

    private void AddUnknown(string path, string source)
    {
        if (PluginKeyNotices.For(path) is { } instead)
        {
            PluginKeys.Add(new PluginKeyNotice(path, source, instead));
        }
        else
        {
            UnknownKeys.Add($"{path} ({source})");
        }
    }

    public void AddYamlFile(string file)
    {
        if (!File.Exists(file))
        {
            Errors.Add($"config file '{file}' does not exist");
            return;
        }

        try
        {
            using var reader = new StreamReader(file);
            var stream = new YamlStream();
            stream.Load(reader);
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                return;
            }

            AddYamlMapping(Unwrap(root), prefix: "", source: file);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            // The position is enough to find the mistake; the message never contains a value of ours.
            Errors.Add($"config file '{file}' is not valid YAML at line {e.Start.Line}, column {e.Start.Column}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            // YamlDotNet throws these too on some malformed documents (and the file may be unreadable): still one
            // configuration error and exit code 2, not a crash with a stack trace.
            Errors.Add($"config file '{file}' could not be read as YAML ({e.GetType().Name})");
        }
    }

    // An operator may paste a whole Traefik Middleware, or its `plugin:` block, instead of the bare keys.
    private static YamlMappingNode Unwrap(YamlMappingNode root)
    {
        string[][] wrappers = [["spec", "plugin", "traefikoidc"], ["plugin", "traefikoidc"], ["traefikoidc"]];
        foreach (var path in wrappers)
        {
            YamlNode? node = root;
            foreach (var segment in path)
            {
                node = node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(segment), out var child) ? child : null;
            }

            if (node is YamlMappingNode found)
            {
                return found;
            }
        }

        return root;
    }

    private void AddYamlMapping(YamlMappingNode mapping, string prefix, string source)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name })
            {
                // `? [a, b] : c` is valid YAML but names no setting: say where, rather than stop with a cast exception.
                Errors.Add($"config file '{source}': the key at line {keyNode.Start.Line}, column {keyNode.Start.Column} is not a plain name");
                continue;
            }

            var path = prefix + name;
            switch (valueNode)
            {
                case YamlScalarNode scalar:
                    Set(path, new RawValue(scalar.Value ?? "", null, source));
                    break;
                case YamlSequenceNode sequence when SettingsCatalogue.Find(path)?.Kind == SettingKind.Entries:
                    Set(path, new RawValue(null, null, source, ToEntries(sequence, path, source, Errors)));
                    break;
                case YamlSequenceNode sequence when sequence.Children.All(c => c is YamlScalarNode):
                    Set(path, new RawValue(null, sequence.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList(), source));
                    break;
                case YamlMappingNode map when SettingsCatalogue.Find(path)?.Kind == SettingKind.Map:
                    Set(path, new RawValue(null, map.Children.Select(c => $"{(c.Key as YamlScalarNode)?.Value}={(c.Value as YamlScalarNode)?.Value}").ToList(), source));
                    break;
                case YamlMappingNode child when SettingsCatalogue.All.Any(k => k.Path.StartsWith(path + ".", StringComparison.OrdinalIgnoreCase)):
                    AddYamlMapping(child, path + ".", source);
                    break;
                default:
                    AddUnknown(path, source);
                    break;
            }
        }
    }

    /// <summary>
    /// A sequence of flat mappings (<c>- name: X-User-Email</c> / <c>value: …</c>); keys case-insensitive. An item that is
    /// not such a mapping is an error naming its position (and, in a file, its line), in the form of every setting's error.
    /// </summary>
    internal static List<IReadOnlyDictionary<string, string>> ToEntries(YamlSequenceNode sequence, string path, string? file, List<string> errors)
    {
        var entries = new List<IReadOnlyDictionary<string, string>>();
        var label = SettingsCatalogue.Find(path) is { } key ? $"{key.Path} ({key.EnvironmentName})" : path;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            if (item is YamlMappingNode mapping && mapping.Children.All(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode))
            {
                var entry = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var (k, v) in mapping.Children)
                {
                    entry[((YamlScalarNode)k).Value ?? ""] = ((YamlScalarNode)v).Value ?? "";
                }

                entries.Add(entry);
            }
            else
            {
                var where = file is null ? "" : $" ('{file}' line {item.Start.Line})";
                errors.Add($"{label}: entry #{i + 1}{where} is not a mapping of plain values (name: …, value: …)");
            }
        }

        return entries;
    }

    /// <summary>The environment's (or command line's) form of a list of mappings: the same list as YAML flow or JSON.</summary>
    internal static List<IReadOnlyDictionary<string, string>>? ParseEntries(string text, string path, List<string> errors)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlSequenceNode sequence
                ? ToEntries(sequence, path, file: null, errors)
                : null;
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    public void AddEnvironment(Func<string, string?> getVariable)
    {
        foreach (var key in SettingsCatalogue.All)
        {
            // Present but empty (compose's ${VAR:-}, an unset Helm value) means "not set", not "set to nothing".
            var value = getVariable(key.EnvironmentName) is { Length: > 0 } set ? set : null;
            var fileName = key.Secret ? getVariable(key.EnvironmentName + "_FILE") : null;
            if (!string.IsNullOrEmpty(fileName))
            {
                if (value is not null)
                {
                    // Keep the plain value so that this is the only complaint about the key.
                    Errors.Add($"{key.Path} ({key.EnvironmentName}): set either {key.EnvironmentName} or {key.EnvironmentName}_FILE, not both");
                    Set(key.Path, new RawValue(value, null, "environment " + key.EnvironmentName));
                    continue;
                }

                value = ReadSecretFile(key, fileName);
                if (value is null)
                {
                    continue;
                }
            }

            if (value is not null)
            {
                Set(key.Path, new RawValue(value, null, "environment " + key.EnvironmentName));
            }
        }
    }

    private string? ReadSecretFile(SettingKey key, string fileName)
    {
        try
        {
            // Files written by `echo` or Kubernetes secrets often end with a newline that is not part of the secret.
            return File.ReadAllText(fileName).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Errors.Add($"{key.Path}: cannot read {key.EnvironmentName}_FILE '{fileName}' ({e.GetType().Name})");
            return null;
        }
    }

    /// <summary>
    /// <c>--providerURL=https://…</c>, <c>--redis.address host:6379</c> or <c>--redis:address=…</c>. Arguments that name
    /// no setting (<c>--urls</c>, <c>--config</c>) are left to the host.
    /// </summary>
    public void AddCommandLine(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            var name = args[i][2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            var key = SettingsCatalogue.Find(name);
            if (key is null)
            {
                continue;
            }

            if (value is null)
            {
                var hasNext = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                value = hasNext ? args[++i] : key.Kind == SettingKind.Boolean ? "true" : "";
            }

            Set(key.Path, new RawValue(value, null, "command line --" + name));
        }
    }

    public static string? ConfigFileFrom(IReadOnlyList<string> args, Func<string, string?> getVariable)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }

            if (args[i] == "--config" && i + 1 < args.Count)
            {
                return args[i + 1];
            }
        }

        var fromEnv = getVariable("FORWARDAUTH_CONFIG");
        return string.IsNullOrEmpty(fromEnv) ? null : fromEnv;
    }
}
