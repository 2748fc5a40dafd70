using Duende.IdentityModel.Client;
using Duende.IdentityModel.OidcClient;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>
/// What an exchange at the token endpoint came to: the endpoint's <paramref name="Answer"/> as received (null when
/// OidcClient refused before calling it), our validation's verdict on its ID token (null when there was none or
/// OidcClient did not get to it), and OidcClient's refusal, if any (a refused code, an <c>at_hash</c> that does not
/// match the access token, an answer without an access token, an ID token our validation refused).
/// </summary>
internal sealed record TokenExchange(TokenResponse? Answer, TokenCheck? IdToken, string? Refusal)
{
    /// <summary>
    /// The ID token's verdict, OidcClient's checks included: ours when it refused, else a refusal when OidcClient refused
    /// the answer, else ours.
    /// </summary>
    public TokenCheck IdTokenVerdict => IdToken is { IsValid: false } || (IdToken is not null && Refusal is null)
        ? IdToken
        : TokenCheck.Invalid("refused by OidcClient (" + (Refusal ?? "not validated") + ")");
}

/// <summary>
/// The OAuth/OIDC protocol messages. Login start, code exchange and refresh go through Duende.IdentityModel.OidcClient
/// (<see cref="OidcClients"/>): <c>PrepareLoginAsync</c>, <c>ProcessResponseAsync</c>, <c>RefreshTokenAsync</c>, with
/// our ID token validation plugged in. Userinfo, refresh-token revocation and the end-session URL are built and sent
/// with Duende.IdentityModel. docs/architecture.md says what stays ours and why.
/// </summary>
internal sealed class OidcProtocol(ProviderMetadata metadata, IHttpClientFactory httpClients, ForwardAuthOptions options, OidcClients clients, TokenValidator tokens, ClientCredentials credentials)
{
    /// <summary>
    /// A login's authorize request: OidcClient's <see cref="AuthorizeState"/> (its <c>state</c>, PKCE S256 verifier,
    /// redirect URI and the URL to send the browser to), with our <paramref name="nonce"/>, <c>authorizeParams</c>
    /// and a step-up's <c>acr_values</c>/<c>max_age</c> (which win over <c>authorizeParams</c>) added.
    /// </summary>
    public async Task<AuthorizeState> PrepareLoginAsync(
        string redirectUri, string nonce, IReadOnlyList<string>? acr, long? maxAge, CancellationToken cancellationToken)
    {
        var exchange = await clients.CreateAsync(redirectUri, idTokens: null, cancellationToken).ConfigureAwait(false);
        var extra = new Dictionary<string, string>(options.AuthorizeParams, StringComparer.Ordinal);
        if (acr is not null)
        {
            extra["acr_values"] = string.Join(' ', acr);
        }

        if (maxAge is { } seconds)
        {
            extra["max_age"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var parameters = new Parameters { { "nonce", nonce } };
        foreach (var (name, value) in extra)
        {
            parameters.Add(name, value);
        }

        var state = await exchange.Client.PrepareLoginAsync(parameters, cancellationToken).ConfigureAwait(false);
        return state.IsError ? throw new HttpRequestException("the authorize request could not be prepared: " + state.Error) : state;
    }

    /// <summary>
    /// The callback's code exchanged by OidcClient (<c>ProcessResponseAsync</c>) for the login of
    /// <paramref name="login"/>, its ID token validated by ours with the login's <paramref name="nonce"/>.
    /// </summary>
    public async Task<TokenExchange> ExchangeCodeAsync(string code, AuthorizeState login, string nonce, CancellationToken cancellationToken)
    {
        var idTokens = IdTokenCheck.ForLogin(tokens, nonce);
        var exchange = await clients.CreateAsync(login.RedirectUri, idTokens, cancellationToken).ConfigureAwait(false);
        var response = "?code=" + Uri.EscapeDataString(code) + "&state=" + Uri.EscapeDataString(login.State);
        var result = await exchange.Client.ProcessResponseAsync(response, login, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.IsError
            ? new TokenExchange(exchange.Answers.Answer, idTokens.Verdict, result.Error)
            : new TokenExchange(result.TokenResponse, idTokens.Verdict, null);
    }

    /// <summary>
    /// A refresh by OidcClient (<c>RefreshTokenAsync</c>); a new ID token is validated by ours and must be about
    /// <paramref name="subject"/>. The answer is the endpoint's as received, so a rotated refresh token is never lost.
    /// </summary>
    public async Task<TokenExchange> RefreshAsync(string refreshToken, string subject, CancellationToken cancellationToken)
    {
        var idTokens = IdTokenCheck.ForRefresh(tokens, subject);
        var exchange = await clients.CreateAsync(redirectUri: null, idTokens, cancellationToken).ConfigureAwait(false);
        var result = await exchange.Client.RefreshTokenAsync(refreshToken, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new TokenExchange(exchange.Answers.Answer, idTokens.Verdict, result.IsError ? result.Error : null);
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
            ClientCredentialStyle = clients.CredentialStyle,
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
