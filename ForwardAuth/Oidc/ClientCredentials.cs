using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>The OAuth client ForwardAuth is at the provider. The secret is never logged.</summary>
internal sealed record ClientCredential(string ClientId, string ClientSecret);

/// <summary>
/// The client credentials every provider call uses: the configured <c>clientID</c>/<c>clientSecret</c>, or, with
/// <c>dynamicClientRegistration</c>, the client registered at the provider (<see cref="ClientRegistrar"/>).
/// </summary>
internal sealed class ClientCredentials
{
    private readonly ClientCredential? _configured;
    private readonly ClientRegistrar? _registrar;

    private ClientCredentials(ClientCredential? configured, ClientRegistrar? registrar)
    {
        _configured = configured;
        _registrar = registrar;
    }

    public static ClientCredentials Configured(ForwardAuthOptions options) => new(new ClientCredential(options.ClientId, options.ClientSecret), null);

    public static ClientCredentials Registered(ClientRegistrar registrar) => new(null, registrar);

    /// <summary>
    /// The client; a registered one is read from the shared store or registered on first use. Throws
    /// <see cref="HttpRequestException"/> when there is none and the provider refused or could not be reached
    /// (answered 502 like any provider outage).
    /// </summary>
    public ValueTask<ClientCredential> GetAsync(CancellationToken cancellationToken) =>
        _configured is { } configured ? ValueTask.FromResult(configured) : _registrar!.GetAsync(cancellationToken);
}

/// <summary>Where the registered client is kept: the shared store, sealed (implemented in Sessions).</summary>
internal interface IClientRegistrationStore
{
    /// <summary>The stored registration for this fingerprint (provider + metadata), or null.</summary>
    Task<StoredRegistration?> LoadAsync(string fingerprint, CancellationToken cancellationToken);

    /// <summary>True when this replica may register now (a lease across replicas); false when another one is, or the store cannot say.</summary>
    Task<bool> TryClaimAsync(string fingerprint, TimeSpan ttl, CancellationToken cancellationToken);

    Task SaveAsync(string fingerprint, StoredRegistration registration, CancellationToken cancellationToken);

    Task ReleaseAsync(string fingerprint, CancellationToken cancellationToken);
}

/// <summary>A registration as kept: the client and when its secret expires (0: never, RFC 7591).</summary>
internal sealed record StoredRegistration(string ClientId, string ClientSecret, long SecretExpiresAt, long RegisteredAt);
