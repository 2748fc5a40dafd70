using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>A session found for a cookie: from the store's record, or decided from the sealed cookie alone.</summary>
/// <param name="ReissuedCookie">A cookie sealed again under the current key, when an older key had sealed it.</param>
internal sealed record ResolvedSession(string Handle, SessionRecord Record, bool FromCookieOnly, string? ReissuedCookie = null);

/// <summary>
/// Server-side sessions. The store's record decides when it is there; when the store lacks it or cannot be reached, a
/// valid sealed cookie decides unless its handle is known revoked, and the session is adopted into the store (without
/// tokens). Store keys are hashes of the handle and records are encrypted, so the store alone reveals neither tokens,
/// claims nor a usable cookie. Each session is indexed by its provider session id (<c>sid</c>) and subject, so a
/// back-channel logout can end all of them.
/// </summary>
internal sealed class SessionStore(
    ICacheBackend cache,
    SessionCookie cookie,
    ForwardAuthOptions options,
    TimeProvider time,
    ILogger<SessionStore> logger,
    ForwardAuthMetrics? metrics = null)
{
    // A revocation marker outlives the cookie it revokes by this margin (clock differences between replicas).
    private static readonly TimeSpan RevocationMargin = TimeSpan.FromMinutes(5);
    private readonly KeyRing _recordKeys = new(options.SessionEncryptionKeys, "store");

    // Performance: opening a session record (AES-GCM over ~2 KB, then JSON with three tokens: ~4 µs and 8.6 KB per
    // request) is a pure function of its store key and its exact sealed bytes. The last record opened per key is kept
    // with the bytes it came from; a read that returns the same bytes (the same array from memory mode or the hybrid
    // L1, an equal copy from Redis) reuses it, anything else is opened afresh. A changed, deleted or re-sealed record
    // therefore never matches. Records are immutable. Bounded: cleared when full.
    internal const int OpenedRecordCacheSize = 10_000;
    private readonly ConcurrentDictionary<string, OpenedRecord> _openedRecords = new(StringComparer.Ordinal);

    public string CookieName => cookie.Name;

    /// <summary>Stores a new session under a fresh random handle and returns the sealed cookie value.</summary>
    public async Task<string> CreateAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        var handle = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken).ConfigureAwait(false);
        var handleHash = StoreKeys.Hash(handle);
        var indexTtl = record.ExpiresAt - time.GetUtcNow();
        if (record.Sid is { Length: > 0 } sid)
        {
            await cache.SetAddAsync(IndexKey("sid", sid), handleHash, indexTtl, cancellationToken).ConfigureAwait(false);
        }

        await cache.SetAddAsync(IndexKey("sub", record.Subject), handleHash, indexTtl, cancellationToken).ConfigureAwait(false);
        return cookie.Seal(ToCookie(handle, record));
    }

    public async Task<ResolvedSession?> ResolveAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        var payload = cookie.TryOpen(cookieValue, out var sealedWithOldKey);
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

        var reissued = sealedWithOldKey ? cookie.Seal(payload) : null;
        try
        {
            var loaded = await LoadAsync(payload.Handle, cancellationToken).ConfigureAwait(false);
            if (loaded is { Record.Adopted: true } && await IsRevokedAsync(payload.Handle, cancellationToken).ConfigureAwait(false))
            {
                // An adopted record can be written by a replica that could not see the revocation marker (it decided
                // from the cookie during an outage, and its journal replayed the record to Redis afterwards): the marker
                // still wins, so a logged-out cookie never comes back. Only adopted records pay for this extra read.
                Log.CookieRejected(logger, "session was logged out");
                return null;
            }

            if (loaded is { } found)
            {
                return await CheckActivityAsync(payload.Handle, found.Record, found.SealedWithOldKey, cancellationToken).ConfigureAwait(false) is { } record
                    ? new ResolvedSession(payload.Handle, record, false, reissued)
                    : null;
            }

            if (await IsRevokedAsync(payload.Handle, cancellationToken).ConfigureAwait(false))
            {
                Log.CookieRejected(logger, "session was logged out");
                return null;
            }

            // Only if absent: a full record written meanwhile (or replayed after an outage) must not be clobbered.
            var adopted = FromCookie(payload) with { LastSeenAt = now };
            await WriteAsync(payload.Handle, adopted, onlyIfAbsent: true, cancellationToken).ConfigureAwait(false);
            Log.SessionAdopted(logger, adopted.Identifier);
            return new ResolvedSession(payload.Handle, adopted, true, reissued);
        }
        catch (CacheUnavailableException e)
        {
            // The store cannot answer: the sealed cookie decides (no mass logout), nothing is written.
            Log.StoreUnavailable(logger, "session lookup", e.Message);
            return new ResolvedSession(payload.Handle, FromCookie(payload), true, reissued);
        }
    }

    /// <summary>The current record of a session (null when it ended or expired).</summary>
    public async Task<SessionRecord?> ReloadAsync(string handle, CancellationToken cancellationToken) =>
        await LoadAsync(handle, cancellationToken).ConfigureAwait(false) is { } found && found.Record.ExpiresAt > time.GetUtcNow() ? found.Record : null;

    /// <summary>Writes a changed record (new tokens, activity) under the current key; its lifetime never grows.</summary>
    public Task UpdateAsync(string handle, SessionRecord record, CancellationToken cancellationToken) =>
        WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken);

    /// <summary>
    /// Ends a session everywhere: leaves a revocation marker that outlives the cookie (so the logged-out cookie is
    /// never adopted again), deletes the record, and marks its access token revoked until it expires.
    /// </summary>
    public async Task EndAsync(string handle, SessionRecord record, CancellationToken cancellationToken)
    {
        await EndByHashAsync(StoreKeys.Hash(handle), record.ExpiresAt, cancellationToken).ConfigureAwait(false);
        if (record.AccessToken is { } accessToken)
        {
            var expiresAt = record.AccessTokenExpiresAt ?? record.ExpiresAt;
            await cache.SetAsync(TokenRevocationKey(accessToken), "1"u8.ToArray(), Positive(expiresAt - time.GetUtcNow() + RevocationMargin), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Ends every session of a provider session (<paramref name="sid"/>) or of a user (<paramref name="subject"/>).</summary>
    public async Task<int> EndAllAsync(string? sid, string? subject, CancellationToken cancellationToken)
    {
        var ended = new HashSet<string>(StringComparer.Ordinal);
        var indexes = new List<string>();
        if (!string.IsNullOrEmpty(sid))
        {
            indexes.Add(IndexKey("sid", sid));
        }

        if (!string.IsNullOrEmpty(subject) && string.IsNullOrEmpty(sid))
        {
            indexes.Add(IndexKey("sub", subject));
        }

        foreach (var index in indexes)
        {
            foreach (var handleHash in await cache.SetMembersAsync(index, cancellationToken).ConfigureAwait(false))
            {
                if (ended.Add(handleHash))
                {
                    await EndByHashAsync(handleHash, time.GetUtcNow() + options.SessionMaxAge, cancellationToken).ConfigureAwait(false);
                }
            }

            await cache.DeleteAsync(index, cancellationToken).ConfigureAwait(false);
        }

        return ended.Count;
    }

    /// <summary>True when the access token was revoked by a logout (a bearer token from an ended session).</summary>
    public Task<bool> IsAccessTokenRevokedAsync(string accessToken, CancellationToken cancellationToken) =>
        cache.ExistsAsync(TokenRevocationKey(accessToken), cancellationToken);

    private async Task<SessionRecord?> CheckActivityAsync(string handle, SessionRecord record, bool sealedWithOldKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (record.ExpiresAt <= now)
        {
            return null;
        }

        var lastSeen = record.LastSeenAt ?? record.IssuedAt;
        if (options.SessionIdleTimeout > TimeSpan.Zero && now - lastSeen > options.SessionIdleTimeout)
        {
            Log.SessionIdleExpired(logger, record.Identifier);
            metrics?.Logouts.WithLabels("idle").Inc();
            await EndAsync(handle, record, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Reading writes nothing — except, at most once per interval, the activity an idle timeout needs, and once
        // after a key rotation, the record sealed again under the new key.
        var recordActivity = options.SessionIdleTimeout > TimeSpan.Zero && now - lastSeen >= options.SessionActivityInterval;
        if (recordActivity || sealedWithOldKey)
        {
            record = recordActivity ? record with { LastSeenAt = now } : record;
            await UpdateAsync(handle, record, cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    private async Task<(SessionRecord Record, bool SealedWithOldKey)?> LoadAsync(string handle, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Session, handle);
        var sealedRecord = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (sealedRecord is null)
        {
            return null;
        }

        if (_openedRecords.TryGetValue(key, out var opened) && opened.Sealed.AsSpan().SequenceEqual(sealedRecord))
        {
            return (opened.Record, !opened.Primary);
        }

        if (!_recordKeys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out var primary))
        {
            return null;
        }

        if (JsonSerializer.Deserialize(json, SessionJsonContext.Default.SessionRecord) is not { } record)
        {
            return null;
        }

        if (_openedRecords.Count >= OpenedRecordCacheSize)
        {
            _openedRecords.Clear();
        }

        // The bytes are never written to after they were sealed (every backend stores and returns them as they are).
        _openedRecords[key] = new OpenedRecord(sealedRecord, record, primary);
        return (record, !primary);
    }

    private sealed record OpenedRecord(byte[] Sealed, SessionRecord Record, bool Primary);

    private async Task EndByHashAsync(string handleHash, DateTimeOffset cookieExpiresAt, CancellationToken cancellationToken)
    {
        var remaining = Positive(cookieExpiresAt - time.GetUtcNow() + RevocationMargin);
        await cache.SetAsync(StoreKeys.ForHash(StoreKeys.Revoked, handleHash), "1"u8.ToArray(), remaining, cancellationToken).ConfigureAwait(false);
        await cache.DeleteAsync(StoreKeys.ForHash(StoreKeys.Session, handleHash), cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAsync(string handle, SessionRecord record, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Session, handle);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SessionRecord);
        var ttl = record.ExpiresAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        // The store key is the associated data: a record copied under another handle's key does not open.
        var sealedRecord = _recordKeys.Seal(json, Encoding.ASCII.GetBytes(key));
        if (onlyIfAbsent)
        {
            await cache.AddIfAbsentAsync(key, sealedRecord, ttl, Guarantee.BestEffort, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await cache.SetAsync(key, sealedRecord, ttl, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task<bool> IsRevokedAsync(string handle, CancellationToken cancellationToken) =>
        cache.ExistsAsync(StoreKeys.For(StoreKeys.Revoked, handle), cancellationToken);

    private static string IndexKey(string by, string value) => StoreKeys.For(StoreKeys.Index, by + ":" + value);

    // A JWT is revoked by its jti (what the issuer made unique), anything else by the token itself; both hashed.
    private static string TokenRevocationKey(string accessToken) =>
        StoreKeys.For(StoreKeys.Revoked, "access_token:" + (TokenIds.JtiOf(accessToken) ?? accessToken));

    private static TimeSpan Positive(TimeSpan ttl) => ttl > TimeSpan.Zero ? ttl : TimeSpan.FromSeconds(1);

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
