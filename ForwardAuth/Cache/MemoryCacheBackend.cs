using System.Collections.Concurrent;

namespace ForwardAuth.Cache;

/// <summary>
/// Bounded, TTL-aware in-process store. Single replica by itself; also the fallback behind the Redis circuit breaker.
/// Expired entries are dropped when read and by a sweep every <see cref="SweepEvery"/> writes; when full, the entries
/// nearest to expiry are evicted first (they are the least valuable to keep).
/// </summary>
internal sealed partial class MemoryCacheBackend(TimeProvider time, int maxEntries = 100_000) : ICacheBackend
{
    private const int SweepEvery = 1024;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SetEntry> _sets = new(StringComparer.Ordinal);
    private long _bytes;
    private int _writes;
    private int _sweeping;

    public string Name => "memory";

    public int Count => _entries.Count;

    public long Bytes => Interlocked.Read(ref _bytes);

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(TryGetLive(key, out var entry) ? entry.Value : null);

    public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var entry = NewEntry(value, ttl);
        MakeRoom();
        _entries.AddOrUpdate(
            key,
            _ => Added(entry),
            (_, old) => Replaced(old, entry));
        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var removed = _entries.TryRemove(key, out var old);
        if (removed)
        {
            Interlocked.Add(ref _bytes, -old!.Value.Length);
        }

        return Task.FromResult(removed && !IsExpired(old!));
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(TryGetLive(key, out _));

    public Task ClearAsync(CancellationToken cancellationToken = default)
    {
        _entries.Clear();
        _sets.Clear();
        Interlocked.Exchange(ref _bytes, 0);
        return Task.CompletedTask;
    }

    public Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new CacheHealth(true, TimeSpan.Zero, null));

    // By itself the memory store is the whole store of its (single) replica: every guarantee holds.
    public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) =>
        Task.FromResult(TryAdd(key, value, ttl) ? AddResult.Added : AddResult.AlreadyPresent);

    private bool TryAdd(string key, byte[] value, TimeSpan ttl)
    {
        var entry = NewEntry(value, ttl);
        MakeRoom();
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (!IsExpired(existing))
                {
                    return false;
                }

                if (_entries.TryUpdate(key, entry, existing))
                {
                    Interlocked.Add(ref _bytes, entry.Value.Length - existing.Value.Length);
                    return true;
                }
            }
            else if (_entries.TryAdd(key, entry))
            {
                Interlocked.Add(ref _bytes, entry.Value.Length);
                return true;
            }
        }
    }

    public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!_entries.TryRemove(key, out var entry))
        {
            return Task.FromResult<byte[]?>(null);
        }

        Interlocked.Add(ref _bytes, -entry.Value.Length);
        return Task.FromResult(IsExpired(entry) ? null : entry.Value);
    }

    public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var renewed = TryGetLive(key, out var entry) && entry.Value.AsSpan().SequenceEqual(expected)
            && _entries.TryUpdate(key, entry with { ExpiresAt = time.GetUtcNow().UtcTicks + ttl.Ticks }, entry);
        return Task.FromResult(renewed);
    }

    public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default)
    {
        var deleted = TryGetLive(key, out var entry) && entry.Value.AsSpan().SequenceEqual(expected)
            && _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        if (deleted)
        {
            Interlocked.Add(ref _bytes, -entry.Value.Length);
        }

        return Task.FromResult(deleted);
    }

    public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var expiresAt = NewEntry([], ttl).ExpiresAt;
        var set = _sets.AddOrUpdate(
            key,
            _ => new SetEntry([], expiresAt),
            (_, old) => old.ExpiresAt <= time.GetUtcNow().UtcTicks ? new SetEntry([], expiresAt) : old with { ExpiresAt = expiresAt });
        lock (set.Members)
        {
            set.Members.Add(member);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!_sets.TryGetValue(key, out var set) || set.ExpiresAt <= time.GetUtcNow().UtcTicks)
        {
            return Task.FromResult<IReadOnlyCollection<string>>([]);
        }

        lock (set.Members)
        {
            return Task.FromResult<IReadOnlyCollection<string>>(set.Members.ToList());
        }
    }

    /// <summary>Remaining lifetime of a live key (the outage journal replays entries with what is left of their TTL).</summary>
    public TimeSpan? TimeToLive(string key) =>
        TryGetLive(key, out var entry) ? TimeSpan.FromTicks(entry.ExpiresAt - time.GetUtcNow().UtcTicks) : null;

    private bool TryGetLive(string key, out Entry entry)
    {
        if (!_entries.TryGetValue(key, out entry!))
        {
            return false;
        }

        if (!IsExpired(entry))
        {
            return true;
        }

        if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            Interlocked.Add(ref _bytes, -entry.Value.Length);
        }

        return false;
    }

    private Entry NewEntry(byte[] value, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "a TTL must be positive");
        }

        return new Entry(value, time.GetUtcNow().UtcTicks + ttl.Ticks);
    }

    private Entry Added(Entry entry)
    {
        Interlocked.Add(ref _bytes, entry.Value.Length);
        return entry;
    }

    private Entry Replaced(Entry old, Entry entry)
    {
        Interlocked.Add(ref _bytes, entry.Value.Length - old.Value.Length);
        return entry;
    }

    private bool IsExpired(Entry entry) => entry.ExpiresAt <= time.GetUtcNow().UtcTicks;

    private void MakeRoom()
    {
        // One sweep at a time: when the cache is full every concurrent writer would otherwise start its own sweep (and
        // its own sort) at once. A writer that finds a sweep running goes on; the sweep makes room for it.
        if ((Interlocked.Increment(ref _writes) % SweepEvery == 0 || _entries.Count >= maxEntries) && Interlocked.CompareExchange(ref _sweeping, 1, 0) == 0)
        {
            try
            {
                Sweep();
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        }
    }

    private void Sweep()
    {
        foreach (var pair in _sets)
        {
            if (pair.Value.ExpiresAt <= time.GetUtcNow().UtcTicks)
            {
                _sets.TryRemove(pair);
            }
        }

        foreach (var pair in _entries)
        {
            if (IsExpired(pair.Value) && _entries.TryRemove(pair))
            {
                Interlocked.Add(ref _bytes, -pair.Value.Value.Length);
            }
        }

        var excess = _entries.Count - maxEntries + 1;
        if (excess <= 0)
        {
            return;
        }

        // Evict a tenth at once so a full cache does not pay for a sort on every write. ToArray takes a consistent
        // snapshot: sorting the live dictionary (OrderBy copies it by Count, then CopyTo) could see entries removed
        // meanwhile as empty slots and fail with a NullReferenceException under concurrent writes.
        foreach (var pair in _entries.ToArray().OrderBy(p => p.Value.ExpiresAt).Take(Math.Max(excess, maxEntries / 10)))
        {
            if (_entries.TryRemove(pair))
            {
                Interlocked.Add(ref _bytes, -pair.Value.Value.Length);
            }
        }
    }

    private sealed record Entry(byte[] Value, long ExpiresAt);

    private sealed record SetEntry(HashSet<string> Members, long ExpiresAt);
}
