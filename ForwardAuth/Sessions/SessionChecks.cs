using System.Collections.Concurrent;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>
/// When sessions are checked at the provider (<c>sessionCheckInterval</c>). A request that found a session reports it
/// here (<see cref="Seen"/>) and never waits: a due check starts in the background (one in flight per session on this
/// replica, at most <see cref="MaxConcurrent"/> provider calls at once) and the request is answered with the current
/// decision. A session is due once its last check — or its login or refresh, which the provider answered just as
/// well — is older than the interval; across replicas a <see cref="CheckLeases"/> lease decides who checks.
/// <see cref="SweepAsync"/> (every interval, <see cref="SessionCheckSweep"/>) starts the due checks of sessions this
/// replica saw within <c>sessionMaxAge</c>, so an idle session is noticed too — without scanning the store.
/// </summary>
internal sealed class SessionChecks(SessionChecker checker, CheckLeases claims, ForwardAuthOptions options, TimeProvider time, ILogger<SessionChecks> logger)
    : IDisposable
{
    /// <summary>Sessions this replica keeps track of for the sweep (about 150 bytes each); beyond it new ones are not tracked.</summary>
    internal const int MaxTracked = 100_000;

    /// <summary>Provider calls for checks at once on this replica.</summary>
    internal const int MaxConcurrent = 4;

    private readonly ConcurrentDictionary<string, Tracked> _tracked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly SemaphoreSlim _gate = new(MaxConcurrent);
    private readonly CancellationTokenSource _stopping = new();
    private long _ids;
    private bool _stopped;

    public bool Enabled => options.SessionCheckInterval > TimeSpan.Zero;

    private TimeSpan Interval => options.SessionCheckInterval;

    /// <summary>Sessions tracked on this replica.</summary>
    internal int TrackedCount => _tracked.Count;

    /// <summary>A request found this session: start its check in the background when it is due. Never waits.</summary>
    public void Seen(ResolvedSession session, SessionRecord record)
    {
        if (!Enabled || session.FromCookieOnly)
        {
            return;
        }

        var now = time.GetUtcNow();
        // The login or the last refresh was an answer from the provider too: the next check is an interval after it.
        var answeredAt = (record.TokensIssuedAt ?? record.IssuedAt) + Interval;
        if (!_tracked.TryGetValue(session.Handle, out var tracked))
        {
            if (_tracked.Count >= MaxTracked)
            {
                return;
            }

            tracked = _tracked.GetOrAdd(session.Handle, _ => new Tracked(answeredAt));
        }

        tracked.SeenAt(now, answeredAt);
        if (tracked.IsDue(now))
        {
            Start(session.Handle, tracked);
        }
    }

    /// <summary>Starts the due checks of the sessions this replica saw; forgets those not seen within <c>sessionMaxAge</c>.</summary>
    public Task SweepAsync()
    {
        var now = time.GetUtcNow();
        int due = 0, dropped = 0;
        foreach (var (handle, tracked) in _tracked)
        {
            if (tracked.LastSeen + options.SessionMaxAge <= now)
            {
                dropped += _tracked.TryRemove(handle, out _) ? 1 : 0;
            }
            else if (tracked.IsDue(now))
            {
                due++;
                Start(handle, tracked);
            }
        }

        Log.SessionCheckSwept(logger, due, _tracked.Count, dropped);
        return WhenIdleAsync();
    }

    /// <summary>Completes when no check started so far is running (tests, shutdown).</summary>
    public async Task WhenIdleAsync()
    {
        while (!_running.IsEmpty)
        {
            await Task.WhenAll(_running.Values).ConfigureAwait(false);
        }
    }

    private void Start(string handle, Tracked tracked)
    {
        if (Volatile.Read(ref _stopped) || !tracked.TryBegin())
        {
            return;
        }

        var id = Interlocked.Increment(ref _ids);
        var task = Task.Run(async () =>
        {
            try
            {
                await RunAsync(handle, tracked, _stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                tracked.End();
                _running.TryRemove(id, out _);
            }
        });
        _running.TryAdd(id, task);
        if (task.IsCompleted)
        {
            _running.TryRemove(id, out _);
        }
    }

    private async Task RunAsync(string handle, Tracked tracked, CancellationToken cancellationToken)
    {
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var now = time.GetUtcNow();
                if (await claims.TryClaimAsync(handle, Interval, cancellationToken).ConfigureAwait(false) is { } checkedUntil)
                {
                    Log.SessionCheckNotRun(logger, "another replica checked the session for this interval");
                    tracked.DueAt(checkedUntil);
                    return;
                }

                var outcome = await checker.CheckAsync(handle, cancellationToken).ConfigureAwait(false);
                tracked.DueAt(now + Interval);
                if (outcome is SessionCheckOutcome.Ended or SessionCheckOutcome.Gone)
                {
                    _tracked.TryRemove(handle, out _);
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
#pragma warning disable CA1031 // A background check must never take the process down; an outage is a skipped check.
        catch (Exception e)
#pragma warning restore CA1031
        {
            checker.Skipped(e.GetType().Name);
            tracked.DueAt(time.GetUtcNow() + Interval);
        }
    }

    public void Dispose()
    {
        // Checks still running see the cancellation and end; the gate and the token source are left to the collector,
        // so that a check finishing after this never meets a disposed one.
        Volatile.Write(ref _stopped, true);
        _stopping.Cancel();
    }

    /// <summary>One session as this replica knows it: when it is due, when it was last seen, whether its check runs.</summary>
    private sealed class Tracked(DateTimeOffset due)
    {
        private long _dueTicks = due.UtcTicks;
        private long _lastSeenTicks;
        private int _running;

        public DateTimeOffset LastSeen => new(Interlocked.Read(ref _lastSeenTicks), TimeSpan.Zero);

        public bool IsDue(DateTimeOffset now) => now.UtcTicks >= Interlocked.Read(ref _dueTicks);

        public void SeenAt(DateTimeOffset now, DateTimeOffset notBefore)
        {
            Interlocked.Exchange(ref _lastSeenTicks, now.UtcTicks);
            DueAt(notBefore, onlyLater: true);
        }

        public void DueAt(DateTimeOffset due, bool onlyLater = false)
        {
            if (!onlyLater || due.UtcTicks > Interlocked.Read(ref _dueTicks))
            {
                Interlocked.Exchange(ref _dueTicks, due.UtcTicks);
            }
        }

        public bool TryBegin() => Interlocked.CompareExchange(ref _running, 1, 0) == 0;

        public void End() => Volatile.Write(ref _running, 0);
    }
}
