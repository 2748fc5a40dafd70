using System.Text.Json;
using System.Text.Json.Serialization;
using ForwardAuth.Oidc;

namespace ForwardAuth.Sessions;

/// <summary>The tokens a session's token record holds.</summary>
[Flags]
internal enum SessionTokenKinds
{
    None = 0,
    Id = 1,
    Access = 2,
    Refresh = 4,
}

/// <summary>
/// The hot record: what every decision reads — the identity, the lifetimes (the session's and its tokens'), the ids
/// revocation and the indexes need, which tokens the token record holds — and never a token. Short property names and
/// times as whole numbers keep it small: <see cref="IssuedAt"/> in 100 ns units since the Unix epoch, every other time
/// in 100 ns units after it (exact, and mostly a few digits); <see cref="Version"/> comes first,
/// so a record is told from one in the earlier shape (<see cref="SessionRecord"/>'s names) by its first bytes.
/// </summary>
internal sealed record HotRecord
{
    public const int CurrentVersion = 2;

    [JsonPropertyName("v")] public int Version { get; init; } = CurrentVersion;
    [JsonPropertyName("s")] public required string Subject { get; init; }
    [JsonPropertyName("u")] public string? Identifier { get; init; }
    [JsonPropertyName("e")] public string? Email { get; init; }
    [JsonPropertyName("p")] public string? PreferredUsername { get; init; }
    [JsonPropertyName("g")] public IReadOnlyList<string>? Groups { get; init; }
    [JsonPropertyName("c")] public IReadOnlyDictionary<string, string>? ClaimValues { get; init; }
    [JsonPropertyName("tc")] public IReadOnlyDictionary<string, JsonElement>? TemplateClaims { get; init; }
    [JsonPropertyName("sid")] public string? Sid { get; init; }
    [JsonPropertyName("i")] public long IssuedAt { get; init; }
    [JsonPropertyName("x")] public long ExpiresAt { get; init; }
    [JsonPropertyName("ae")] public long? AccessTokenExpiresAt { get; init; }
    [JsonPropertyName("ie")] public long? IdTokenExpiresAt { get; init; }
    [JsonPropertyName("ti")] public long? TokensIssuedAt { get; init; }
    [JsonPropertyName("ls")] public long? LastSeenAt { get; init; }
    [JsonPropertyName("b")] public string? Browser { get; init; }
    [JsonPropertyName("la")] public string? LoginAddress { get; init; }
    [JsonPropertyName("ad")] public bool? Adopted { get; init; }
    [JsonPropertyName("l")] public string? LoginId { get; init; }
    [JsonPropertyName("a")] public string? Acr { get; init; }
    [JsonPropertyName("t")] public long? AuthTime { get; init; }
    [JsonPropertyName("r")] public StepUpRefusal? StepUpRefusal { get; init; }
    [JsonPropertyName("k")] public int? Tokens { get; init; }

    private static readonly IReadOnlyDictionary<string, string> NoClaimValues = new Dictionary<string, string>();

    /// <summary>The hot part of <paramref name="record"/>, saying that the token record holds <paramref name="held"/>.</summary>
    public static HotRecord Of(SessionRecord record, SessionTokenKinds held)
    {
        var identity = record.Identity;
        var issuedAt = Ticks(record.IssuedAt);
        return new HotRecord
        {
            Subject = identity.Subject,
            Identifier = identity.Identifier == identity.Subject ? null : identity.Identifier,
            Email = identity.Email,
            PreferredUsername = identity.PreferredUsername,
            Groups = identity.Groups,
            ClaimValues = identity.ClaimValues.Count == 0 ? null : identity.ClaimValues,
            TemplateClaims = identity.TemplateClaims,
            Sid = record.Sid,
            IssuedAt = issuedAt,
            ExpiresAt = Ticks(record.ExpiresAt) - issuedAt,
            AccessTokenExpiresAt = Ticks(record.AccessTokenExpiresAt) - issuedAt,
            IdTokenExpiresAt = Ticks(record.IdTokenExpiresAt) - issuedAt,
            TokensIssuedAt = Ticks(record.TokensIssuedAt) - issuedAt,
            LastSeenAt = Ticks(record.LastSeenAt) - issuedAt,
            Browser = record.Browser,
            LoginAddress = record.LoginAddress,
            Adopted = record.Adopted ? true : null,
            LoginId = record.LoginId,
            Acr = record.Acr,
            AuthTime = Ticks(record.AuthTime) - issuedAt,
            StepUpRefusal = record.StepUpRefusal,
            Tokens = held == SessionTokenKinds.None ? null : (int)held,
        };
    }

    /// <summary>The session as a decision reads it: no token strings (<see cref="SessionRecord.TokensUnread"/>).</summary>
    public SessionRecord ToRecord() => new()
    {
        Identity = new UserIdentity(Subject, Identifier ?? Subject, Email, PreferredUsername, Groups, ClaimValues ?? NoClaimValues)
        {
            TemplateClaims = TemplateClaims,
        },
        Sid = Sid,
        IssuedAt = Time(IssuedAt),
        ExpiresAt = Time(IssuedAt + ExpiresAt),
        AccessTokenExpiresAt = Time(IssuedAt + AccessTokenExpiresAt),
        IdTokenExpiresAt = Time(IssuedAt + IdTokenExpiresAt),
        TokensIssuedAt = Time(IssuedAt + TokensIssuedAt),
        LastSeenAt = Time(IssuedAt + LastSeenAt),
        Browser = Browser,
        LoginAddress = LoginAddress,
        Adopted = Adopted ?? false,
        LoginId = LoginId,
        Acr = Acr,
        AuthTime = Time(IssuedAt + AuthTime),
        StepUpRefusal = StepUpRefusal,
        HeldTokens = (SessionTokenKinds)(Tokens ?? 0),
        TokensUnread = true,
    };

    private static long Ticks(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    private static long? Ticks(DateTimeOffset? time) => time is { } t ? Ticks(t) : null;

    private static DateTimeOffset Time(long ticks) => new(DateTimeOffset.UnixEpoch.UtcTicks + ticks, TimeSpan.Zero);

    private static DateTimeOffset? Time(long? ticks) => ticks is { } t ? Time(t) : null;
}

/// <summary>The token record: the tokens of a session that the configuration uses (<see cref="SessionTokenPolicy"/>).</summary>
internal sealed record TokenRecord(
    [property: JsonPropertyName("id")] string? IdToken,
    [property: JsonPropertyName("at")] string? AccessToken,
    [property: JsonPropertyName("rt")] string? RefreshToken)
{
    [JsonIgnore]
    public SessionTokenKinds Kinds =>
        (IdToken is null ? SessionTokenKinds.None : SessionTokenKinds.Id)
        | (AccessToken is null ? SessionTokenKinds.None : SessionTokenKinds.Access)
        | (RefreshToken is null ? SessionTokenKinds.None : SessionTokenKinds.Refresh);
}
