using Duende.IdentityModel.Client;
using Duende.IdentityModel.OidcClient;
using Duende.IdentityModel.OidcClient.Infrastructure;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>An <see cref="OidcClient"/> for one exchange, and the token endpoint's answer to it as received.</summary>
internal sealed record OidcExchange(OidcClient Client, TokenAnswerRecorder Answers);

/// <summary>
/// Duende.IdentityModel.OidcClient, configured from what ForwardAuth already has: the endpoints of our discovery
/// (<see cref="ProviderMetadata"/>; the library never fetches discovery or keys itself), our client
/// (<see cref="ClientCredentials"/>, <c>tokenEndpointAuthMethod</c>), the provider's HTTP client (<see cref="ProviderHttp"/>:
/// timeout, extra CAs) and our ID token validation (<see cref="IdTokenCheck"/>). One client per exchange: the redirect
/// URI, the nonce or subject the ID token must carry and the recorded answer belong to one login or one refresh.
/// </summary>
internal sealed class OidcClients
{
    private readonly ProviderMetadata _metadata;
    private readonly IHttpMessageHandlerFactory _handlers;
    private readonly ForwardAuthOptions _options;
    private readonly RequestedScopes _scopes;
    private readonly ClientCredentials _credentials;

    public OidcClients(ProviderMetadata metadata, IHttpMessageHandlerFactory handlers, ForwardAuthOptions options, RequestedScopes scopes, ClientCredentials credentials)
    {
        (_metadata, _handlers, _options, _scopes, _credentials) = (metadata, handlers, options, scopes, credentials);

        // The library serializes its options (the client secret among them) and each authorize state (the PKCE
        // verifier) into log arguments whatever the log level; off, nothing of them is ever written into a string.
        LogSerializer.Enabled = false;
    }

    public ClientCredentialStyle CredentialStyle => _options.TokenEndpointAuth == TokenEndpointAuth.ClientSecretPost
        ? ClientCredentialStyle.PostBody
        : ClientCredentialStyle.AuthorizationHeader;

    /// <param name="redirectUri">The login's redirect URI (null for a refresh).</param>
    /// <param name="idTokens">The validation of the ID token the exchange returns (null when it returns none: the login's start).</param>
    public async Task<OidcExchange> CreateAsync(string? redirectUri, IdTokenCheck? idTokens, CancellationToken cancellationToken)
    {
        var configuration = await _metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var client = await _credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(configuration.Issuer) || string.IsNullOrEmpty(configuration.AuthorizationEndpoint) || string.IsNullOrEmpty(configuration.TokenEndpoint))
        {
            // Answered 502 like an unreachable provider: its discovery document cannot start or finish a login.
            throw new HttpRequestException("the provider's discovery document lacks issuer, authorization_endpoint or token_endpoint");
        }

        var answers = new TokenAnswerRecorder(new Uri(configuration.TokenEndpoint));
        HttpClient? http = null;
        var options = new OidcClientOptions
        {
            ProviderInformation = new ProviderInformation
            {
                IssuerName = configuration.Issuer,
                AuthorizeEndpoint = configuration.AuthorizationEndpoint,
                TokenEndpoint = configuration.TokenEndpoint,
                UserInfoEndpoint = configuration.UserInfoEndpoint,
                TokenEndPointAuthenticationMethods = configuration.TokenEndpointAuthMethodsSupported,
            },
            ClientId = client.ClientId,
            ClientSecret = client.ClientSecret,
            TokenClientCredentialStyle = CredentialStyle,
            Scope = string.Join(' ', _scopes.For(configuration)),
            RedirectUri = redirectUri,
            StateLength = 32,
            HttpClientFactory = _ => http ??= HttpClientFor(answers),
            IdentityTokenValidator = idTokens,

            // Our JWKS stays with ProviderMetadata (rate-limited refetch on an unknown kid); the authorize URL is the
            // one we send the browser to, never a pushed request; userinfo is ours (UserinfoClaims).
            Policy = new Policy { Discovery = new DiscoveryPolicy { RequireKeySet = false }, RequireIdentityTokenSignature = true },
            DisablePushedAuthorization = true,
            LoadProfile = false,
        };
        return new OidcExchange(new OidcClient(options), answers);
    }

    // Made on the exchange's first call only: a login's start calls nothing.
    private HttpClient HttpClientFor(TokenAnswerRecorder answers)
    {
        answers.InnerHandler = _handlers.CreateHandler(ProviderHttp.ClientName);
#pragma warning disable CA2000 // The handler chain belongs to the handler factory (disposeHandler: false); the client only lives for this exchange.
        return new HttpClient(answers, disposeHandler: false) { Timeout = ProviderHttp.Timeout };
#pragma warning restore CA2000
    }
}
