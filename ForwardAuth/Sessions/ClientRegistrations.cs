using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;

namespace ForwardAuth.Sessions;

/// <summary>
/// The dynamically registered client in the shared store: one record per fingerprint (provider + metadata), sealed
/// with the session keys (the client secret is never readable from the store alone), kept until the secret expires
/// (or ten years when it never does). The registering replica holds a lease so that replicas starting together
/// register once.
/// </summary>
internal sealed class ClientRegistrations(ICacheBackend cache, ForwardAuthOptions options, TimeProvider time) : IClientRegistrationStore
{
    private static readonly TimeSpan NoExpiry = TimeSpan.FromDays(3650);
    private static readonly byte[] LeaseValue = Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N"));
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "client-registration");

    public async Task<StoredRegistration?> LoadAsync(string fingerprint, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Registration, fingerprint);
        var sealedRecord = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (sealedRecord is null || !_keys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out var sealedWithPrimary))
        {
            return null;
        }

        var registration = JsonSerializer.Deserialize(json, RegistrationJsonContext.Default.StoredRegistration);
        if (registration is not null && !sealedWithPrimary)
        {
            await SaveAsync(fingerprint, registration, cancellationToken).ConfigureAwait(false); // re-sealed with the current key
        }

        return registration;
    }

    public async Task<bool> TryClaimAsync(string fingerprint, TimeSpan ttl, CancellationToken cancellationToken) =>
        await cache.AddIfAbsentAsync(LeaseKey(fingerprint), LeaseValue, ttl, Guarantee.AcrossReplicas, cancellationToken).ConfigureAwait(false) == AddResult.Added;

    public async Task SaveAsync(string fingerprint, StoredRegistration registration, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Registration, fingerprint);
        var json = JsonSerializer.SerializeToUtf8Bytes(registration, RegistrationJsonContext.Default.StoredRegistration);
        var ttl = registration.SecretExpiresAt == 0
            ? NoExpiry
            : DateTimeOffset.FromUnixTimeSeconds(registration.SecretExpiresAt) - time.GetUtcNow();
        if (ttl > TimeSpan.Zero)
        {
            await cache.SetAsync(key, _keys.Seal(json, Encoding.ASCII.GetBytes(key)), ttl, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task ReleaseAsync(string fingerprint, CancellationToken cancellationToken) =>
        cache.DeleteIfValueAsync(LeaseKey(fingerprint), LeaseValue, cancellationToken);

    private static string LeaseKey(string fingerprint) => StoreKeys.For(StoreKeys.Lease, "client-registration\n" + fingerprint);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredRegistration))]
internal sealed partial class RegistrationJsonContext : JsonSerializerContext;
