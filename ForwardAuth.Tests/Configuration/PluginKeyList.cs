using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// Every key of the traefikoidc plugin, taken from the json tags of its settings.go (<c>Config</c>,
/// <c>RedisConfig</c>, <c>DynamicClientRegistrationConfig</c>, <c>ClientRegistrationMetadata</c>,
/// <c>SecurityHeadersConfig</c>, <c>TemplatedHeader</c>) at v0.8.25 (commit 2d1b04c637a5324bdf45b36807298f1d18eb890c,
/// github.com/lukaszraczylo/traefikoidc), each with a value a plugin user could have set. <c>HTTPClient</c>
/// (<c>json:"-"</c>) is not a key. Nested keys are dotted paths.
/// </summary>
internal static class PluginKeyList
{
    public const string Version = "v0.8.25 (2d1b04c637a5324bdf45b36807298f1d18eb890c)";

    /// <summary>Top-level keys of <c>Config</c>, in settings.go's order, with the nested ones below their parent.</summary>
    public static IReadOnlyList<(string Path, string Yaml)> Keys(string caCertPath, string caCertPem) =>
    [
        ("dynamicClientRegistration.enabled", "true"),
        ("dynamicClientRegistration.persistCredentials", "true"),
        ("dynamicClientRegistration.initialAccessToken", "initial-access-token"),
        ("dynamicClientRegistration.registrationEndpoint", "https://id.example.com/register"),
        ("dynamicClientRegistration.credentialsFile", "/tmp/oidc-client-credentials.json"),
        ("dynamicClientRegistration.storageBackend", "redis"),
        ("dynamicClientRegistration.redisKeyPrefix", "'dcr:'"),
        ("dynamicClientRegistration.clientMetadata.redirect_uris", "['https://app.example.com/oauth2/callback']"),
        ("dynamicClientRegistration.clientMetadata.token_endpoint_auth_method", "client_secret_basic"),
        ("dynamicClientRegistration.clientMetadata.tos_uri", "https://example.com/tos"),
        ("dynamicClientRegistration.clientMetadata.scope", "openid profile email"),
        ("dynamicClientRegistration.clientMetadata.application_type", "web"),
        ("dynamicClientRegistration.clientMetadata.subject_type", "public"),
        ("dynamicClientRegistration.clientMetadata.client_name", "My App"),
        ("dynamicClientRegistration.clientMetadata.logo_uri", "https://example.com/logo.png"),
        ("dynamicClientRegistration.clientMetadata.client_uri", "https://example.com"),
        ("dynamicClientRegistration.clientMetadata.policy_uri", "https://example.com/policy"),
        ("dynamicClientRegistration.clientMetadata.jwks_uri", "https://example.com/jwks"),
        ("dynamicClientRegistration.clientMetadata.response_types", "[code]"),
        ("dynamicClientRegistration.clientMetadata.contacts", "[admin@example.com]"),
        ("dynamicClientRegistration.clientMetadata.default_acr_values", "['urn:mace:incommon:iap:silver']"),
        ("dynamicClientRegistration.clientMetadata.grant_types", "[authorization_code, refresh_token]"),
        ("dynamicClientRegistration.clientMetadata.default_max_age", "3600"),
        ("dynamicClientRegistration.clientMetadata.require_auth_time", "false"),
        ("redis.keyPrefix", "traefikoidc"),
        ("redis.address", "redis.example.com:6379"),
        ("redis.password", "the-redis-password"),
        ("redis.cacheMode", "hybrid"),
        ("redis.writeTimeout", "3"),
        ("redis.circuitBreakerThreshold", "5"),
        ("redis.connectTimeout", "5"),
        ("redis.readTimeout", "3"),
        ("redis.poolSize", "10"),
        ("redis.healthCheckInterval", "30"),
        ("redis.circuitBreakerTimeout", "60"),
        ("redis.db", "0"),
        ("redis.hybridL1Size", "500"),
        ("redis.hybridL1MemoryMB", "10"),
        ("redis.enabled", "true"),
        ("redis.enableCircuitBreaker", "true"),
        ("redis.tlsSkipVerify", "false"),
        ("redis.enableHealthCheck", "true"),
        ("redis.enableTLS", "false"),
        ("securityHeaders.customHeaders.X-Custom", "value"),
        ("securityHeaders.permissionsPolicy", "geolocation=()"),
        ("securityHeaders.profile", "default"),
        ("securityHeaders.contentSecurityPolicy", "default-src 'self'"),
        ("securityHeaders.crossOriginResourcePolicy", "same-origin"),
        ("securityHeaders.crossOriginOpenerPolicy", "same-origin"),
        ("securityHeaders.crossOriginEmbedderPolicy", "require-corp"),
        ("securityHeaders.frameOptions", "DENY"),
        ("securityHeaders.contentTypeOptions", "nosniff"),
        ("securityHeaders.xssProtection", "1; mode=block"),
        ("securityHeaders.referrerPolicy", "strict-origin-when-cross-origin"),
        ("securityHeaders.corsAllowedHeaders", "[Authorization]"),
        ("securityHeaders.corsAllowedOrigins", "['https://app.example.com']"),
        ("securityHeaders.corsAllowedMethods", "[GET, POST]"),
        ("securityHeaders.strictTransportSecurityMaxAge", "31536000"),
        ("securityHeaders.corsMaxAge", "86400"),
        ("securityHeaders.strictTransportSecurityPreload", "true"),
        ("securityHeaders.strictTransportSecuritySubdomains", "true"),
        ("securityHeaders.corsEnabled", "false"),
        ("securityHeaders.enabled", "true"),
        ("securityHeaders.corsAllowCredentials", "false"),
        ("securityHeaders.strictTransportSecurity", "true"),
        ("securityHeaders.disableServerHeader", "true"),
        ("securityHeaders.disablePoweredByHeader", "true"),
        ("postLogoutRedirectURI", "/"),
        ("logLevel", "info"),
        ("logoutURL", "/oauth2/logout"),
        ("clientID", "forwardauth"),
        ("clientSecret", "the-client-secret-from-the-provider"),
        ("audience", "forwardauth"),
        ("cookiePrefix", "_oidc_raczylo_"),
        ("callbackURL", "/oauth2/callback"),
        ("sessionEncryptionKey", "a-random-key-of-at-least-32-characters"),
        ("providerURL", "https://id.example.com/realms/example"),
        ("revocationURL", "https://id.example.com/realms/example/revoke"),
        ("userIdentifierClaim", "email"),
        ("groupClaimName", "groups"),
        ("roleClaimName", "roles"),
        ("cookieDomain", "example.com"),
        ("oidcEndSessionURL", "https://id.example.com/realms/example/logout"),
        ("scopes", "[openid, profile, email]"),
        ("allowedRolesAndGroups", "[staff]"),
        ("excludedURLs", "[/healthz]"),
        ("allowedUserDomains", "[example.com]"),
        ("allowedUsers", "[alice@example.com]"),
        ("headers", "[{name: X-User-Email, value: '{{.Claims.email}}'}]"),
        ("refreshGracePeriodSeconds", "60"),
        ("sessionMaxAge", "86400"),
        ("rateLimit", "100"),
        ("overrideScopes", "false"),
        ("disableReplayDetection", "false"),
        ("requireTokenIntrospection", "false"),
        ("allowOpaqueTokens", "false"),
        ("strictAudienceValidation", "true"),
        ("enablePKCE", "true"),
        ("forceHTTPS", "true"),
        ("allowPrivateIPAddresses", "true"),
        ("minimalHeaders", "false"),
        ("stripAuthCookies", "false"),
        ("enableBackchannelLogout", "true"),
        ("enableFrontchannelLogout", "true"),
        ("backchannelLogoutURL", "/oauth2/backchannel-logout"),
        ("frontchannelLogoutURL", "/oauth2/frontchannel-logout"),
        ("caCertPath", caCertPath),
        ("caCertPEM", caCertPem),
        ("insecureSkipVerify", "false"),
    ];

