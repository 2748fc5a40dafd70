using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// Session records in the store, two per session under the same hash of the handle: the hot record
/// (<c>session:&lt;hash&gt;</c>, <see cref="HotRecord"/>: what every decision reads) and the token record
/// (<c>tokens:&lt;hash&gt;</c>, <see cref="TokenRecord"/>: read only by refresh, logout and token forwarding; absent when
/// the session keeps no token). Both are encrypted under a key derived from <c>sessionEncryptionKey</c> with their store
/// key as associated data (a record copied under another key does not open), written with the same lifetime and deleted
/// together. A record in the shape of earlier versions (one record, tokens inside) is still read, and rewritten split.
/// </summary>
internal sealed class SessionRecords(ICacheBackend cache, ForwardAuthOptions options, TimeProvider time, SessionTokenPolicy? policy = null)
{
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "store");
    private readonly SessionTokenPolicy _policy = policy ?? new SessionTokenPolicy(options);

    // Performance: opening a hot record (AES-GCM, then JSON) is a pure function of its store key and its exact sealed
    // bytes. The last record opened per key is kept with the bytes it came from; a read that returns the same bytes (the
    // same array from memory mode or the hybrid L1, an equal copy from Redis) reuses it, anything else is opened afresh.
    // A changed, deleted or re-sealed record therefore never matches. Records are immutable. Bounded: cleared when full.
    internal const int OpenedRecordCacheSize = 10_000;
    private readonly ConcurrentDictionary<string, OpenedRecord> _opened = new(StringComparer.Ordinal);

    private static ReadOnlySpan<byte> HotPrefix => "{\"v\":"u8;

    public SessionTokenPolicy Policy => _policy;

    /// <summary>
    /// The record of a handle without its tokens, and whether it is to be written again (sealed with an older key, or
    /// in the shape of earlier versions); null when absent or not ours.
    /// </summary>
    public Task<(SessionRecord Record, bool Outdated)?> LoadAsync(string handle, CancellationToken cancellationToken) =>
        LoadByHashAsync(StoreKeys.Hash(handle), cancellationToken);

    /// <summary>The record of a handle known only by its hash (a member of a session index); null when absent or not ours.</summary>
    public async Task<SessionRecord?> RecordByHashAsync(string handleHash, CancellationToken cancellationToken) =>
        (await LoadByHashAsync(handleHash, cancellationToken).ConfigureAwait(false))?.Record;

    /// <summary>
    /// <paramref name="record"/> with its tokens read from the token record (unchanged when they were read already).
    /// A token record that is gone or does not open leaves the session without tokens.
    /// </summary>
    public async Task<SessionRecord> WithTokensAsync(string handleHash, SessionRecord record, CancellationToken cancellationToken)
    {
        if (!record.TokensUnread)
        {
            return record;
        }

        var tokens = record.HeldTokens == SessionTokenKinds.None ? null : await LoadTokensAsync(handleHash, cancellationToken).ConfigureAwait(false);
        return record with
        {
            IdToken = tokens?.IdToken,
            AccessToken = tokens?.AccessToken,
            RefreshToken = tokens?.RefreshToken,
            HeldTokens = tokens?.Kinds ?? SessionTokenKinds.None,
            TokensUnread = false,
        };
    }

    private async Task<TokenRecord?> LoadTokensAsync(string handleHash, CancellationToken cancellationToken)
    {
        var key = StoreKeys.ForHash(StoreKeys.Tokens, handleHash);
        return await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } sealedTokens
            && _keys.TryOpen(sealedTokens, Encoding.ASCII.GetBytes(key), out var json, out _)
            ? JsonSerializer.Deserialize(json, SessionJsonContext.Default.TokenRecord)
            : null;
    }

    /// <summary>The record of a session known by its handle's hash (an index member, a ticket's login).</summary>
    public async Task<(SessionRecord Record, bool Outdated)?> LoadByHashAsync(string handleHash, CancellationToken cancellationToken)
    {
        var key = KeyOf(handleHash);
        var sealedRecord = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (sealedRecord is null)
        {
            return null;
        }

        if (_opened.TryGetValue(key, out var opened) && opened.Sealed.AsSpan().SequenceEqual(sealedRecord))
        {
            return (opened.Record, opened.Outdated);
        }

        if (!_keys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out var primary) || Read(json) is not { } record)
        {
            return null;
        }

        if (!primary)
        {
            // Sealed with an older key (a key rotation): so, most likely, is its token record. Read with its tokens, the
            // record's rewrite seals both again under the current key, before the older key is removed.
            record = await WithTokensAsync(handleHash, record, cancellationToken).ConfigureAwait(false);
        }

        if (_opened.Count >= OpenedRecordCacheSize)
        {
            _opened.Clear();
        }

        // The bytes are never written to after they were sealed (every backend stores and returns them as they are).
        var outdated = !primary || !record.TokensUnread;
        _opened[key] = new OpenedRecord(sealedRecord, record, outdated);
        return (record, outdated);
    }

    /// <summary>
    /// Writes the record for the rest of its lifetime (never longer); only if absent when asked. The token record is
    /// written (or, keeping no token, deleted) only when <paramref name="record"/>'s tokens were read or just obtained;
    /// a record read without them changes the hot record only.
    /// </summary>
    public async Task WriteAsync(string handle, SessionRecord record, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var handleHash = StoreKeys.Hash(handle);
        var ttl = record.ExpiresAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var held = record.HeldTokens;
        if (!record.TokensUnread)
        {
            var tokens = await _policy.KeptAsync(record, cancellationToken).ConfigureAwait(false);
            held = tokens.Kinds;
            var tokensKey = StoreKeys.ForHash(StoreKeys.Tokens, handleHash);
            if (held != SessionTokenKinds.None)
            {
                // Before the hot record: a reader that sees the new hot record finds its tokens.
                await PutAsync(tokensKey, Seal(JsonSerializer.SerializeToUtf8Bytes(tokens, SessionJsonContext.Default.TokenRecord), tokensKey), ttl, onlyIfAbsent, cancellationToken)
                    .ConfigureAwait(false);
            }
            else if (!onlyIfAbsent)
            {
                await cache.DeleteAsync(tokensKey, cancellationToken).ConfigureAwait(false);
            }
        }

        var key = KeyOf(handleHash);
        var hot = JsonSerializer.SerializeToUtf8Bytes(HotRecord.Of(record, held), SessionJsonContext.Default.HotRecord);
        await PutAsync(key, Seal(hot, key), ttl, onlyIfAbsent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The sealed size of <paramref name="record"/>'s hot record (what docs/sizing.md and the tests measure).</summary>
    internal static int SealedHotSize(SessionRecord record, SessionTokenKinds held) =>
        KeyRing.Overhead + JsonSerializer.SerializeToUtf8Bytes(HotRecord.Of(record, held), SessionJsonContext.Default.HotRecord).Length;

    /// <summary>Deletes both records of a session.</summary>
    public async Task DeleteByHashAsync(string handleHash, CancellationToken cancellationToken)
    {
        await cache.DeleteAsync(KeyOf(handleHash), cancellationToken).ConfigureAwait(false);
        await cache.DeleteAsync(StoreKeys.ForHash(StoreKeys.Tokens, handleHash), cancellationToken).ConfigureAwait(false);
    }

    private byte[] Seal(byte[] json, string key) => _keys.Seal(json, Encoding.ASCII.GetBytes(key));

    private Task PutAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent, CancellationToken cancellationToken) => onlyIfAbsent
        ? cache.AddIfAbsentAsync(key, value, ttl, Guarantee.BestEffort, cancellationToken)
        : cache.SetAsync(key, value, ttl, cancellationToken);

    private static string KeyOf(string handleHash) => StoreKeys.ForHash(StoreKeys.Session, handleHash);

    // The current shape is the hot record. A record in the shape of earlier versions is one SessionRecord with its
    // tokens (read as such: its tokens count as read), or older still, with the identity's fields at the top level.
    private static SessionRecord? Read(byte[] json)
    {
        if (json.AsSpan().StartsWith(HotPrefix))
        {
            return JsonSerializer.Deserialize(json, SessionJsonContext.Default.HotRecord)?.ToRecord();
        }

        if (JsonSerializer.Deserialize(json, SessionJsonContext.Default.SessionRecord) is not { } record)
        {
            return null;
        }

        if (record.Identity is not null)
        {
            return record;
        }

        return JsonSerializer.Deserialize(json, SessionJsonContext.Default.FlatIdentityRecord)?.Identity is { } identity
            ? record with { Identity = identity }
            : null;
    }

    private sealed record OpenedRecord(byte[] Sealed, SessionRecord Record, bool Outdated);
}
