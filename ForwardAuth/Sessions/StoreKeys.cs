using System.Security.Cryptography;
using System.Text;

namespace ForwardAuth.Sessions;

/// <summary>
/// The kinds of key Sessions keeps in the shared store (<c>&lt;kind&gt;:&lt;id&gt;</c>; the store adds its
/// <c>keyPrefix</c>). Ids are SHA-256 hashes so that no raw token, state or cookie value is ever a key. The store gives
/// no kind a meaning: what a key guarantees comes from the operation used on it.
/// </summary>
internal static class StoreKeys
{
    public const string Session = "session";

    /// <summary>A session's token record, under the same hash as its hot record (<see cref="SessionRecords"/>).</summary>
    public const string Tokens = "tokens";
    public const string Once = "once";
    public const string Lease = "lease";
    public const string Revoked = "revoked";
    public const string Index = "index";
    public const string Failures = "failures";
    public const string Ban = "ban";
    public const string Registration = "registration";
    public const string Ticket = "ticket";

    public static string For(string kind, string secretId) => kind + ":" + Hash(secretId);

    /// <summary>The key of an id that is already a hash (a member of a session index).</summary>
    public static string ForHash(string kind, string hash) => kind + ":" + hash;

    public static string Hash(string value)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), digest);
        return Convert.ToHexStringLower(digest);
    }
}
