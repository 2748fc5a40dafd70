using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Duende.IdentityModel.Client;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Oidc;

/// <summary>
/// RFC 7662 token introspection of bearer tokens (<c>allowOpaqueTokens</c>, <c>requireTokenIntrospection</c>): the
/// client authenticates as at the token endpoint. Answers are cached by a hash of the token — an active one for at
/// most <c>tokenMetadataTTL</c> and never past its <c>exp</c>, an inactive one for <see cref="InactiveTtl"/> — so an
/// API client reusing its token costs one provider call per TTL, and a revoked token is refused within that TTL.
/// The provider unreachable is <see cref="TokenCheck.ProviderUnreachable"/> (503), never an answer, never cached.
/// </summary>
internal sealed class TokenIntrospection(
    ProviderMetadata metadata,
    IHttpClientFactory httpClients,
    ForwardAuthOptions options,
    ClientCredentials credentials,
    TimeProvider time,
    ILogger<TokenIntrospection> logger)
{
    public static readonly TimeSpan InactiveTtl = TimeSpan.FromSeconds(5);
    private const int MaxEntries = 10_000;
    private readonly ConcurrentDictionary<string, Entry> _answers = new(StringComparer.Ordinal);

    public async Task<TokenCheck> IntrospectAsync(string token, string audience, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        var now = time.GetUtcNow();
        if (_answers.TryGetValue(key, out var cached))
        {
            if (cached.ExpiresAt > now)
            {
                return cached.Check;
            }

            _answers.TryRemove(key, out _);
        }

        var (check, lifetime) = await AskAsync(token, audience, cancellationToken).ConfigureAwait(false);
        if (lifetime > TimeSpan.Zero)
        {
            if (_answers.Count >= MaxEntries)
            {
                _answers.Clear(); // full: start over rather than track recency; the next answers are asked again
            }

            _answers[key] = new Entry(check, now + lifetime);
        }

        return check;
    }

    private async Task<(TokenCheck Check, TimeSpan CacheFor)> AskAsync(string token, string audience, CancellationToken cancellationToken)
    {
        string endpoint;
        string issuer;
        try
        {
            var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
            endpoint = configuration.IntrospectionEndpoint ?? "";
            issuer = configuration.Issuer ?? "";
        }
        catch (InvalidOperationException)
        {
            return (TokenCheck.Unreachable("provider metadata unavailable"), TimeSpan.Zero);
        }

        if (endpoint.Length == 0)
        {
            Log.IntrospectionFailed(logger, "(none)", "the provider's discovery has no introspection_endpoint: opaque tokens cannot be checked");
            return (TokenCheck.Unreachable("the provider has no introspection endpoint"), TimeSpan.Zero);
        }

        TokenIntrospectionResponse response;
        try
        {
            var client = await credentials.GetAsync(cancellationToken).ConfigureAwait(false);
            using var request = new TokenIntrospectionRequest
            {
                Address = endpoint,
                ClientId = client.ClientId,
                ClientSecret = client.ClientSecret,
                ClientCredentialStyle = options.TokenEndpointAuth == TokenEndpointAuth.ClientSecretPost
                    ? ClientCredentialStyle.PostBody
                    : ClientCredentialStyle.AuthorizationHeader,
                Token = token,
                TokenTypeHint = "access_token",
            };
            response = await httpClients.CreateClient(ProviderHttp.ClientName).IntrospectTokenAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            Log.IntrospectionFailed(logger, endpoint, e.GetBaseException().Message);
            return (TokenCheck.Unreachable("introspection endpoint unreachable"), TimeSpan.Zero);
        }

        if (response.IsError)
        {
            // The endpoint refused us (client authentication) or failed: the token was not judged.
            var why = response.HttpStatusCode == HttpStatusCode.Unauthorized
                ? "401: the provider refused the client (check clientID, clientSecret, tokenEndpointAuthMethod)"
                : $"{(int)response.HttpStatusCode} {response.TryGet("error") ?? response.Error}";
            Log.IntrospectionFailed(logger, endpoint, why);
            return (TokenCheck.Unreachable("introspection failed"), TimeSpan.Zero);
        }

        if (!response.IsActive)
        {
            return (TokenCheck.Invalid("token is not active (introspection)"), InactiveTtl);
        }

        return Judge(response.Json!.Value, audience, issuer);
    }

    // An active answer still has to be for us: not expired, our issuer and audience when it names them, an access token.
    private (TokenCheck Check, TimeSpan CacheFor) Judge(JsonElement claims, string audience, string issuer)
    {
        var now = time.GetUtcNow();
        var expires = Number(claims, "exp") is { } exp ? DateTimeOffset.FromUnixTimeSeconds(exp) : (DateTimeOffset?)null;
        if (expires is { } e && e <= now)
        {
            return (TokenCheck.Stale("token expired (introspection)"), InactiveTtl);
        }

        if (Text(claims, "iss") is { } iss && iss != issuer)
        {
            return (TokenCheck.Invalid("introspection names another issuer"), InactiveTtl);
        }

        if (claims.TryGetProperty("aud", out var aud) && !Audiences(aud).Contains(audience, StringComparer.Ordinal))
        {
            return (TokenCheck.Invalid(TokenErrors.WrongAudience), InactiveTtl);
        }

        if (Text(claims, "token_type") is { } type && !type.Equals("access_token", StringComparison.OrdinalIgnoreCase)
            && !type.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return (TokenCheck.Invalid($"a {type} is not an access token"), InactiveTtl);
        }

        if (UserIdentity.FromClaims(claims, options) is not { } identity)
        {
            return (TokenCheck.Invalid("token has no subject"), InactiveTtl);
        }

        var cacheFor = options.TokenMetadataTtl;
        if (expires is { } until && until - now < cacheFor)
        {
            cacheFor = until - now;
        }

        var authTime = Number(claims, "auth_time") is { } at && at > 0 ? DateTimeOffset.FromUnixTimeSeconds(at) : (DateTimeOffset?)null;
        return (new TokenCheck(null, null, identity) { Acr = Text(claims, "acr") is { Length: > 0 } acr ? acr : null, AuthTime = authTime }, cacheFor);
    }

    private static long? Number(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;

    private static string? Text(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IEnumerable<string> Audiences(JsonElement aud) => aud.ValueKind switch
    {
        JsonValueKind.String => [aud.GetString()!],
        JsonValueKind.Array => aud.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!),
        _ => [],
    };

    private sealed record Entry(TokenCheck Check, DateTimeOffset ExpiresAt);
}

/// <summary>
/// The bearer token of a request, judged: a JWT against the JWKS; with <c>allowOpaqueTokens</c> a token that is not a
/// JWT through introspection; with <c>requireTokenIntrospection</c> a valid JWT must also be active at the provider.
/// </summary>
internal sealed class BearerTokens(TokenValidator tokens, TokenIntrospection introspection, ForwardAuthOptions options)
{
    public async Task<TokenCheck> CheckAsync(string bearer, CancellationToken cancellationToken)
    {
        var introspects = options.AllowOpaqueTokens || options.RequireTokenIntrospection;
        if (introspects && !TokenValidator.LooksLikeJwt(bearer))
        {
            return bearer.Length > 16 * 1024
                ? TokenCheck.Invalid("token too long")
                : await introspection.IntrospectAsync(bearer, await tokens.AccessTokenAudienceAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        var check = await tokens.ValidateAccessTokenAsync(bearer, cancellationToken).ConfigureAwait(false);
        if (!check.IsValid || !options.RequireTokenIntrospection)
        {
            return check;
        }

        var active = await introspection.IntrospectAsync(bearer, await tokens.AccessTokenAudienceAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return active.IsValid ? check : active;
    }
}
