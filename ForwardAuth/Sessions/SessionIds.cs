using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// What My sessions may show of a session: a public id (HMAC-SHA256 of the handle's hash under a key derived from the
/// first <c>sessionEncryptionKey</c>) that is neither the handle, nor the store key, nor usable to find either; and the
/// CSRF token of a session's page (another derived key, so neither value can be made from the other). Both are stable
/// for a session's life (a key rotation changes them: the page is simply loaded again). Sessions written before this
/// version have them too: they derive from the handle alone.
/// </summary>
internal sealed class SessionIds(ForwardAuthOptions options)
{
    private static readonly byte[] Salt = Encoding.ASCII.GetBytes("ForwardAuth/session-ids/v1");
    private readonly byte[] _idKey = Derive(options, "public-id");
    private readonly byte[] _csrfKey = Derive(options, "csrf");

    /// <summary>The session's public id (22 characters of base64url).</summary>
    public string PublicIdOf(string handleHash) => Mac(_idKey, handleHash, 16);

    /// <summary>The CSRF token bound to the session (43 characters of base64url).</summary>
    public string CsrfTokenOf(string handleHash) => Mac(_csrfKey, handleHash, 32);

    /// <summary>True when <paramref name="token"/> is the session's CSRF token (compared in constant time).</summary>
    public bool IsCsrfTokenOf(string handleHash, string? token) =>
        token is { Length: > 0 and <= 100 }
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(CsrfTokenOf(handleHash)), Encoding.UTF8.GetBytes(token));

    private static byte[] Derive(ForwardAuthOptions options, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.SessionEncryptionKeys[0]), 32, Salt, Encoding.ASCII.GetBytes(purpose));

    private static string Mac(byte[] key, string handleHash, int length) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(handleHash)).AsSpan(0, length));
}
