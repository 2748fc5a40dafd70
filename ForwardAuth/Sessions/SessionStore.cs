using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>A session found for a cookie: from the store's record, or decided from the sealed cookie alone.</summary>
internal sealed record ResolvedSession(string Handle, SessionRecord Record, bool FromCookieOnly);

/// <summary>
/// Server-side sessions. The store's record decides when it is there; when the store lacks it or cannot be reached, a
/// valid sealed cookie decides unless its handle is known revoked, and the session is adopted into the store (without
/// tokens). Reading a session writes nothing else. Store keys are hashes of the handle and records are encrypted, so
/// the store alone reveals neither tokens, claims nor a usable cookie.
/// </summary>
internal sealed class SessionStore(
    ICacheBackend cache,
    SessionCookie cookie,
    ForwardAuthOptions options,
    TimeProvider time,
    ILogger<SessionStore> logger)
{
    private readonly KeyRing _recordKeys = new(options.SessionEncryptionKeys, "store");

    public string CookieName => cookie.Name;

    /// <summary>Stores a new session under a fresh random handle and returns the sealed cookie value.</summary>
    public async Task<string> CreateAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        var handle = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken).ConfigureAwait(false);
        return cookie.Seal(ToCookie(handle, record));
    }

    public async Task<ResolvedSession?> ResolveAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        var payload = cookie.TryOpen(cookieValue);
        if (payload is null)
        {
            if (!string.IsNullOrEmpty(cookieValue))
            {
                Log.CookieRejected(logger, "not sealed by this deployment's keys");
            }

            return null;
        }

        var now = time.GetUtcNow();
        if (payload.ExpiresAt <= now.ToUnixTimeSeconds())
        {
            Log.CookieRejected(logger, "expired");
            return null;
        }

        var key = CacheKeys.For(CacheKeys.Session, payload.Handle);
        try
        {
            var sealedRecord = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (sealedRecord is not null)
            {
                var record = OpenRecord(key, sealedRecord);
                return record is not null && record.ExpiresAt > now ? new ResolvedSession(payload.Handle, record, false) : null;
            }

            if (await cache.ExistsAsync(CacheKeys.For(CacheKeys.Revoked, payload.Handle), cancellationToken).ConfigureAwait(false))
            {
                Log.CookieRejected(logger, "session was logged out");
                return null;
            }

            // Only if absent: a full record written meanwhile (or replayed after an outage) must not be clobbered.
            var adopted = FromCookie(payload);
            await WriteAsync(payload.Handle, adopted, onlyIfAbsent: true, cancellationToken).ConfigureAwait(false);
            Log.SessionAdopted(logger, adopted.Identifier);
            return new ResolvedSession(payload.Handle, adopted, true);
        }
        catch (CacheUnavailableException e)
        {
            // The store cannot answer: the sealed cookie decides (no mass logout), nothing is written.
            Log.StoreUnavailable(logger, "session lookup", e.Message);
            return new ResolvedSession(payload.Handle, FromCookie(payload), true);
        }
    }

    /// <summary>
    /// Ends a session everywhere: deletes the record and leaves a revocation marker that outlives the cookie, so the
    /// logged-out cookie is never adopted again.
    /// </summary>
    public async Task EndAsync(string handle, DateTimeOffset cookieExpiresAt, CancellationToken cancellationToken)
    {
        var remaining = cookieExpiresAt - time.GetUtcNow() + TimeSpan.FromMinutes(5);
        await cache.SetAsync(CacheKeys.For(CacheKeys.Revoked, handle), "1"u8.ToArray(), remaining, cancellationToken).ConfigureAwait(false);
        await cache.DeleteAsync(CacheKeys.For(CacheKeys.Session, handle), cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAsync(string handle, SessionRecord record, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var key = CacheKeys.For(CacheKeys.Session, handle);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SessionRecord);
        var ttl = record.ExpiresAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var sealedRecord = _recordKeys.Seal(json, Encoding.ASCII.GetBytes(key));
        if (onlyIfAbsent)
        {
            await cache.AddIfAbsentAsync(key, sealedRecord, ttl, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await cache.SetAsync(key, sealedRecord, ttl, cancellationToken).ConfigureAwait(false);
        }
    }

    // The store key is the associated data: a record copied under another handle's key does not open.
    private SessionRecord? OpenRecord(string key, byte[] sealedRecord) =>
        _recordKeys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out _)
            ? JsonSerializer.Deserialize(json, SessionJsonContext.Default.SessionRecord)
            : null;

    private static CookiePayload ToCookie(string handle, SessionRecord record) => new(
        handle,
        record.Subject,
        record.Identifier,
        record.Email,
        record.PreferredUsername,
        record.Groups,
        record.IssuedAt.ToUnixTimeSeconds(),
        record.ExpiresAt.ToUnixTimeSeconds());

    private static SessionRecord FromCookie(CookiePayload payload) => new()
    {
        Subject = payload.Subject,
        Identifier = payload.Identifier ?? payload.Subject,
        Email = payload.Email,
        PreferredUsername = payload.PreferredUsername,
        Groups = payload.Groups,
        IssuedAt = DateTimeOffset.FromUnixTimeSeconds(payload.IssuedAt),
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(payload.ExpiresAt),
        Adopted = true,
    };
}