    /// <summary>The keys as one YAML document (nested keys under their parents; a multi-line value as a block scalar).</summary>
    public static string Yaml(IEnumerable<(string Path, string Yaml)> keys)
    {
        var sb = new StringBuilder();
        var open = new List<string>();
        foreach (var (path, value) in keys)
        {
            var parts = path.Split('.');
            var common = 0;
            while (common < open.Count && common < parts.Length - 1 && open[common] == parts[common])
            {
                common++;
            }

            open.RemoveRange(common, open.Count - common);
            for (var i = common; i < parts.Length - 1; i++)
            {
                sb.Append(' ', i * 2).Append(parts[i]).Append(":\n");
                open.Add(parts[i]);
            }

            var indent = new string(' ', (parts.Length - 1) * 2);
            if (value.Contains('\n', StringComparison.Ordinal))
            {
                sb.Append(indent).Append(parts[^1]).Append(": |\n");
                foreach (var line in value.TrimEnd('\n').Split('\n'))
                {
                    sb.Append(indent).Append("  ").Append(line).Append('\n');
                }
            }
            else
            {
                sb.Append(indent).Append(parts[^1]).Append(": ").Append(value).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>A self-signed CA certificate in PEM, for <c>caCertPath</c> / <c>caCertPEM</c>.</summary>
    public static string CaCertificatePem(string name = "plugin-keys test CA")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return certificate.ExportCertificatePem();
    }
}
