using ForwardAuth.Oidc;

namespace ForwardAuth.Auth;

/// <summary>One set of rules: the configured ones, or a route's own from the forwardAuth address's query.</summary>
internal sealed record PolicyRules(IReadOnlyList<string> Users, IReadOnlyList<string> Domains, IReadOnlyList<string> Groups)
{
    public static readonly PolicyRules None = new([], [], []);

    /// <summary>The route's step-up rule (<c>acr</c>, <c>maxAge</c>); none for the configured rules.</summary>
    public StepUpRule StepUp { get; init; } = StepUpRule.None;

    public bool IsEmpty => Users.Count == 0 && Domains.Count == 0 && Groups.Count == 0 && StepUp.IsEmpty;

    /// <summary>
    /// The rules in a few words for the Debug decision line ("users:2 domains=example.com groups=admins", or "none"):
    /// user names are counted, not listed.
    /// </summary>
    public string Summary()
    {
        if (IsEmpty)
        {
            return "none";
        }

        var parts = new List<string>(3);
        if (Users.Count > 0)
        {
            parts.Add("users:" + Users.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (Domains.Count > 0)
        {
            parts.Add("domains=" + string.Join(',', Domains));
        }

        if (Groups.Count > 0)
        {
            parts.Add("groups=" + string.Join(',', Groups));
        }

        if (!StepUp.IsEmpty)
        {
            parts.Add(StepUp.Summary());
        }

        return string.Join(' ', parts);
    }

    /// <summary>
    /// Rules and step-up rule from the forwardAuth address's query, or null with <paramref name="error"/> when its
    /// <c>acr</c>/<c>maxAge</c> is unusable (answered 400).
    /// </summary>
    public static PolicyRules? TryFromQuery(IQueryCollection query, out string? error)
    {
        var stepUp = StepUpRule.Parse(query, out error);
        if (stepUp is null)
        {
            return null;
        }

        var rules = FromQuery(query);
        return stepUp.IsEmpty ? rules : rules with { StepUp = stepUp };
    }

    /// <summary>Rules from <c>/auth?allowedUsers=…&amp;allowedUserDomains=…&amp;allowedRolesAndGroups=…</c>.</summary>
    public static PolicyRules FromQuery(IQueryCollection query)
    {
        // The common case, a forwardAuth address without a query: no rules, nothing to allocate per request.
        if (query.Count == 0)
        {
            return None;
        }

        return new PolicyRules(List("allowedUsers"), List("allowedUserDomains").Select(d => d.TrimStart('@')).ToList(), List("allowedRolesAndGroups"));

        List<string> List(string name) => query[name]
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
    }
}

/// <summary>
/// Who may pass: a pure function of the identity and the rules. Within one rule set a user passes when listed in
/// <c>allowedUsers</c> or their verified email's domain is in <c>allowedUserDomains</c> (either list empty = no such
/// restriction, both empty = anyone), and, when <c>allowedRolesAndGroups</c> is set, holds one of them. A route's rules
/// narrow the configured ones: both must pass.
/// </summary>
internal static class AccessPolicy
{
    public static bool Allows(UserIdentity identity, PolicyRules configured, PolicyRules route) =>
        RefusedBy(identity, configured, route) is null;

    public static bool Allows(UserIdentity identity, PolicyRules rules) => RefusedBy(identity, rules) is null;

    /// <summary>Which rule refuses the identity ("route groups", "configured users/domains"), or null when it passes.</summary>
    public static string? RefusedBy(UserIdentity identity, PolicyRules configured, PolicyRules route) =>
        RefusedBy(identity, configured) is { } c ? "configured " + c
        : RefusedBy(identity, route) is { } r ? "route " + r
        : null;

    private static string? RefusedBy(UserIdentity identity, PolicyRules rules)
    {
        var userRules = rules.Users.Count > 0 || rules.Domains.Count > 0;
        if (userRules && !IsListedUser(identity, rules.Users) && !HasAllowedDomain(identity.Email, rules.Domains))
        {
            return "users/domains";
        }

        if (rules.Groups.Count == 0)
        {
            return null;
        }

        // Unknown groups (a session decided from a minimal cookie) never satisfy a group rule.
        if (identity.Groups is null)
        {
            return "groups (groups unknown: session decided from a minimal cookie)";
        }

        return identity.Groups.Any(g => rules.Groups.Contains(g, StringComparer.Ordinal)) ? null : "groups";
    }

    private static bool IsListedUser(UserIdentity identity, IReadOnlyList<string> users) =>
        users.Any(u => string.Equals(u, identity.Identifier, StringComparison.OrdinalIgnoreCase)
            || (identity.Email is not null && string.Equals(u, identity.Email, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Exact domain match of a well-formed address: <c>a@evil.com@allowed.com</c> has no domain at all.</summary>
    internal static bool HasAllowedDomain(string? email, IReadOnlyList<string> domains)
    {
        if (email is null || domains.Count == 0)
        {
            return false;
        }

        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1)
        {
            return false;
        }

        var domain = email[(at + 1)..];
        if (domain.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }

        return domains.Any(d => string.Equals(d, domain, StringComparison.OrdinalIgnoreCase));
    }
}
