namespace ForwardAuth.Cache;

/// <summary>
/// Writes made to the memory fallback while Redis was unreachable, kept in order (bounded: the oldest are dropped and
/// counted) and replayed to Redis when the circuit closes, each with what is left of its TTL — so a write made
/// during the outage is known to every replica afterwards.
/// </summary>
internal sealed class OutageJournal(int capacity, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Entry> _entries = new();
    private long _dropped;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Raised when an entry had to be dropped to stay within capacity.</summary>
    public event Action? EntryDropped;

    public void Set(string key, byte[] value, TimeSpan ttl) => Append(new Entry(Operation.Set, key, value, time.GetUtcNow() + ttl));

    public void AddIfAbsent(string key, byte[] value, TimeSpan ttl) => Append(new Entry(Operation.AddIfAbsent, key, value, time.GetUtcNow() + ttl));

    public void Delete(string key) => Append(new Entry(Operation.Delete, key, null, DateTimeOffset.MaxValue));

    /// <summary>Everything under the prefix is cleared: what was journalled before no longer matters.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
            _entries.AddLast(new Entry(Operation.Clear, "", null, DateTimeOffset.MaxValue));
        }
    }

    public void SetAdd(string key, string member, TimeSpan ttl) =>
        Append(new Entry(Operation.SetAdd, key, System.Text.Encoding.UTF8.GetBytes(member), time.GetUtcNow() + ttl));

    /// <summary>
    /// Replays every entry in order. Stops at the first outage and keeps what was not replayed (in order) for the next
    /// attempt; returns how many entries were applied.
    /// </summary>
    public async Task<int> ReplayAsync(ICacheBackend target, CancellationToken cancellationToken)
    {
        var applied = 0;
        while (TakeFirst() is { } entry)
        {
            try
            {
                var ttl = entry.ExpiresAt - time.GetUtcNow();
                switch (entry.Operation)
                {
                    case Operation.Delete:
                        await target.DeleteAsync(entry.Key, cancellationToken).ConfigureAwait(false);
                        break;
                    case Operation.Clear:
                        await target.ClearAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case Operation.Set when ttl > TimeSpan.Zero:
                        await target.SetAsync(entry.Key, entry.Value!, ttl, cancellationToken).ConfigureAwait(false);
                        break;
                    case Operation.SetAdd when ttl > TimeSpan.Zero:
                        await target.SetAddAsync(entry.Key, System.Text.Encoding.UTF8.GetString(entry.Value!), ttl, cancellationToken).ConfigureAwait(false);
                        break;
                    case Operation.AddIfAbsent when ttl > TimeSpan.Zero:
                        await target.AddIfAbsentAsync(entry.Key, entry.Value!, ttl, Guarantee.BestEffort, cancellationToken).ConfigureAwait(false);
                        break;
                }

                applied++;
            }
            catch (CacheUnavailableException)
            {
                PutBack(entry);
                throw;
            }
        }

        return applied;
    }

    private void Append(Entry entry)
    {
        var dropped = false;
        lock (_gate)
        {
            _entries.AddLast(entry);
            if (_entries.Count > capacity)
            {
                _entries.RemoveFirst();
                dropped = true;
            }
        }

        if (dropped)
        {
            Interlocked.Increment(ref _dropped);
            EntryDropped?.Invoke();
        }
    }

    private Entry? TakeFirst()
    {
        lock (_gate)
        {
            if (_entries.First is not { } first)
            {
                return null;
            }

            _entries.RemoveFirst();
            return first.Value;
        }
    }

    private void PutBack(Entry entry)
    {
        lock (_gate)
        {
            _entries.AddFirst(entry);
        }
    }

    private enum Operation
    {
        Set,
        AddIfAbsent,
        Delete,
        SetAdd,
        Clear,
    }

    private sealed record Entry(Operation Operation, string Key, byte[]? Value, DateTimeOffset ExpiresAt);
}
