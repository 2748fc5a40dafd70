using ForwardAuth.Configuration;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace ForwardAuth.Oidc;

/// <summary>
/// Discovery and JWKS through <see cref="ConfigurationManager{T}"/>: cached, refreshed in the background, and refetched
/// on an unknown <c>kid</c> at most once per <see cref="ForcedRefreshInterval"/> (so forged kids cannot hammer the
/// provider). The last good metadata keeps serving while the provider is unreachable.
/// </summary>
internal sealed class ProviderMetadata
{
    public static readonly TimeSpan ForcedRefreshInterval = TimeSpan.FromSeconds(30);
    private readonly ConfigurationManager<OpenIdConnectConfiguration> _manager;
    private volatile OpenIdConnectConfiguration? _current;

    public ProviderMetadata(ForwardAuthOptions options, IHttpClientFactory httpClients)
    {
        var address = options.ProviderUrl.AbsoluteUri.TrimEnd('/') + "/.well-known/openid-configuration";
        var retriever = new HttpDocumentRetriever(httpClients.CreateClient(ProviderHttp.ClientName))
        {
            RequireHttps = !options.AllowHttpProvider,
        };
        _manager = new ConfigurationManager<OpenIdConnectConfiguration>(address, new OpenIdConnectConfigurationRetriever(), retriever)
        {
            // The library refuses automatic refresh intervals under five minutes.
            AutomaticRefreshInterval = options.TokenMetadataTtl < TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : options.TokenMetadataTtl,
            RefreshInterval = ForcedRefreshInterval,
        };
    }

    /// <summary>True once discovery has succeeded at least once (readiness).</summary>
    public bool IsLoaded => _current is not null;

    public async Task<OpenIdConnectConfiguration> GetAsync(CancellationToken cancellationToken)
    {
        var configuration = await _manager.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
        _current = configuration;
        return configuration;
    }

    /// <summary>Asks for a refetch on the next read (unknown signing key); rate-limited by the manager.</summary>
    public void RequestRefresh() => _manager.RequestRefresh();
}
