using System.Security.Cryptography;
using System.Text;

namespace ForwardAuth.Cache;

/// <summary>
/// Key kinds of the shared store. Ids are SHA-256 hashes so that no raw token, state or cookie value is ever a key.
/// </summary>
internal static class CacheKeys
{
    public const string Session = "session";
    public const string Login = "login";
    public const string Once = "once";
    public const string Lease = "lease";
    public const string Revoked = "revoked";
    public const string Index = "index";

    public static string For(string kind, string secretId) => kind + ":" + Hash(secretId);

    /// <summary>The key of an id that is already a hash (a member of a session index).</summary>
    public static string ForHash(string kind, string hash) => kind + ":" + hash;

    /// <summary>Single-use markers and leases: always atomic in Redis, never served from a local L1.</summary>
    public static bool IsSingleUse(string key) => key.StartsWith(Once + ":", StringComparison.Ordinal) || key.StartsWith(Lease + ":", StringComparison.Ordinal);

    public static string Hash(string value)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), digest);
        return Convert.ToHexStringLower(digest);
    }
}
