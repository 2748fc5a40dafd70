namespace ForwardAuth.Configuration;

/// <summary>A traefikoidc plugin key a source set that ForwardAuth does not implement, and what to use instead.</summary>
internal sealed record PluginKeyNotice(string Key, string Source, string Instead);

/// <summary>
/// The traefikoidc plugin's keys (its settings.go <c>Config</c>, v0.8.25) that ForwardAuth does not read, each with
/// what to use instead. A key set in a source is reported at start with this text (Warning, event 406) rather than as
/// an unknown key, so none is dropped silently. Keys below a listed one (<c>securityHeaders.frameOptions</c>) share
/// its text. The migration guide's table (docs/migration-from-traefikoidc.md) says the same.
/// </summary>
internal static class PluginKeyNotices
{
    private static readonly Dictionary<string, string> Instead = new(StringComparer.OrdinalIgnoreCase)
    {
        ["securityHeaders"] = "a forwardAuth service never sees the app's response, so it cannot add response headers: use a Traefik `headers` middleware on the same routers (examples/traefik/dynamic.yml, middleware security-headers)",
        ["enableBackchannelLogout"] = "back-channel logout is always on at backchannelLogoutURL (default /oauth2/backchannel-logout); the key is not needed",
        ["dynamicClientRegistration.persistCredentials"] = "the registration is always kept: in the shared store (Redis when enabled, else this process's memory), sealed with sessionEncryptionKey, until its secret expires",
        ["dynamicClientRegistration.storageBackend"] = "the registration is always kept in the shared store (Redis when redis.enabled), so every replica uses one client; there is no file backend",
        ["dynamicClientRegistration.credentialsFile"] = "no credentials file: the registration is kept in the shared store, sealed with sessionEncryptionKey (a secret on disk would be one more thing to protect)",
        ["dynamicClientRegistration.redisKeyPrefix"] = "the registration's key is <redis.keyPrefix>:registration:<hash>; set redis.keyPrefix for the whole store",
        ["redis.connectTimeout"] = "use redis.dialTimeout (seconds)",
        ["redis.enableTLS"] = "use redis.tls.enabled",
        ["redis.tlsSkipVerify"] = "use redis.tls.insecureSkipVerify",
        ["redis.enableCircuitBreaker"] = "the circuit breaker is always on: redis.circuitBreakerThreshold and redis.circuitBreakerTimeout tune it",
        ["redis.enableHealthCheck"] = "the background health check always runs: redis.healthCheckInterval sets its period",
        ["redis.hybridL1Size"] = "use redis.localCacheMaxEntries",
        ["redis.hybridL1MemoryMB"] = "the local cache is bounded by entries, not memory: redis.localCacheMaxEntries",
    };

    /// <summary>What to use instead of this plugin key (or a key below one), or null when it is not a plugin key.</summary>
    public static string? For(string path)
    {
        for (var key = path; key.Length > 0; key = key.Contains('.', StringComparison.Ordinal) ? key[..key.LastIndexOf('.')] : "")
        {
            if (Instead.TryGetValue(key, out var text))
            {
                return text;
            }
        }

        return null;
    }
}
