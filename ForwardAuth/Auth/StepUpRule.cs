using System.Globalization;

namespace ForwardAuth.Auth;

/// <summary>
/// A route's demand for stronger or fresher authentication, from the forwardAuth address's own query:
/// <c>/auth?acr=gold,platinum</c> (the session's <c>acr</c> must be one of them) and/or <c>/auth?maxAge=300</c> (the
/// user authenticated at most that many seconds ago). Never read from the forwarded URI: a client cannot change it.
/// </summary>
internal sealed record StepUpRule(IReadOnlyList<string> Acr, long? MaxAgeSeconds)
{
    public static readonly StepUpRule None = new([], null);

    public bool IsEmpty => Acr.Count == 0 && MaxAgeSeconds is null;

    /// <summary>"acr=gold,platinum maxAge=300", for the Debug decision line.</summary>
    public string Summary() => string.Join(' ', new[]
    {
        Acr.Count > 0 ? "acr=" + string.Join(',', Acr) : null,
        MaxAgeSeconds is { } m ? "maxAge=" + m.ToString(CultureInfo.InvariantCulture) : null,
    }.Where(p => p is not null));

    /// <summary>
    /// The rule of <c>acr</c> and <c>maxAge</c> in <paramref name="query"/>, or null with <paramref name="error"/> when
    /// either is given but unusable (an empty <c>acr</c>, a <c>maxAge</c> that is not a whole number of seconds ≥ 1).
    /// </summary>
    public static StepUpRule? Parse(IQueryCollection query, out string? error)
    {
        error = null;
        if (query.Count == 0 || (!query.ContainsKey("acr") && !query.ContainsKey("maxAge")))
        {
            return None;
        }

        var acr = new List<string>();
        if (query.TryGetValue("acr", out var acrValues))
        {
            acr = acrValues.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Distinct(StringComparer.Ordinal).ToList();
            if (acr.Count == 0)
            {
                error = "the forwardAuth address's acr is empty: give the accepted values (acr=gold or acr=gold,platinum)";
                return null;
            }

            if (acr.Any(a => a.Any(c => c is '"' or '\\' || char.IsControl(c) || char.IsWhiteSpace(c))))
            {
                error = "the forwardAuth address's acr has a value with a space, quote or control character";
                return null;
            }
        }

        long? maxAge = null;
        if (query.TryGetValue("maxAge", out var maxAgeValues))
        {
            var text = maxAgeValues.Count == 1 ? maxAgeValues[0] ?? "" : "";
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1 || seconds > 31_536_000)
            {
                error = "the forwardAuth address's maxAge must be given once, as a whole number of seconds from 1 to 31536000 (maxAge=300)";
                return null;
            }

            maxAge = seconds;
        }

        return new StepUpRule(acr, maxAge);
    }
}

/// <summary>
/// What a session or token lacks for a route's <see cref="StepUpRule"/>: an acceptable <c>acr</c>, a recent enough
/// <c>auth_time</c>, or both. <see cref="Description"/> is fit for a 401's <c>error_description</c> and a log line.
/// </summary>
internal sealed record StepUpNeed(StepUpRule Rule, bool Acr, bool MaxAge)
{
    public IReadOnlyList<string> AcrValues => Acr ? Rule.Acr : [];

    public long? MaxAgeSeconds => MaxAge ? Rule.MaxAgeSeconds : null;

    public string Description => (Acr, MaxAge) switch
    {
        (true, true) => $"authentication with acr {string.Join(" or ", Rule.Acr)} within the last {Rule.MaxAgeSeconds} s is required",
        (true, false) => $"authentication with acr {string.Join(" or ", Rule.Acr)} is required",
        _ => $"authentication within the last {Rule.MaxAgeSeconds} s is required",
    };

    /// <summary>
    /// Null when <paramref name="acr"/> and <paramref name="authTime"/> satisfy <paramref name="rule"/>, else what is
    /// missing. An unknown <paramref name="authTime"/> is never fresh.
    /// </summary>
    public static StepUpNeed? Of(StepUpRule rule, string? acr, DateTimeOffset? authTime, DateTimeOffset now)
    {
        if (rule.IsEmpty)
        {
            return null;
        }

        var acrMissing = rule.Acr.Count > 0 && (acr is null || !rule.Acr.Contains(acr, StringComparer.Ordinal));
        var stale = rule.MaxAgeSeconds is { } maxAge
            && (authTime is null || now.ToUnixTimeSeconds() - authTime.Value.ToUnixTimeSeconds() > maxAge);
        return acrMissing || stale ? new StepUpNeed(rule, acrMissing, stale) : null;
    }
}
