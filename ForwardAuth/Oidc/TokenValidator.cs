using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Oidc;

/// <summary>
/// ID-token and bearer access-token validation with <see cref="JsonWebTokenHandler"/> against the provider's JWKS:
/// asymmetric algorithms only, issuer, audience, lifetime with a bounded skew.
/// </summary>
internal sealed class TokenValidator(ProviderMetadata metadata, ForwardAuthOptions options, TimeProvider time, ClientCredentials credentials)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    // `none` and HMAC (HS*) are absent on purpose: a public key must never be usable as a shared secret.
    private static readonly string[] AllowedAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    // Claims only ID tokens carry, plus `events`, which every back-channel logout token carries: a logout token is
    // signed by the provider for this client too, and must never pass as an access token (it names a user).
    private static readonly string[] IdTokenOnlyClaims = ["nonce", "at_hash", "c_hash", "s_hash", "events"];
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly ValidatedTokenCache _validated = new(time, options.TokenMetadataTtl);

    public async Task<TokenCheck> ValidateIdTokenAsync(string idToken, string expectedNonce, CancellationToken cancellationToken)
    {
        var clientId = (await credentials.GetAsync(cancellationToken).ConfigureAwait(false)).ClientId;
        var check = await ValidateAsync(idToken, [clientId], cancellationToken).ConfigureAwait(false);
        if (!check.IsValid)
        {
            return check;
        }

        var token = check.Token!;
        var nonce = token.TryGetPayloadValue<string>("nonce", out var n) ? n : null;
        if (nonce is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(nonce), Encoding.UTF8.GetBytes(expectedNonce)))
        {
            return TokenCheck.Invalid("nonce does not match the login");
        }

        var audiences = token.Audiences.ToList();
        var azp = token.TryGetPayloadValue<string>("azp", out var a) ? a : null;
        if ((audiences.Count > 1 || azp is not null) && azp != clientId)
        {
            return TokenCheck.Invalid("azp is not this client");
        }

        return check;
    }

    /// <summary>
    /// An ID token from a refresh: the same checks as at login except the nonce (a refresh carries none), and it must
    /// be about the same subject.
    /// </summary>
    public async Task<TokenCheck> ValidateRefreshedIdTokenAsync(string idToken, string expectedSubject, CancellationToken cancellationToken)
    {
        var clientId = (await credentials.GetAsync(cancellationToken).ConfigureAwait(false)).ClientId;
        var check = await ValidateAsync(idToken, [clientId], cancellationToken).ConfigureAwait(false);
        if (check.IsValid && check.Identity!.Subject != expectedSubject)
        {
            return check with { Error = "the refreshed ID token is about another subject" };
        }

        return check;
    }

    /// <summary>The <c>aud</c> bearer access tokens must carry: <c>audience</c>, or the client's id (the registered one with dynamic registration).</summary>
    public async ValueTask<string> AccessTokenAudienceAsync(CancellationToken cancellationToken) =>
        options.Audience.Length > 0 ? options.Audience : (await credentials.GetAsync(cancellationToken).ConfigureAwait(false)).ClientId;

    public async Task<TokenCheck> ValidateAccessTokenAsync(string accessToken, CancellationToken cancellationToken)
    {
        if (_validated.Get(accessToken) is { } cached)
        {
            return cached;
        }

        var check = await ValidateAccessTokenUncachedAsync(accessToken, cancellationToken).ConfigureAwait(false);
        if (check.IsValid)
        {
            _validated.Add(accessToken, check, new DateTimeOffset(check.Token!.ValidTo, TimeSpan.Zero));
        }

        return check;
    }

    private async Task<TokenCheck> ValidateAccessTokenUncachedAsync(string accessToken, CancellationToken cancellationToken)
    {
        var check = await ValidateAsync(accessToken, [await AccessTokenAudienceAsync(cancellationToken).ConfigureAwait(false)], cancellationToken).ConfigureAwait(false);
        if (!check.IsValid)
        {
            return check;
        }

        // An ID token (or a logout token) is not an access token. RFC 9068 tokens say so in `typ`; otherwise ID-token-only
        // claims refuse it.
        var typ = check.Token!.Typ;
        var isAccessTokenType = string.Equals(typ, "at+jwt", StringComparison.OrdinalIgnoreCase)
            || string.Equals(typ, "application/at+jwt", StringComparison.OrdinalIgnoreCase);
        if (!isAccessTokenType && IdTokenOnlyClaims.Any(c => check.Token.TryGetPayloadValue<object>(c, out _)))
        {
            return TokenCheck.Invalid("an ID token is not accepted as an access token");
        }

        return check;
    }

    /// <summary>
    /// A back-channel <c>logout_token</c> (OpenID Connect Back-Channel Logout 1.0): signature, <c>iss</c>, <c>aud</c>,
    /// <c>iat</c> no older than the single-use window, the back-channel logout event, <c>sid</c> or <c>sub</c>, a
    /// <c>jti</c>, and no <c>nonce</c> (so an ID token can never pass as one). Single use is the caller's to check.
    /// </summary>
    public async Task<TokenCheck> ValidateLogoutTokenAsync(string logoutToken, CancellationToken cancellationToken)
    {
        // No `exp` is accepted here only: the earlier drafts of the spec (and providers built on them, e.g. Glewlwyd) send
        // none, and the iat window below plus the single-use jti already bound the token's life.
        var clientId = (await credentials.GetAsync(cancellationToken).ConfigureAwait(false)).ClientId;
        var check = await ValidateAsync(logoutToken, [clientId], cancellationToken, requireSubject: false, requireExpiry: false)
            .ConfigureAwait(false);
        if (!check.IsValid)
        {
            return check;
        }

        var token = check.Token!;
        if (token.TryGetPayloadValue<object>("nonce", out _))
        {
            return TokenCheck.Invalid("a logout token carries no nonce");
        }

        if (!token.TryGetPayloadValue<JsonElement>("events", out var events) || events.ValueKind != JsonValueKind.Object
            || !events.TryGetProperty("http://schemas.openid.net/event/backchannel-logout", out _))
        {
            return TokenCheck.Invalid("no back-channel logout event");
        }

        if (!token.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti))
        {
            return TokenCheck.Invalid("no jti");
        }

        var hasSid = token.TryGetPayloadValue<string>("sid", out var sid) && !string.IsNullOrEmpty(sid);
        var hasSub = token.TryGetPayloadValue<string>("sub", out var sub) && !string.IsNullOrEmpty(sub);
        if (!hasSid && !hasSub)
        {
            return TokenCheck.Invalid("neither sid nor sub");
        }

        if (!token.TryGetPayloadValue<long>("iat", out var iat)
            || DateTimeOffset.FromUnixTimeSeconds(iat) < time.GetUtcNow() - options.JtiCacheTtl
            || DateTimeOffset.FromUnixTimeSeconds(iat) > time.GetUtcNow() + ClockSkew)
        {
            return TokenCheck.Invalid("iat missing or outside the accepted window");
        }

        var typ = token.Typ;
        if (!string.IsNullOrEmpty(typ) && typ is not ("logout+jwt" or "JWT" or "application/logout+jwt"))
        {
            return TokenCheck.Invalid("typ is not logout+jwt");
        }

        return check;
    }

    private async Task<TokenCheck> ValidateAsync(
        string jwt, string[] audiences, CancellationToken cancellationToken, bool requireSubject = true, bool requireExpiry = true)
    {
        if (jwt.Length > 16 * 1024 || !_handler.CanReadToken(jwt) || Read(jwt) is not { } parsed)
        {
            return TokenCheck.Invalid("not a well-formed JWT");
        }

        // Checked here, before the library, so that `none`, HMAC and unknown algorithms are named as such.
        if (!AllowedAlgorithms.Contains(parsed.Alg, StringComparer.Ordinal))
        {
            return TokenCheck.Invalid("algorithm not allowed");
        }

        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            return TokenCheck.NotVerifiable("provider metadata unavailable");
        }

        var result = await _handler.ValidateTokenAsync(jwt, Parameters(configuration, audiences)).ConfigureAwait(false);
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // Perhaps the provider rotated its keys: refetch (rate-limited) and try once more.
            metadata.RequestRefresh();
            configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
            result = await _handler.ValidateTokenAsync(jwt, Parameters(configuration, audiences)).ConfigureAwait(false);
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return TokenCheck.Invalid(TokenErrors.Describe(result.Exception));
        }

        // Lifetime is ours (the library is told not to check it): its exception cannot say which bound failed, and
        // its clock is not our TimeProvider.
        if (LifetimeProblem(token, requireExpiry) is { } problem)
        {
            // A lifetime problem of a token whose signature held is not a guess: regulation does not count it.
            return TokenCheck.Stale(problem);
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
        var identity = UserIdentity.FromClaims(payload.RootElement, options);
        return identity is null && requireSubject ? TokenCheck.Invalid("token has no subject") : new TokenCheck(null, token, identity);
    }

    /// <summary>Whether the text has a JWT's shape (compact JWS: three dot-separated parts), whatever its content.</summary>
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    private JsonWebToken? Read(string jwt)
    {
        try
        {
            return _handler.ReadJsonWebToken(jwt);
        }
        catch (ArgumentException)
        {
            // SecurityTokenMalformedException: a header or payload that is not JSON.
            return null;
        }
    }

    private static TokenValidationParameters Parameters(OpenIdConnectConfiguration configuration, string[] audiences) => new()
    {
        ValidIssuer = configuration.Issuer,
        ValidAudiences = audiences,
        IssuerSigningKeys = configuration.SigningKeys,
        ValidAlgorithms = AllowedAlgorithms,
        RequireSignedTokens = true,
        RequireExpirationTime = false,
        ValidateLifetime = false,
        TryAllIssuerSigningKeys = false,
    };

    /// <summary>
    /// <c>exp</c> (required unless <paramref name="requireExpiry"/> is false: logout tokens of the earlier back-channel
    /// drafts carry none), <c>nbf</c> and <c>iat</c>, each against our clock with <see cref="ClockSkew"/>.
    /// </summary>
    private string? LifetimeProblem(JsonWebToken token, bool requireExpiry)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var hasExpiry = token.TryGetPayloadValue<object>("exp", out _);
        if (!hasExpiry && requireExpiry)
        {
            return "token has no expiry (exp)";
        }

        if (hasExpiry && token.ValidTo < now - ClockSkew)
        {
            return "token expired";
        }

        if (token.TryGetPayloadValue<object>("nbf", out _) && token.ValidFrom > now + ClockSkew)
        {
            return "token not yet valid (nbf)";
        }

        // Issued later than now + skew: a provider clock far ahead, or a token minted in advance. Refused like a token
        // not yet valid; without this, a provider that sends no `nbf` would have no such bound.
        return token.IssuedAt > now + ClockSkew ? "token issued in the future" : null;
    }
}
