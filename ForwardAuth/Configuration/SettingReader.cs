using System.Globalization;

namespace ForwardAuth.Configuration;

/// <summary>
/// Reads typed values out of <see cref="RawSettings"/>, falling back to each key's default, and collects one error per
/// bad key (named by path and environment variable). A secret's value never appears in an error.
/// </summary>
internal sealed class SettingReader(RawSettings raw)
{
    public List<string> Errors { get; } = [.. raw.Errors];

    public bool IsSet(string path)
    {
        var value = raw[path];
        return value is not null && (value.Items is not null || !string.IsNullOrWhiteSpace(value.Scalar));
    }

    public string Text(string path)
    {
        var key = Key(path);
        var value = raw[key.Path];
        return (value?.Scalar ?? (value?.Items is { } items ? string.Join(',', items) : key.Default) ?? "").Trim();
    }

    public IReadOnlyList<string> List(string path)
    {
        var key = Key(path);
        var value = raw[key.Path];
        IEnumerable<string> items = value?.Items ?? Split(value?.Scalar ?? key.Default);
        return items.SelectMany(Split).ToList();

        static IEnumerable<string> Split(string? s) =>
            (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>The items of a YAML list or mapping as they are (a value may contain commas); text split on commas.</summary>
    public IReadOnlyList<string> Items(string path)
    {
        var key = Key(path);
        var value = raw[key.Path];
        return (IReadOnlyList<string>?)value?.Items?.Select(i => i.Trim()).Where(i => i.Length > 0).ToList()
            ?? (value?.Scalar ?? key.Default ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>A list of mappings: from YAML as it is, from the environment or command line as YAML flow or JSON text.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Entries(string path)
    {
        var key = Key(path);
        var value = raw[key.Path];
        if (value?.Entries is { } entries)
        {
            return entries;
        }

        if (value is null || value.Items is { Count: 0 } || (value.Scalar is { } blank && string.IsNullOrWhiteSpace(blank)))
        {
            return [];
        }

        if (value.Scalar is { } text && RawSettings.ParseEntries(text, key.Path, Errors) is { } parsed)
        {
            return parsed;
        }

        Fail(key, "must be a list of {name, value} entries (in the environment: that list as YAML flow or JSON, e.g. [{name: X-User-Email, value: \"{{.Claims.email}}\"}])");
        return [];
    }

    public long Integer(string path)
    {
        var key = Key(path);
        var text = Text(path);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            Fail(key, $"'{Shown(key, text)}' is not a whole number");
            return long.TryParse(key.Default, CultureInfo.InvariantCulture, out var d) ? d : 0;
        }

        if (n < key.Min || n > key.Max)
        {
            Fail(key, $"{n} is outside {key.Min}..{key.Max}");
            // Binding goes on to collect every error: an absurd value must not overflow (TimeSpan.FromSeconds) first.
            return Math.Clamp(n, key.Min, key.Max);
        }

        return n;
    }

    public int Int32(string path) => (int)Math.Clamp(Integer(path), int.MinValue, int.MaxValue);

    public TimeSpan Seconds(string path) => TimeSpan.FromSeconds(Integer(path));

    public bool Boolean(string path)
    {
        var key = Key(path);
        var text = Text(path).ToLowerInvariant();
        switch (text)
        {
            case "true" or "1" or "yes" or "on":
                return true;
            case "false" or "0" or "no" or "off" or "":
                return false;
            default:
                Fail(key, $"'{Shown(key, text)}' is not true or false");
                return false;
        }
    }

    public TEnum Choice<TEnum>(string path, params (string Name, TEnum Value)[] choices)
    {
        var key = Key(path);
        var text = Text(path);
        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        Fail(key, $"'{Shown(key, text)}' is not one of {string.Join(", ", choices.Select(c => c.Name))}");
        return choices[0].Value;
    }

    public void Fail(string path, string problem) => Fail(Key(path), problem);

    private void Fail(SettingKey key, string problem) => Errors.Add($"{key.Path} ({key.EnvironmentName}): {problem}");

    private static string Shown(SettingKey key, string value) => key.Secret ? "<hidden>" : value;

    private static SettingKey Key(string path) =>
        SettingsCatalogue.Find(path) ?? throw new ArgumentException($"unknown setting {path}", nameof(path));
}
