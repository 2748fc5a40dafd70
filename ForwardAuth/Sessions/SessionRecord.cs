using System.Text.Json.Serialization;

namespace ForwardAuth.Sessions;

/// <summary>
/// The server-side session: the authority while the store has it. Stored encrypted under a hash of the handle.
/// An adopted record (rebuilt from a sealed cookie) carries no tokens.
/// </summary>
internal sealed record SessionRecord
{
    public required string Subject { get; init; }
    public required string Identifier { get; init; }
    public string? Email { get; init; }
    public string? PreferredUsername { get; init; }

    /// <summary>Null when unknown (adopted from a cookie too small to carry them).</summary>
    public IReadOnlyList<string>? Groups { get; init; }

    public IReadOnlyDictionary<string, string>? ClaimValues { get; init; }
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

    public bool Adopted { get; init; }
}

/// <summary>What the sealed cookie carries: the handle and just enough to decide without the store. Never a token.</summary>
internal sealed record CookiePayload(
    [property: JsonPropertyName("h")] string Handle,
    [property: JsonPropertyName("s")] string Subject,
    [property: JsonPropertyName("u")] string? Identifier,
    [property: JsonPropertyName("e")] string? Email,
    [property: JsonPropertyName("p")] string? PreferredUsername,
    [property: JsonPropertyName("g")] IReadOnlyList<string>? Groups,
    [property: JsonPropertyName("i")] long IssuedAt,
    [property: JsonPropertyName("x")] long ExpiresAt);

/// <summary>A pending login, keyed by a hash of its <c>state</c>; bound to the browser by a hash of its binding cookie.</summary>
internal sealed record LoginRecord(
    string Nonce,
    string CodeVerifier,
    string ReturnUrl,
    string RedirectUri,
    string BindingHash,
    DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionRecord))]
[JsonSerializable(typeof(CookiePayload))]
[JsonSerializable(typeof(LoginRecord))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;
