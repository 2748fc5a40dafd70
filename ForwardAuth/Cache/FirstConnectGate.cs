namespace ForwardAuth.Cache;

/// <summary>
/// Readiness at start-up: a replica is not ready before its first connection attempt to Redis has finished (connected
/// or failed), but waits for it at most <paramref name="bound"/> from the attempt's start — a Redis that is really
/// down still leaves the replica ready (and degraded). Time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class FirstConnectGate(TimeProvider time, TimeSpan bound)
{
    private Task? _attempt;
    private long _startedAt;

    public TimeSpan Bound => bound;

    /// <summary>The first attempt started now (later calls are ignored).</summary>
    public void Started(Task attempt)
    {
        if (Interlocked.CompareExchange(ref _attempt, attempt, null) is null)
        {
            Volatile.Write(ref _startedAt, time.GetTimestamp());
        }
    }

    /// <summary>True before the attempt started, and while it runs within the bound.</summary>
    public bool Waiting =>
        Volatile.Read(ref _attempt) is not { } attempt
        || (!attempt.IsCompleted && time.GetElapsedTime(Volatile.Read(ref _startedAt)) < bound);
}
