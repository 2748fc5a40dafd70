using System.Buffers.Text;
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

        if (!_keys.TryOpen(Base64Url.DecodeFromChars(value), AssociatedData, out var json, out var primary))
        {
            return null;
        }

        sealedWithOldKey = !primary;

        try
        {
            var payload = JsonSerializer.Deserialize(json, SessionJsonContext.Default.CookiePayload);
            return payload is { Handle.Length: > 0, Subject.Length: > 0 } ? payload : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
