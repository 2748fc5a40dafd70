namespace ForwardAuth;

/// <summary>
/// The thread pool's minimum of worker threads, raised at start-up (<c>minWorkerThreads</c>). The pool starts threads
/// up to its minimum at once and beyond it only about one or two a second. StackExchange.Redis's failover handling
/// runs synchronously on pool threads — the Sentinel primary switch asks every Sentinel with blocking calls (PLINQ)
/// and waits on a reconfiguration, each bounded only by the Redis timeout — so with the runtime's default minimum (one
/// per processor) the requests' continuations queued behind it for seconds on a 2-core replica, even when the circuit
/// breaker was open and every answer came from memory (issue 18; docs/operations.md, "Failover").
/// </summary>
internal static class ThreadPoolMinimum
{
    /// <summary>Raises (never lowers) the minimum of worker threads to <paramref name="configured"/>; returns the minimum in effect.</summary>
    public static int Apply(int configured)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (configured > workers && ThreadPool.SetMinThreads(configured, completionPorts))
        {
            return configured;
        }

        return workers;
    }
}
