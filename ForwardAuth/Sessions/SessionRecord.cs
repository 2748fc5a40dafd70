using System.Text.Json.Serialization;
using ForwardAuth.Oidc;

namespace ForwardAuth.Sessions;

/// <summary>
/// The server-side session: the authority while the store has it. Stored as two records (<see cref="SessionRecords"/>):
/// the hot record (everything but the tokens: what a decision reads) and the token record (the tokens the configuration
/// uses), both encrypted under a hash of the handle. Read for a decision, a record carries no token strings
/// (<see cref="TokensUnread"/>): they are read only where used. This type's own JSON shape is the one sessions were
/// stored in before the split: read (and rewritten split) only, never written. An adopted record (rebuilt from a sealed
/// cookie) carries no tokens.
/// </summary>
internal sealed record SessionRecord
{
    /// <summary>
    /// Who the user is: the one identity record, as the ID token (and refreshes) gave it. Never null once read: a record
    /// written before the identity was one object is read through <see cref="FlatIdentityRecord"/>.
    /// </summary>
    public UserIdentity Identity { get; init; } = null!;

    public string? Sid { get; init; }
    public required DateTimeOffset IssuedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public string? IdToken { get; init; }
    public string? AccessToken { get; init; }
    public string? RefreshToken { get; init; }
    public DateTimeOffset? AccessTokenExpiresAt { get; init; }
    public DateTimeOffset? IdTokenExpiresAt { get; init; }

    /// <summary>When the tokens were last obtained (login or refresh).</summary>
    public DateTimeOffset? TokensIssuedAt { get; init; }

    /// <summary>Last recorded activity (idle timeout); written at most once per <c>sessionActivityInterval</c>.</summary>
    public DateTimeOffset? LastSeenAt { get; init; }

    /// <summary>
    /// The browser the session was created in, as My sessions shows it ("Firefox on Linux", "curl"): a short description
    /// built from the login's <c>User-Agent</c>, never the header itself. Null for sessions created before it was recorded.
    /// </summary>
    public string? Browser { get; init; }

    /// <summary>The client's address at login (from trusted forwarded headers); null for sessions created before it was recorded.</summary>
    public string? LoginAddress { get; init; }

    public bool Adopted { get; init; }

    /// <summary>
    /// The login this session belongs to (single sign-on across domains: the auth host's session and every session a
    /// ticket made from it share it, and a logout on any of them ends all). Null without <c>ssoDomains</c>.
    /// </summary>
    public string? LoginId { get; init; }

    /// <summary>The ID token's <c>acr</c> at the last login or step-up; null when the provider sent none.</summary>
    public string? Acr { get; init; }

    /// <summary>
    /// The ID token's <c>auth_time</c> at the last login or step-up (the login's time when the provider sent none).
    /// Records written before step-up existed have none: <see cref="EffectiveAuthTime"/> is then the creation time.
    /// </summary>
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary>A step-up login whose ID token did not satisfy what it asked for (bounds the redirect loop).</summary>
    public StepUpRefusal? StepUpRefusal { get; init; }

    /// <summary>Which tokens the session's token record holds (as the hot record says; set when it was read).</summary>
    [JsonIgnore]
    public SessionTokenKinds HeldTokens { get; init; }

    /// <summary>
    /// True when the token strings were not read (a record read for a decision): they are null here whatever the token
    /// record holds, and writing this record leaves the token record as it is. False on a record built from a login or
    /// refresh, or read with its tokens: then its token properties are what the session has.
    /// </summary>
    [JsonIgnore]
    public bool TokensUnread { get; init; }

    [JsonIgnore]
    public bool HasRefreshToken => TokensUnread ? HeldTokens.HasFlag(SessionTokenKinds.Refresh) : RefreshToken is not null;

    [JsonIgnore]
    public bool HasAccessToken => TokensUnread ? HeldTokens.HasFlag(SessionTokenKinds.Access) : AccessToken is not null;

    [JsonIgnore]
    public DateTimeOffset EffectiveAuthTime => AuthTime ?? IssuedAt;
}

