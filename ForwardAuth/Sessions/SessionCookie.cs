using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text.Json;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// The session cookie: an AES-GCM envelope around <see cref="CookiePayload"/>, base64url-encoded. A few hundred bytes,
/// never chunked: when the groups would push it past ~3 KB it keeps only the handle and subject.
/// </summary>
internal sealed class SessionCookie(ForwardAuthOptions options)
{
    // 2,200 bytes of payload become ~3 KB of base64 with the envelope; browsers allow 4 KB per cookie.
    internal const int MaxPayloadBytes = 2200;
    private static readonly byte[] AssociatedData = "forwardauth-session-cookie"u8.ToArray();
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "cookie");

    // Performance: the same cookie arrives with every request of a session, and opening it (base64url, AES-GCM, JSON:
    // ~1.6 µs and 1.4 KB per request) is a pure function of its exact value and of this instance's keys. Cookies that
    // opened are remembered by value, so each is decrypted once. Only successes are kept (garbage cannot fill it), the
    // payload is immutable, and the caller still checks expiry and revocation on every request. Bounded: cleared when full.
    internal const int OpenedCacheSize = 10_000;
    private readonly ConcurrentDictionary<string, (CookiePayload Payload, bool SealedWithOldKey)> _opened = new(StringComparer.Ordinal);

    public string Name { get; } = options.CookiePrefix + "session";

    public string Seal(CookiePayload payload)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, SessionJsonContext.Default.CookiePayload);
        if (json.Length > MaxPayloadBytes)
        {
            var minimal = payload with { Identifier = null, Email = null, PreferredUsername = null, Groups = null };
            json = JsonSerializer.SerializeToUtf8Bytes(minimal, SessionJsonContext.Default.CookiePayload);
        }

        return Base64Url.EncodeToString(_keys.Seal(json, AssociatedData));
    }

    /// <summary>Null for anything that is not a cookie we sealed (tampered, truncated, other key, garbage).</summary>
    public CookiePayload? TryOpen(string? value) => TryOpen(value, out _);

    /// <summary>As <see cref="TryOpen(string?)"/>; also tells whether an older key sealed it (re-issue it then).</summary>
    public CookiePayload? TryOpen(string? value, out bool sealedWithOldKey)
    {
        sealedWithOldKey = false;
        if (string.IsNullOrEmpty(value) || value.Length > 8192 || !Base64Url.IsValid(value))
        {
            return null;
        }

        if (_opened.TryGetValue(value, out var known))
        {
            sealedWithOldKey = known.SealedWithOldKey;
            return known.Payload;
        }

        if (!_keys.TryOpen(Base64Url.DecodeFromChars(value), AssociatedData, out var json, out var primary))
        {
            return null;
        }

        sealedWithOldKey = !primary;

        try
        {
            var payload = JsonSerializer.Deserialize(json, SessionJsonContext.Default.CookiePayload);
            if (payload is not { Handle.Length: > 0, Subject.Length: > 0 })
            {
                return null;
            }

            if (_opened.Count >= OpenedCacheSize)
            {
                _opened.Clear();
            }

            _opened[value] = (payload, sealedWithOldKey);
            return payload;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
