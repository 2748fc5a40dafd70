using System.Text.Json;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>Who the user is, as the policy and the identity headers need it.</summary>
/// <param name="Groups">Roles and groups; null when unknown (a session decided from a minimal cookie).</param>
internal sealed record UserIdentity(
    string Subject,
    string Identifier,
    string? Email,
    string? PreferredUsername,
    IReadOnlyList<string>? Groups,
    IReadOnlyDictionary<string, string> ClaimValues)
{
    private const int MaxGroups = 1000;
    private const int MaxValueLength = 1024;
    private const int MaxTemplateClaimLength = 16_384;
    private const int MaxPathDepth = 16;

    /// <summary>
    /// The claims the <c>headers</c> templates read (top-level names collected when they were compiled), as the token
    /// gave them; null when no template reads a claim. Nothing else of the token is kept.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement>? TemplateClaims { get; init; }

    /// <summary>Builds the identity from a token payload, following the configured claim names (dotted paths allowed).</summary>
    public static UserIdentity? FromClaims(JsonElement payload, ForwardAuthOptions options)
    {
        var subject = StringClaim(payload, "sub");
        if (string.IsNullOrEmpty(subject))
        {
            return null;
        }

        // email_verified, when the provider sends it, is honoured: an unverified address is no identity at all.
        var email = StringClaim(payload, "email");
        if (Find(payload, "email_verified") is { } verified && !IsTrue(verified))
        {
            email = null;
        }

        var identifier = options.UserIdentifierClaim == "email" ? email : StringClaim(payload, options.UserIdentifierClaim);
        var groups = GroupValues(Find(payload, options.GroupClaimName), options.ClaimSeparator)
            .Concat(GroupValues(Find(payload, options.RoleClaimName), options.ClaimSeparator))
            .Distinct(StringComparer.Ordinal)
            .Take(MaxGroups)
            .ToList();

        var claimValues = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in options.ClaimHeaders)
        {
            if (Find(payload, header.ClaimPath) is { } value)
            {
                // A list becomes a comma-separated header: an element with a comma of its own would read as two.
                claimValues[header.ClaimPath] = value.ValueKind == JsonValueKind.Array
                    ? string.Join(',', Strings(value).Where(v => !v.Contains(',', StringComparison.Ordinal)))
                    : string.Join(',', Strings(value));
            }
        }

        return new UserIdentity(
            subject,
            string.IsNullOrEmpty(identifier) ? subject : identifier,
            email,
            StringClaim(payload, "preferred_username"),
            groups,
            claimValues)
        {
            TemplateClaims = TemplateClaimsOf(payload, options.HeaderTemplates.ClaimNames),
        };
    }

    /// <summary>
    /// The template claims after a refresh: the new ID token's values win (the templates read the current token, as the
    /// plugin's do); a claim it leaves out keeps its value, like every other part of the identity.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonElement>? RefreshedTemplateClaims(
        IReadOnlyDictionary<string, JsonElement>? known, IReadOnlyDictionary<string, JsonElement>? refreshed)
    {
        if (known is null || refreshed is null)
        {
            return refreshed ?? known;
        }

        var merged = new Dictionary<string, JsonElement>(known, StringComparer.Ordinal);
        foreach (var (name, value) in refreshed)
        {
            merged[name] = value;
        }

        return merged;
    }

    // Exact top-level names, as Go's map lookup of the plugin; a claim too large for a header is not kept.
    private static Dictionary<string, JsonElement>? TemplateClaimsOf(JsonElement payload, IReadOnlySet<string> names)
    {
        if (names.Count == 0 || payload.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var claims = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (payload.TryGetProperty(name, out var value) && value.GetRawText().Length <= MaxTemplateClaimLength)
            {
                claims[name] = value.Clone();
            }
        }

        return claims;
    }

    /// <summary>
    /// A claim by name or path: the whole name first (<c>https://example.com/roles</c>, <c>cognito:groups</c> and any
    /// name with dots are claims of their own), else <c>a.b.c</c> through nested objects, where a segment may itself
    /// contain dots (<c>https://example.com/claims.roles</c>: the longest name present wins).
    /// </summary>
    internal static JsonElement? Find(JsonElement payload, string path) => Find(payload, path, depth: 0);

    private static JsonElement? Find(JsonElement current, string path, int depth)
    {
        if (current.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (current.TryGetProperty(path, out var direct))
        {
            return direct;
        }

        // Longest prefix first; each step needs an object under that name, so the search stays small.
        for (var dot = path.LastIndexOf('.'); dot > 0 && depth < MaxPathDepth; dot = path.LastIndexOf('.', dot - 1))
        {
            if (current.TryGetProperty(path[..dot], out var child) && child.ValueKind == JsonValueKind.Object
                && Find(child, path[(dot + 1)..], depth + 1) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static string? StringClaim(JsonElement payload, string path) =>
        Find(payload, path) is { ValueKind: JsonValueKind.String } e ? Limit(e.GetString()) : null;

    private static bool IsTrue(JsonElement e) =>
        e.ValueKind == JsonValueKind.True || (e.ValueKind == JsonValueKind.String && string.Equals(e.GetString(), "true", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A group or role claim: with a separator configured, a string-valued claim is split on it (Glewlwyd sends
    /// <c>"admin,staff"</c>); arrays are never split; an object is a role map whose keys are the roles (Zitadel's
    /// <c>urn:zitadel:iam:org:project:roles</c>: <c>{"admin": {...}}</c>), see <see cref="IsRoleMap"/>.
    /// </summary>
    private static IEnumerable<string> GroupValues(JsonElement? element, string separator) => element switch
    {
        { ValueKind: JsonValueKind.String } s when separator.Length > 0 && Limit(s.GetString()) is { } text =>
            text.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(MaxGroups),
        { ValueKind: JsonValueKind.Object } map when IsRoleMap(map) =>
            map.EnumerateObject().Select(p => Limit(p.Name)).OfType<string>().Where(n => n.Length > 0).Take(MaxGroups),
        _ => Strings(element),
    };

    /// <summary>
    /// A role map holds an object (Zitadel: the organisations granting the role) or <c>true</c> under each role. Any
    /// other object is not one: <c>realm_access</c> (<c>{"roles": [...]}</c>), named by mistake, must not grant "roles".
    /// </summary>
    private static bool IsRoleMap(JsonElement map) =>
        map.EnumerateObject().All(p => p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.True);

    /// <summary>A claim as a list of strings: a string, an array of strings/numbers, or nothing.</summary>
    private static IEnumerable<string> Strings(JsonElement? element)
    {
        switch (element)
        {
            case { ValueKind: JsonValueKind.String } s when Limit(s.GetString()) is { Length: > 0 } one:
                yield return one;
                break;
            case { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } n:
                yield return n.GetRawText();
                break;
            case { ValueKind: JsonValueKind.Array } array:
                foreach (var item in array.EnumerateArray().Take(MaxGroups))
                {
                    if (item.ValueKind == JsonValueKind.String && Limit(item.GetString()) is { Length: > 0 } text)
                    {
                        yield return text;
                    }
                    else if (item.ValueKind == JsonValueKind.Number)
                    {
                        yield return item.GetRawText();
                    }
                }

                break;
        }
    }

    private static string? Limit(string? s) => s is null || s.Length <= MaxValueLength ? s : null;
}
