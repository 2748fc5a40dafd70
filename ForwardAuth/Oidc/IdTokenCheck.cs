using System.Security.Claims;
using Duende.IdentityModel.OidcClient;
using Duende.IdentityModel.OidcClient.Results;

namespace ForwardAuth.Oidc;

/// <summary>
/// Our ID token validation (<see cref="TokenValidator"/>: <c>JsonWebTokenHandler</c> against our JWKS, asymmetric
/// algorithms only, issuer, audience, <c>azp</c>, lifetime with our skew) as OidcClient's
/// <see cref="IIdentityTokenValidator"/>, for one login (the nonce its ID token must carry: OidcClient 7 sends and
/// checks none) or one refresh (the subject it must be about). It keeps its verdict, so nothing is validated twice.
/// </summary>
internal sealed class IdTokenCheck : IIdentityTokenValidator
{
    private readonly Func<string, CancellationToken, Task<TokenCheck>> _validate;

    private IdTokenCheck(Func<string, CancellationToken, Task<TokenCheck>> validate) => _validate = validate;

    /// <summary>What our validation said of the ID token; null when OidcClient never asked (no ID token, or it refused the answer before).</summary>
    public TokenCheck? Verdict { get; private set; }

    public static IdTokenCheck ForLogin(TokenValidator tokens, string nonce) => new((token, ct) => tokens.ValidateIdTokenAsync(token, nonce, ct));

    public static IdTokenCheck ForRefresh(TokenValidator tokens, string subject) => new((token, ct) => tokens.ValidateRefreshedIdTokenAsync(token, subject, ct));

    public async Task<IdentityTokenValidationResult> ValidateAsync(string identityToken, OidcClientOptions options, CancellationToken cancellationToken = default)
    {
        var check = await _validate(identityToken, cancellationToken).ConfigureAwait(false);
        Verdict = check;

        // The algorithm lets OidcClient check at_hash against the access token.
        return check is { IsValid: true, Token: { } token }
            ? new IdentityTokenValidationResult { User = new ClaimsPrincipal(new ClaimsIdentity(token.Claims, "oidc")), SignatureAlgorithm = token.Alg }
            : new IdentityTokenValidationResult { Error = check.Error ?? "invalid token" };
    }
}
