using System.Globalization;
using System.Text;

namespace ForwardAuth.Cache;

/// <summary>Atomic counters in memory: the value is the count in ASCII digits, as Redis keeps an <c>INCR</c> counter.</summary>
internal sealed partial class MemoryCacheBackend
{
    public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var created = NewEntry(Encoding.ASCII.GetBytes("1"), window);
        MakeRoom();
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing) && !IsExpired(existing))
            {
                var count = (long.TryParse(existing.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0) + 1;
                var next = existing with { Value = Encoding.ASCII.GetBytes(count.ToString(CultureInfo.InvariantCulture)) };
                if (_entries.TryUpdate(key, next, existing))
                {
                    Interlocked.Add(ref _bytes, next.Value.Length - existing.Value.Length);
                    return Task.FromResult(count);
                }
            }
            else if (existing is not null ? _entries.TryUpdate(key, created, existing) : _entries.TryAdd(key, created))
            {
                Interlocked.Add(ref _bytes, created.Value.Length - (existing?.Value.Length ?? 0));
                return Task.FromResult(1L);
            }
        }
    }
}
