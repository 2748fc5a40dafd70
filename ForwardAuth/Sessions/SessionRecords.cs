using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// Session records in the store: encrypted under a key derived from <c>sessionEncryptionKey</c>, with the store key as
/// associated data (a record copied under another handle's key does not open), stored under a hash of the handle.
/// </summary>
internal sealed class SessionRecords(ICacheBackend cache, ForwardAuthOptions options, TimeProvider time)
{
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "store");

    // Performance: opening a session record (AES-GCM over ~2 KB, then JSON with three tokens: ~4 µs and 8.6 KB per
    // request) is a pure function of its store key and its exact sealed bytes. The last record opened per key is kept
    // with the bytes it came from; a read that returns the same bytes (the same array from memory mode or the hybrid
    // L1, an equal copy from Redis) reuses it, anything else is opened afresh. A changed, deleted or re-sealed record
    // therefore never matches. Records are immutable. Bounded: cleared when full.
    internal const int OpenedRecordCacheSize = 10_000;
    private readonly ConcurrentDictionary<string, OpenedRecord> _opened = new(StringComparer.Ordinal);

    /// <summary>The record of a handle, and whether an older key sealed it (null when absent or not ours).</summary>
    public Task<(SessionRecord Record, bool SealedWithOldKey)?> LoadAsync(string handle, CancellationToken cancellationToken) =>
        LoadByKeyAsync(KeyOf(handle), cancellationToken);

    /// <summary>The record of a handle known only by its hash (a member of a session index); null when absent or not ours.</summary>
    public async Task<SessionRecord?> RecordByHashAsync(string handleHash, CancellationToken cancellationToken) =>
        (await LoadByKeyAsync(StoreKeys.ForHash(StoreKeys.Session, handleHash), cancellationToken).ConfigureAwait(false))?.Record;

    /// <summary>The record of a session known by its handle's hash (an index member, a ticket's login).</summary>
    public Task<(SessionRecord Record, bool SealedWithOldKey)?> LoadByHashAsync(string handleHash, CancellationToken cancellationToken) =>
        LoadByKeyAsync(StoreKeys.ForHash(StoreKeys.Session, handleHash), cancellationToken);

    private async Task<(SessionRecord Record, bool SealedWithOldKey)?> LoadByKeyAsync(string key, CancellationToken cancellationToken)
    {
        var sealedRecord = await cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (sealedRecord is null)
        {
            return null;
        }

        if (_opened.TryGetValue(key, out var opened) && opened.Sealed.AsSpan().SequenceEqual(sealedRecord))
        {
            return (opened.Record, !opened.Primary);
        }

        if (!_keys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out var primary) || Read(json) is not { } record)
        {
            return null;
        }

        if (_opened.Count >= OpenedRecordCacheSize)
        {
            _opened.Clear();
        }

        // The bytes are never written to after they were sealed (every backend stores and returns them as they are).
        _opened[key] = new OpenedRecord(sealedRecord, record, primary);
        return (record, !primary);
    }

    /// <summary>Writes the record for the rest of its lifetime (never longer); only if absent when asked.</summary>
    public async Task WriteAsync(string handle, SessionRecord record, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var key = KeyOf(handle);
        var ttl = record.ExpiresAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SessionRecord);
        var sealedRecord = _keys.Seal(json, Encoding.ASCII.GetBytes(key));
        if (onlyIfAbsent)
        {
            await cache.AddIfAbsentAsync(key, sealedRecord, ttl, Guarantee.BestEffort, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await cache.SetAsync(key, sealedRecord, ttl, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task DeleteByHashAsync(string handleHash, CancellationToken cancellationToken) =>
        cache.DeleteAsync(StoreKeys.ForHash(StoreKeys.Session, handleHash), cancellationToken);

    private static string KeyOf(string handle) => StoreKeys.For(StoreKeys.Session, handle);

    // A record written before the identity became one object has its fields at the top level: read it as such.
    private static SessionRecord? Read(byte[] json)
    {
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

    private sealed record OpenedRecord(byte[] Sealed, SessionRecord Record, bool Primary);
}
