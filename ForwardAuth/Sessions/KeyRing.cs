using System.Security.Cryptography;
using System.Text;

namespace ForwardAuth.Sessions;

/// <summary>
/// AES-256-GCM sealing with keys derived (HKDF-SHA256) from the configured <c>sessionEncryptionKey</c> list, one key
/// set per purpose (cookie, store) so that a value sealed for one use never opens in another. The first key seals;
/// every key opens, chosen by the 4-byte key id in the envelope: <c>[1 version][4 key id][12 nonce][ciphertext][16 tag]</c>.
/// </summary>
internal sealed class KeyRing
{
    private const byte Version = 1;
    private const int IdSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    public const int Overhead = 1 + IdSize + NonceSize + TagSize;

    private static readonly byte[] Salt = Encoding.ASCII.GetBytes("ForwardAuth/session-keys/v1");
    private readonly DerivedKey[] _keys;

    public KeyRing(IReadOnlyList<string> secrets, string purpose)
    {
        if (secrets.Count == 0)
        {
            throw new ArgumentException("at least one key is required", nameof(secrets));
        }

        var info = Encoding.ASCII.GetBytes(purpose);
        _keys = secrets.Select(s => DerivedKey.From(s, info)).ToArray();
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var key = _keys[0];
        var output = new byte[Overhead + plaintext.Length];
        output[0] = Version;
        key.Id.CopyTo(output.AsSpan(1, IdSize));
        var nonce = output.AsSpan(1 + IdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        key.Cipher.Encrypt(nonce, plaintext, output.AsSpan(1 + IdSize + NonceSize, plaintext.Length), output.AsSpan(output.Length - TagSize), associatedData);
        return output;
    }

    /// <summary>Opens an envelope; false for anything not sealed by one of our keys with this associated data.</summary>
    public bool TryOpen(ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> associatedData, out byte[] plaintext, out bool sealedWithPrimary)
    {
        plaintext = [];
        sealedWithPrimary = false;
        if (envelope.Length < Overhead || envelope[0] != Version)
        {
            return false;
        }

        var id = envelope.Slice(1, IdSize);
        foreach (var key in _keys)
        {
            if (!id.SequenceEqual(key.Id))
            {
                continue;
            }

            var body = new byte[envelope.Length - Overhead];
            try
            {
                key.Cipher.Decrypt(envelope.Slice(1 + IdSize, NonceSize), envelope.Slice(1 + IdSize + NonceSize, body.Length), envelope[^TagSize..], body, associatedData);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }

            plaintext = body;
            sealedWithPrimary = ReferenceEquals(key, _keys[0]);
            return true;
        }

        return false;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "CA1001:Types that own disposable fields should be disposable",
        Justification = "A key ring lives as long as the process (its owners are singletons); its ciphers end with it.")]
    private sealed class DerivedKey(byte[] key, byte[] id)
    {
        // One AesGcm per thread: the key schedule is set up once, not on every request (AesGcm is not thread-safe).
        private readonly ThreadLocal<AesGcm> _cipher = new(() => new AesGcm(key, TagSize));

        public byte[] Id { get; } = id;

        public AesGcm Cipher => _cipher.Value!;

        public static DerivedKey From(string secret, byte[] info)
        {
            var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, Salt, info);
            var id = SHA256.HashData([.. key, .. "key-id"u8])[..IdSize];
            return new DerivedKey(key, id);
        }
    }
}
