using System.Globalization;
using System.Text.Json;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The values a header template works with: null (a missing claim), string, bool, long (an index, a number literal),
/// a JSON number, list or object of a claim, or the claims map itself. How they print, test and compare.
/// </summary>
internal static class TemplateValues
{
    internal const int MaxElements = 1000;

    /// <summary>A claim as a template value: JSON strings and booleans become plain values, null becomes missing.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => element,
    };

    /// <summary>Follows field names into objects (and the claims map); anything else on the way is missing.</summary>
    public static object? Walk(object? value, IReadOnlyList<string> path)
    {
        foreach (var name in path)
        {
            value = Field(value, name);
            if (value is null)
            {
                return null;
            }
        }

        return value;
    }

    /// <summary>
    /// One field: a claim of the claims map or a property of a JSON object; anything else has no fields. Also
    /// <c>get</c>, which — as in the plugin — answers nothing (empty) for a key that is absent.
    /// </summary>
    public static object? Field(object? value, string name) => value switch
    {
        IReadOnlyDictionary<string, JsonElement> claims => claims.TryGetValue(name, out var claim) ? FromJson(claim) : null,
        JsonElement { ValueKind: JsonValueKind.Object } o => o.TryGetProperty(name, out var property) ? FromJson(property) : null,
        _ => null,
    };

    /// <summary>Go's truth: false, 0, an empty string, list or object, and a missing value are false.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        null => false,
        string s => s.Length > 0,
        bool b => b,
        long n => n != 0,
        JsonElement { ValueKind: JsonValueKind.Number } n => !(n.TryGetDouble(out var d) && d == 0),
        JsonElement { ValueKind: JsonValueKind.Array } a => a.GetArrayLength() > 0,
        JsonElement { ValueKind: JsonValueKind.Object } o => o.EnumerateObject().Any(),
        IReadOnlyDictionary<string, JsonElement> claims => claims.Count > 0,
        _ => false,
    };

    /// <summary>
    /// The text of a value: a missing claim prints nothing (the plugin prints <c>&lt;no value&gt;</c>), a number as the
    /// provider wrote it, a list comma-separated (an element with a comma of its own is left out, as in every list
    /// header), an object as compact JSON.
    /// </summary>
    public static string Print(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        JsonElement { ValueKind: JsonValueKind.Array } a => IdentityHeaders.JoinList(a.EnumerateArray().Take(MaxElements)
            .Select(e => Print(FromJson(e))).Where(e => e.Length > 0)),
        JsonElement e => e.GetRawText(),
        _ => "",
    };

    /// <summary>The plugin's <c>default</c>: the fallback when the value is missing or the empty string, else the value.</summary>
    public static object? Default(object? fallback, object? value) => value is null or "" ? fallback : value;

    /// <summary>
    /// What <c>range</c> visits: a list's elements (index, element), an object's properties in name order (name, value), a
    /// single value once (a provider that sends one group as a string), nothing for a missing claim.
    /// </summary>
    public static IEnumerable<(object? Key, object? Element)> Elements(object? value)
    {
        switch (value)
        {
            case null:
                yield break;
            case JsonElement { ValueKind: JsonValueKind.Array } array:
                var i = 0L;
                foreach (var item in array.EnumerateArray().Take(MaxElements))
                {
                    yield return (i++, FromJson(item));
                }

                break;
            case JsonElement { ValueKind: JsonValueKind.Object } o:
                foreach (var property in o.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Take(MaxElements))
                {
                    yield return (property.Name, FromJson(property.Value));
                }

                break;
            default:
                yield return (0L, value);
                break;
        }
    }
}
