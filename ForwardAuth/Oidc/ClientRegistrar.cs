using System.Globalization;
using Duende.IdentityModel.Client;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Oidc;

/// <summary>
/// Dynamic client registration (RFC 7591). The registration lives in the shared store under a fingerprint of the
/// provider and the configured metadata: the first replica that finds none takes a lease and registers, the others
/// wait for its result, so every replica uses one client. It is registered again only when missing (or within
/// <see cref="RenewBefore"/> of its secret's expiry); changing the metadata is a new fingerprint, so a new client.
/// </summary>
internal sealed class ClientRegistrar(
    ForwardAuthOptions options,
    ProviderMetadata metadata,
    IHttpClientFactory httpClients,
    IClientRegistrationStore store,
    TimeProvider time,
    ILogger<ClientRegistrar> logger) : IDisposable
{
    public static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WaitForOthers = TimeSpan.FromSeconds(20);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _fingerprint = Fingerprint(options);
    private volatile StoredRegistration? _current;

    public ValueTask<ClientCredential> GetAsync(CancellationToken cancellationToken) =>
        _current is { } current && Usable(current) ? ValueTask.FromResult(new ClientCredential(current.ClientId, current.ClientSecret)) : new(ObtainAsync(cancellationToken));

    private async Task<ClientCredential> ObtainAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var deadline = time.GetUtcNow() + WaitForOthers;
            while (true)
            {
                if (_current is { } current && Usable(current))
                {
                    return new ClientCredential(current.ClientId, current.ClientSecret);
                }

                if (await LoadStoredAsync(cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                if (await store.TryClaimAsync(_fingerprint, LeaseTtl, cancellationToken).ConfigureAwait(false))
                {
                    try
                    {
                        // Read again under the lease: another replica may have registered, saved and released it
                        // between our read above and our claim (then its registration is stored: use it).
                        if (await LoadStoredAsync(cancellationToken).ConfigureAwait(false))
                        {
                            continue;
                        }

                        var registered = await RegisterAsync(cancellationToken).ConfigureAwait(false);
                        await store.SaveAsync(_fingerprint, registered, cancellationToken).ConfigureAwait(false);
                        _current = registered;
                        continue;
                    }
                    finally
                    {
                        await store.ReleaseAsync(_fingerprint, CancellationToken.None).ConfigureAwait(false);
                    }
                }

                if (time.GetUtcNow() >= deadline)
                {
                    throw new HttpRequestException("no client registration: another replica holds the registration lease, or the shared store cannot guarantee one registration");
                }

                await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    // The stored registration, when there is a usable one: it becomes ours.
    private async Task<bool> LoadStoredAsync(CancellationToken cancellationToken)
    {
        if (await store.LoadAsync(_fingerprint, cancellationToken).ConfigureAwait(false) is not { } stored || !Usable(stored))
        {
            return false;
        }

        Log.ClientRegistrationLoaded(logger, stored.ClientId);
        _current = stored;
        return true;
    }

    private bool Usable(StoredRegistration registration) =>
        registration.SecretExpiresAt == 0 || time.GetUtcNow() < DateTimeOffset.FromUnixTimeSeconds(registration.SecretExpiresAt) - RenewBefore;

    private async Task<StoredRegistration> RegisterAsync(CancellationToken cancellationToken)
    {
        var endpoint = options.ClientRegistration.RegistrationEndpoint;
        if (endpoint.Length == 0)
        {
            endpoint = (await metadata.GetAsync(cancellationToken).ConfigureAwait(false)).RegistrationEndpoint ?? "";
        }

        if (endpoint.Length == 0)
        {
            Log.ClientRegistrationFailed(logger, "(none)", "the provider's discovery has no registration_endpoint; set dynamicClientRegistration.registrationEndpoint or register the client and set clientID");
            throw new HttpRequestException("the provider offers no registration endpoint");
        }

        using var request = new DynamicClientRegistrationRequest
        {
            Address = endpoint,
            Document = Document(options.ClientRegistration.Metadata),
        };
        if (options.ClientRegistration.InitialAccessToken.Length > 0)
        {
            request.Token = options.ClientRegistration.InitialAccessToken;
        }

        var response = await httpClients.CreateClient(ProviderHttp.ClientName).RegisterClientAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsError || string.IsNullOrEmpty(response.ClientId) || string.IsNullOrEmpty(response.ClientSecret))
        {
            // The provider's error code and description (never a credential); HTTP status when it gave none.
            var why = response.IsError
                ? $"{(int)response.HttpStatusCode} {response.TryGet("error") ?? response.Error}{(string.IsNullOrEmpty(response.ErrorDescription) ? "" : ": " + response.ErrorDescription)}"
                : "the answer has no client_id or client_secret (ForwardAuth authenticates with a client secret)";
            Log.ClientRegistrationFailed(logger, endpoint, why);
            throw new HttpRequestException("the provider refused the client registration");
        }

        var registered = new StoredRegistration(response.ClientId, response.ClientSecret, response.ClientSecretExpiresAt ?? 0, time.GetUtcNow().ToUnixTimeSeconds());
        Log.ClientRegistered(logger, registered.ClientId, endpoint, registered.SecretExpiresAt == 0 ? "never" : DateTimeOffset.FromUnixTimeSeconds(registered.SecretExpiresAt).ToString("O", CultureInfo.InvariantCulture));
        return registered;
    }

    internal static DynamicClientRegistrationDocument Document(ClientMetadata m)
    {
        var document = new DynamicClientRegistrationDocument
        {
            ApplicationType = m.ApplicationType,
            TokenEndpointAuthenticationMethod = m.TokenEndpointAuthMethod,
        };
        Fill(document.RedirectUris, m.RedirectUris.Select(u => new Uri(u)));
        Fill(document.PostLogoutRedirectUris, m.PostLogoutRedirectUris.Select(u => new Uri(u)));
        Fill(document.GrantTypes, m.GrantTypes);
        Fill(document.ResponseTypes, m.ResponseTypes);
        Fill(document.Contacts, m.Contacts);
        Fill(document.DefaultAcrValues, m.DefaultAcrValues);
        document.ClientName = Optional(m.ClientName);
        document.Scope = Optional(m.Scope);
        document.SubjectType = Optional(m.SubjectType);
        document.LogoUri = OptionalUri(m.LogoUri);
        document.ClientUri = OptionalUri(m.ClientUri);
        document.PolicyUri = OptionalUri(m.PolicyUri);
        document.TosUri = OptionalUri(m.TosUri);
        document.JwksUri = OptionalUri(m.JwksUri);
        document.DefaultMaxAge = m.DefaultMaxAge;
        document.RequireAuthenticationTime = m.RequireAuthTime ? true : null;
        return document;
    }

    private static void Fill<T>(ICollection<T> target, IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            target.Add(item);
        }
    }

    private static string? Optional(string text) => text.Length > 0 ? text : null;

    private static Uri? OptionalUri(string text) => text.Length > 0 ? new Uri(text) : null;

    // Provider + endpoint + the metadata as sent: a changed configuration is a new registration, never a stale one.
    private static string Fingerprint(ForwardAuthOptions options)
    {
        var m = options.ClientRegistration.Metadata;
        string[] parts =
        [
            options.ProviderUrl.AbsoluteUri, options.ClientRegistration.RegistrationEndpoint,
            string.Join(' ', m.RedirectUris), string.Join(' ', m.PostLogoutRedirectUris), m.ClientName, m.ApplicationType,
            string.Join(' ', m.GrantTypes), string.Join(' ', m.ResponseTypes), m.TokenEndpointAuthMethod, m.Scope,
            string.Join(' ', m.Contacts), m.LogoUri, m.ClientUri, m.PolicyUri, m.TosUri, m.JwksUri, m.SubjectType,
            string.Join(' ', m.DefaultAcrValues), m.DefaultMaxAge?.ToString(CultureInfo.InvariantCulture) ?? "", m.RequireAuthTime ? "1" : "0",
        ];
        return string.Join('\n', parts);
    }
}
