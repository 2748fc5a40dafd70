using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace ForwardAuth.Oidc;

/// <summary>
/// Bearer tokens already validated, by a hash of the token, for <c>tokenMetadataTTL</c> — never past the token's own
/// <c>exp</c>, and never an invalid one. Saves the signature check on every request of an API client reusing its token;
/// revocation is still checked on every request.
/// </summary>
internal sealed class ValidatedTokenCache(TimeProvider time, TimeSpan ttl, int maxEntries = 10_000)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public TokenCheck? Get(string token)
    {
        if (!_entries.TryGetValue(Key(token), out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt > time.GetUtcNow())
        {
            return entry.Check;
        }

        _entries.TryRemove(Key(token), out _);
        return null;
    }

    public void Add(string token, TokenCheck check, DateTimeOffset tokenExpiresAt)
    {
        if (!check.IsValid)
        {
            return;
        }

        var expiresAt = time.GetUtcNow() + ttl;
        if (tokenExpiresAt < expiresAt)
        {
            expiresAt = tokenExpiresAt;
        }

        if (_entries.Count >= maxEntries)
        {
            // Full: start over rather than track recency; revalidating is only a signature check.
            _entries.Clear();
        }

        _entries[Key(token)] = new Entry(check, expiresAt);
    }

    private static string Key(string token) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private sealed record Entry(TokenCheck Check, DateTimeOffset ExpiresAt);
}
