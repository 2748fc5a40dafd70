namespace ForwardAuth.Configuration;

/// <summary>
/// <c>dynamicClientRegistration</c> (RFC 7591): register at the provider instead of a pre-registered client. Used only
/// when <c>enabled</c> and <c>clientID</c> is empty (the plugin's rule); the metadata is what the registration request
/// sends.
/// </summary>
internal sealed record ClientRegistrationOptions(
    bool Enabled,
    string InitialAccessToken,
    string RegistrationEndpoint,
    ClientMetadata Metadata)
{
    public static ClientRegistrationOptions Disabled { get; } = new(false, "", "", ClientMetadata.Empty);
}

/// <summary>The client metadata of the registration request (RFC 7591 §2), as configured.</summary>
internal sealed record ClientMetadata(
    IReadOnlyList<string> RedirectUris,
    IReadOnlyList<string> PostLogoutRedirectUris,
    string ClientName,
    string ApplicationType,
    IReadOnlyList<string> GrantTypes,
    IReadOnlyList<string> ResponseTypes,
    string TokenEndpointAuthMethod,
    string Scope,
    IReadOnlyList<string> Contacts,
    string LogoUri,
    string ClientUri,
    string PolicyUri,
    string TosUri,
    string JwksUri,
    string SubjectType,
    IReadOnlyList<string> DefaultAcrValues,
    int? DefaultMaxAge,
    bool RequireAuthTime)
{
    public static ClientMetadata Empty { get; } = new([], [], "", "web", [], [], "client_secret_basic", "", [], "", "", "", "", "", "", [], null, false);
}

internal static class ClientRegistrationSettings
{
    private const string Block = "dynamicClientRegistration";
    private const string Meta = Block + ".clientMetadata.";

    /// <summary>The block, checked: absolute URLs, a grant and response type ForwardAuth can use, a client authentication it can do.</summary>
    public static ClientRegistrationOptions Read(SettingReader r, string callbackUrl, string postLogoutRedirectUri, string tokenEndpointAuthMethod)
    {
        if (!r.Boolean(Block + ".enabled"))
        {
            return ClientRegistrationOptions.Disabled;
        }

        var endpoint = ProviderSettings.EndpointUrl(r, Block + ".registrationEndpoint");
        var redirectUris = Uris(r, "redirect_uris", callbackUrl);
        if (redirectUris.Count == 0)
        {
            r.Fail(Meta + "redirect_uris", "is required when callbackURL is a path: list the callback URL of every protected host (https://app.example.com/oauth2/callback)");
        }

        var grantTypes = r.List(Meta + "grant_types");
        if (!grantTypes.Contains("authorization_code", StringComparer.Ordinal))
        {
            r.Fail(Meta + "grant_types", "must include authorization_code (ForwardAuth logs users in with the code flow)");
        }

        var responseTypes = r.List(Meta + "response_types");
        if (!responseTypes.Contains("code", StringComparer.Ordinal))
        {
            r.Fail(Meta + "response_types", "must include code");
        }

        var authMethod = r.Text(Meta + "token_endpoint_auth_method");
        if (authMethod.Length == 0)
        {
            authMethod = tokenEndpointAuthMethod;
        }
        else if (authMethod is not ("client_secret_basic" or "client_secret_post"))
        {
            r.Fail(Meta + "token_endpoint_auth_method", $"'{authMethod}' is not supported: use client_secret_basic or client_secret_post");
        }
        else if (r.IsSet("tokenEndpointAuthMethod") && authMethod != tokenEndpointAuthMethod)
        {
            r.Fail(Meta + "token_endpoint_auth_method", $"'{authMethod}' disagrees with tokenEndpointAuthMethod '{tokenEndpointAuthMethod}': the client must authenticate the way it registered");
        }

        var applicationType = r.Text(Meta + "application_type");
        if (applicationType is not ("web" or "native"))
        {
            r.Fail(Meta + "application_type", $"'{applicationType}' is neither web nor native");
        }

        var metadata = new ClientMetadata(
            redirectUris,
            Uris(r, "post_logout_redirect_uris", postLogoutRedirectUri),
            r.Text(Meta + "client_name"),
            applicationType,
            grantTypes,
            responseTypes,
            authMethod,
            r.Text(Meta + "scope"),
            r.List(Meta + "contacts"),
            Url(r, "logo_uri"),
            Url(r, "client_uri"),
            Url(r, "policy_uri"),
            Url(r, "tos_uri"),
            Url(r, "jwks_uri"),
            r.Text(Meta + "subject_type"),
            r.List(Meta + "default_acr_values"),
            r.IsSet(Meta + "default_max_age") ? r.Int32(Meta + "default_max_age") : null,
            r.Boolean(Meta + "require_auth_time"));
        return new ClientRegistrationOptions(true, r.Text(Block + ".initialAccessToken"), endpoint, metadata);
    }

    // The configured list, or the single setting it defaults from when that one is an absolute URL.
    private static IReadOnlyList<string> Uris(SettingReader r, string name, string fallback)
    {
        var configured = r.List(Meta + name);
        foreach (var uri in configured)
        {
            if (!ConfigurationLoader.TryAbsoluteUri(uri, out var u) || u.Scheme is not ("https" or "http") || u.Fragment.Length > 0)
            {
                r.Fail(Meta + name, $"'{uri}' is not an absolute URL without a fragment");
            }
        }

        if (configured.Count > 0)
        {
            return configured;
        }

        return ConfigurationLoader.TryAbsoluteUri(fallback, out var f) && f.Scheme is "https" or "http" ? [fallback] : [];
    }

    private static string Url(SettingReader r, string name)
    {
        var text = r.Text(Meta + name);
        if (text.Length > 0 && (!ConfigurationLoader.TryAbsoluteUri(text, out var u) || u.Scheme is not ("https" or "http")))
        {
            r.Fail(Meta + name, $"'{text}' is not an absolute URL");
        }

        return text;
    }
}
