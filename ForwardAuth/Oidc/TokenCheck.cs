using Microsoft.IdentityModel.JsonWebTokens;

namespace ForwardAuth.Oidc;

/// <summary>The outcome of checking a token: a value, never an exception.</summary>
internal sealed record TokenCheck(string? Error, JsonWebToken? Token, UserIdentity? Identity)
{
    public bool IsValid => Error is null;

    /// <summary>Refused for its lifetime only (expired, not yet valid, issued in the future): a real token, merely stale.</summary>
    public bool Expired { get; private init; }

    /// <summary>Not judged: the provider's metadata could not be loaded. Nothing the client did.</summary>
    public bool Unverifiable { get; private init; }

    /// <summary>Refused for what the token is (signature, issuer, audience, format, kind): what regulation counts.</summary>
    public bool IsForgedOrMalformed => Error is not null && !Expired && !Unverifiable;

    /// <summary>
    /// An introspected token's <c>acr</c> and <c>auth_time</c> (RFC 7662 answers may carry them): what step-up judges
    /// when there is no JWT to read them from.
    /// </summary>
    public string? Acr { get; init; }

    /// <inheritdoc cref="Acr"/>
    public DateTimeOffset? AuthTime { get; init; }

    public static TokenCheck Invalid(string error) => new(error, null, null);

    public static TokenCheck Stale(string error) => new(error, null, null) { Expired = true };

    public static TokenCheck NotVerifiable(string error) => new(error, null, null) { Unverifiable = true };

    /// <summary>Not judged: the provider's introspection could not answer. The request is answered 503, never 200.</summary>
    public bool ProviderUnreachable { get; private init; }

    public static TokenCheck Unreachable(string error) => new(error, null, null) { Unverifiable = true, ProviderUnreachable = true };
}
