using System.Globalization;

namespace Harness;

internal sealed class HarnessException(string message) : Exception(message);

/// <summary><c>--name value</c> pairs.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Args Parse(IEnumerable<string> args)
    {
        var parsed = new Args();
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new HarnessException("unexpected argument " + list[i]);
            }

            parsed._values[list[i][2..]] = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal) ? list[++i] : "true";
        }

        return parsed;
    }

    public string Get(string name) => _values.TryGetValue(name, out var v) ? v : throw new HarnessException("--" + name + " is required");

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int? fallback = null) =>
        _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture)
        : fallback ?? throw new HarnessException("--" + name + " is required");

    public double Double(string name, double fallback) =>
        _values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
