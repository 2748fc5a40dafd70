namespace ForwardAuth.Cache;

/// <summary>
/// "GetAndDeleteAsync" → "get_and_delete": the label of a store operation in metrics and logs. Computed once per
/// operation: while the breaker is open every call is a fallback and asks for its label.
/// </summary>
internal static class OperationNames
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);

    public static string Of(string member) => Names.GetOrAdd(member, static m =>
        string.Concat(m.Replace("Async", "", StringComparison.Ordinal).Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())));
}
