using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Duende.IdentityModel.Client;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>PKCE pair: the verifier stays in the login record, the S256 challenge goes to the provider.</summary>
internal sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return new Pkce(verifier, challenge);
    }
}

/// <summary>
/// The OAuth/OIDC protocol messages, built and sent with Duende.IdentityModel: authorize URL, code exchange,
/// userinfo, refresh-token revocation and the end-session URL.
/// </summary>
internal sealed class OidcProtocol(ProviderMetadata metadata, IHttpClientFactory httpClients, ForwardAuthOptions options, RequestedScopes scopes, ClientCredentials credentials)
{
    private ClientCredentialStyle CredentialStyle => options.TokenEndpointAuth == TokenEndpointAuth.ClientSecretPost
        ? ClientCredentialStyle.PostBody
        : ClientCredentialStyle.AuthorizationHeader;

    /// <param name="stepUp">A step-up login's <c>acr_values</c> and/or <c>max_age</c>: added to (and winning over) <c>authorizeParams</c>.</param>
    public async Task<string> AuthorizeUrlAsync(
        string state, string nonce, Pkce pkce, string redirectUri, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? stepUp = null)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var client = await credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        var extra = options.AuthorizeParams;
        if (stepUp is { Count: > 0 })
        {
            var merged = new Dictionary<string, string>(options.AuthorizeParams, StringComparer.Ordinal);
            foreach (var (name, value) in stepUp)
            {
                merged[name] = value;
            }

            extra = merged;
        }

        return new RequestUrl(configuration.AuthorizationEndpoint).CreateAuthorizeUrl(
            clientId: client.ClientId,
            responseType: "code",
            scope: string.Join(' ', scopes.For(configuration)),
            redirectUri: redirectUri,
            state: state,
            nonce: nonce,
            codeChallenge: pkce.Challenge,
            codeChallengeMethod: "S256",
            extra: extra.Count == 0 ? null : new Parameters(extra));
    }

    public async Task<TokenResponse> ExchangeCodeAsync(string code, string codeVerifier, string redirectUri, CancellationToken cancellationToken)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var client = await credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        using var request = new AuthorizationCodeTokenRequest
        {
            Address = configuration.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.ClientSecret,
            ClientCredentialStyle = CredentialStyle,
            Code = code,
            RedirectUri = redirectUri,
            CodeVerifier = codeVerifier,
        };
        return await httpClients.CreateClient(ProviderHttp.ClientName).RequestAuthorizationCodeTokenAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TokenResponse> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var client = await credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        using var request = new RefreshTokenRequest
        {
            Address = configuration.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.ClientSecret,
            ClientCredentialStyle = CredentialStyle,
            RefreshToken = refreshToken,
        };
        return await httpClients.CreateClient(ProviderHttp.ClientName).RequestRefreshTokenAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The userinfo endpoint's answer for this access token, or null when the provider has no such endpoint.</summary>
    public async Task<UserInfoResponse?> UserInfoAsync(string accessToken, CancellationToken cancellationToken)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(configuration.UserInfoEndpoint))
        {
            return null;
        }

        using var request = new UserInfoRequest { Address = configuration.UserInfoEndpoint, Token = accessToken };
        return await httpClients.CreateClient(ProviderHttp.ClientName).GetUserInfoAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Revokes a refresh token where the provider has a revocation endpoint (<c>revocationURL</c> when set, else
    /// discovery's); returns the error, if any.
    /// </summary>
    public async Task<string?> RevokeRefreshTokenAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = options.RevocationUrl.Length > 0 ? options.RevocationUrl : configuration.RevocationEndpoint;
        if (string.IsNullOrEmpty(endpoint))
        {
            return null;
        }

        var client = await credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        using var request = new TokenRevocationRequest
        {
            Address = endpoint,
            ClientId = client.ClientId,
            ClientSecret = client.ClientSecret,
            ClientCredentialStyle = CredentialStyle,
            Token = refreshToken,
            TokenTypeHint = "refresh_token",
        };
        var response = await httpClients.CreateClient(ProviderHttp.ClientName).RevokeTokenAsync(request, cancellationToken).ConfigureAwait(false);
        return response.IsError ? response.Error : null;
    }

    /// <summary>The provider's end-session URL (<c>oidcEndSessionURL</c> when set, else discovery's), or null when it has none.</summary>
    public async Task<string?> EndSessionUrlAsync(string? idTokenHint, string postLogoutRedirectUri, CancellationToken cancellationToken)
    {
        var configuration = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = options.EndSessionUrl.Length > 0 ? options.EndSessionUrl : configuration.EndSessionEndpoint;
        if (string.IsNullOrEmpty(endpoint))
        {
            return null;
        }

        return new RequestUrl(endpoint).CreateEndSessionUrl(
            idTokenHint: idTokenHint,
            postLogoutRedirectUri: postLogoutRedirectUri);
    }

    /// <summary>The provider's issuer as its discovery states it, or null while discovery is unavailable.</summary>
    public async Task<string?> IssuerAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await metadata.GetAsync(cancellationToken).ConfigureAwait(false)).Issuer;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
