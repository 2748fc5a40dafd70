using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// Pending logins: one record per attempt, keyed by a hash of its random <c>state</c>, so any number may be pending
/// from one browser and none overwrites another. Consumed atomically: of all replicas, exactly one gets it.
/// </summary>
internal sealed class LoginStore(ICacheBackend cache, ForwardAuthOptions options)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "login");

    /// <summary>Stores the record and returns its new <c>state</c>.</summary>
    public async Task<string> CreateAsync(LoginRecord record, CancellationToken cancellationToken)
    {
        var state = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var key = StoreKeys.For(StoreKeys.Login, state);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.LoginRecord);
        await cache.SetAsync(key, _keys.Seal(json, Encoding.ASCII.GetBytes(key)), Lifetime, cancellationToken).ConfigureAwait(false);
        return state;
    }

    /// <summary>Reads without consuming (to check the browser binding before anyone can burn the state).</summary>
    public async Task<LoginRecord?> PeekAsync(string state, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Login, state);
        return Open(key, await cache.GetAsync(key, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Takes the record atomically; null when it is gone, expired or already taken by another replica.</summary>
    public async Task<LoginRecord?> ConsumeAsync(string state, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Login, state);
        return Open(key, await cache.GetAndDeleteAsync(key, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A short, non-secret id of a login for cookie names and logs.</summary>
    public static string IdOf(string state) => StoreKeys.Hash(state)[..16];

    private LoginRecord? Open(string key, byte[]? sealedRecord)
    {
        if (sealedRecord is null || !_keys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out _))
        {
            return null;
        }

        return JsonSerializer.Deserialize(json, SessionJsonContext.Default.LoginRecord);
    }
}
