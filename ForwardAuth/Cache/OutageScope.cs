using System.Runtime.CompilerServices;

namespace ForwardAuth.Cache;

/// <summary>
/// One request's view of a Redis outage. A request makes several store calls in a row (session, revocation, activity);
/// while the breaker is still closed each could wait up to the Redis timeout, so a request could be held for two or
/// three timeouts during a failover. Once one call of the request has met an outage (or the wait for the first
/// connection), the request's later calls go to the memory fallback at once: no request waits for Redis longer than
/// one timeout. The host opens a scope per request (<see cref="Begin"/>); outside a scope nothing changes.
/// </summary>
internal static class OutageScope
{
    private static readonly AsyncLocal<StrongBox<bool>?> Current = new();

    /// <summary>Opens the scope of one request (the flow that continues from here); disposing restores the previous one.</summary>
    public static IDisposable Begin()
    {
        var previous = Current.Value;
        Current.Value = new StrongBox<bool>();
        return new Scope(previous);
    }

    /// <summary>This request already met a Redis outage.</summary>
    public static bool Seen => Current.Value is { } box && Volatile.Read(ref box.Value);

    public static void MarkSeen()
    {
        if (Current.Value is { } box)
        {
            Volatile.Write(ref box.Value, true);
        }
    }

    private sealed class Scope(StrongBox<bool>? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