/// <summary>
/// The provider answered a step-up login (asking for <paramref name="Acr"/> and/or <paramref name="MaxAge"/>) with an ID
/// token that did not satisfy it, at <paramref name="At"/>: for a while, the routes that need what it failed to give
/// answer 403 with <paramref name="Reason"/> instead of sending the browser to the provider again.
/// </summary>
internal sealed record StepUpRefusal(string Reason, IReadOnlyList<string>? Acr, long? MaxAge, DateTimeOffset At)
{
    /// <summary>How long a refusal answers 403 before the route asks the provider again.</summary>
    public static readonly TimeSpan Holds = TimeSpan.FromMinutes(5);
}

/// <summary>
/// A record as sessions before the identity became one object stored it: the identity's fields at the top level. Read
/// only (to decide sessions that were created before an upgrade), never written.
/// </summary>
internal sealed record FlatIdentityRecord(
    string? Subject,
    string? Identifier,
    string? Email,
    string? PreferredUsername,
    IReadOnlyList<string>? Groups,
    IReadOnlyDictionary<string, string>? ClaimValues)
{
    private static readonly IReadOnlyDictionary<string, string> NoClaimValues = new Dictionary<string, string>();

    public UserIdentity? Identity => string.IsNullOrEmpty(Subject)
        ? null
        : new UserIdentity(Subject, Identifier ?? Subject, Email, PreferredUsername, Groups, ClaimValues ?? NoClaimValues);
}

/// <summary>
/// What the sealed cookie carries: the handle and just enough of the identity to decide without the store — a compact
/// projection of <see cref="UserIdentity"/> under one-letter names (the cookie must stay small, and cookies already
/// issued must keep opening). Never a token, never the claim values.
/// </summary>
internal sealed record CookiePayload(
    [property: JsonPropertyName("h")] string Handle,
    [property: JsonPropertyName("s")] string Subject,
    [property: JsonPropertyName("u")] string? Identifier,
    [property: JsonPropertyName("e")] string? Email,
    [property: JsonPropertyName("p")] string? PreferredUsername,
    [property: JsonPropertyName("g")] IReadOnlyList<string>? Groups,
    [property: JsonPropertyName("i")] long IssuedAt,
    [property: JsonPropertyName("x")] long ExpiresAt,
    [property: JsonPropertyName("a")] string? Acr = null,
    [property: JsonPropertyName("t")] long? AuthTime = null)
{
    private static readonly IReadOnlyDictionary<string, string> NoClaimValues = new Dictionary<string, string>();

    /// <param name="acr">The session's <c>acr</c> and <paramref name="authTime"/> its <c>auth_time</c>: carried only when
    /// known, so that a route's step-up rule can be decided from the cookie alone while the store is unreachable.</param>
    public static CookiePayload For(
        string handle, UserIdentity identity, DateTimeOffset issuedAt, DateTimeOffset expiresAt, string? acr = null, DateTimeOffset? authTime = null) => new(
        handle,
        identity.Subject,
        identity.Identifier,
        identity.Email,
        identity.PreferredUsername,
        identity.Groups,
        issuedAt.ToUnixTimeSeconds(),
        expiresAt.ToUnixTimeSeconds(),
        acr,
        authTime?.ToUnixTimeSeconds());

    /// <summary>The identity as far as the cookie knows it (a minimal cookie: subject only, groups unknown).</summary>
    [JsonIgnore]
    public UserIdentity Identity => new(Subject, Identifier ?? Subject, Email, PreferredUsername, Groups, NoClaimValues);
}

/// <summary>
/// A single sign-on ticket's record, keyed by a hash of the ticket: the origin it may be redeemed on, the hash of the
/// state whose cookie the redeeming browser must hold, and the login (the auth host's session, by its handle hash)
/// whose identity the new session takes. Never a token.
/// </summary>
internal sealed record SsoTicketRecord(string TargetOrigin, string StateHash, string SourceHandleHash, string LoginId, DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionRecord))]
[JsonSerializable(typeof(HotRecord))]
[JsonSerializable(typeof(TokenRecord))]
[JsonSerializable(typeof(FlatIdentityRecord))]
[JsonSerializable(typeof(CookiePayload))]
[JsonSerializable(typeof(PendingLogin))]
[JsonSerializable(typeof(SsoTicketRecord))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;
