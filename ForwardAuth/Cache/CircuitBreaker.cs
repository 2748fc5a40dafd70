namespace ForwardAuth.Cache;

/// <summary>The breaker's state; the numbers are the <c>traefikoidc_circuit_breaker_state</c> gauge values.</summary>
internal enum CircuitState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// <summary>
/// The circuit breaker of the reference document, written by hand as a small state machine:
/// CLOSED counts consecutive outage failures (connection, timeout — nothing else) and opens at the threshold;
/// OPEN refuses every call at once (no network wait) until the timeout has passed (or the background health probe
/// finds Redis answering: <see cref="HalfOpenEarly"/>); HALF-OPEN admits a limited number
/// of probes: one success closes it, one failure opens it again. Time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class CircuitBreaker(int threshold, TimeSpan openTimeout, TimeProvider time, int halfOpenProbes = 1)
{
    private readonly Lock _gate = new();
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private int _probesInFlight;
    private long _openedAt;

    /// <summary>Raised outside the lock on every transition (old, new).</summary>
    public event Action<CircuitState, CircuitState>? StateChanged;

    public CircuitState State
    {
        get
        {
            lock (_gate)
            {
                return _state == CircuitState.Open && OpenTimeoutPassed() ? CircuitState.HalfOpen : _state;
            }
        }
    }

    /// <summary>The <see cref="TimeProvider"/> timestamp of the last transition to OPEN.</summary>
    public long OpenedAt
    {
        get
        {
            lock (_gate)
            {
                return _openedAt;
            }
        }
    }

    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>
    /// May a call go to the protected resource now? False while OPEN (use the fallback). In HALF-OPEN, true only for
    /// the admitted probes, and <paramref name="isProbe"/> says so; the caller must then report the outcome.
    /// </summary>
    public bool TryAcquire(out bool isProbe)
    {
        CircuitState? changedFrom = null;
        bool allowed;
        lock (_gate)
        {
            isProbe = false;
            if (_state == CircuitState.Open && OpenTimeoutPassed())
            {
                changedFrom = Transition(CircuitState.HalfOpen);
            }

            switch (_state)
            {
                case CircuitState.Closed:
                    allowed = true;
                    break;
                case CircuitState.HalfOpen when _probesInFlight < halfOpenProbes:
                    _probesInFlight++;
                    isProbe = true;
                    allowed = true;
                    break;
                default:
                    allowed = false;
                    break;
            }
        }

        Raise(changedFrom, CircuitState.HalfOpen);
        return allowed;
    }

    /// <summary>
    /// Redis answered the background health probe while the circuit is OPEN and its timeout has not passed: go HALF-OPEN
    /// now rather than after <c>circuitBreakerTimeout</c> (a replica never holds the circuit open while Redis answers;
    /// the timeout is the longest it stays open without a probe). True when this call made the transition.
    /// </summary>
    public bool HalfOpenEarly()
    {
        CircuitState? changedFrom = null;
        lock (_gate)
        {
            if (_state == CircuitState.Open)
            {
                changedFrom = Transition(CircuitState.HalfOpen);
            }
        }

        Raise(changedFrom, CircuitState.HalfOpen);
        return changedFrom is not null;
    }

    public void OnSuccess(bool isProbe)
    {
        CircuitState? changedFrom = null;
        lock (_gate)
        {
            if (isProbe)
            {
                _probesInFlight = Math.Max(0, _probesInFlight - 1);
            }

            if (_state == CircuitState.Closed || (isProbe && _state == CircuitState.HalfOpen))
            {
                _consecutiveFailures = 0;
                if (_state != CircuitState.Closed)
                {
                    changedFrom = Transition(CircuitState.Closed);
                }
            }
        }

        Raise(changedFrom, CircuitState.Closed);
    }

    /// <summary>An outage failure (connection refused or lost, timeout). Other errors must not be reported here.</summary>
    public void OnFailure(bool isProbe)
    {
        CircuitState? changedFrom = null;
        lock (_gate)
        {
            if (isProbe)
            {
                _probesInFlight = Math.Max(0, _probesInFlight - 1);
            }

            _consecutiveFailures++;
            var opens = (_state == CircuitState.Closed && _consecutiveFailures >= threshold)
                || (isProbe && _state == CircuitState.HalfOpen);
            if (opens)
            {
                changedFrom = Transition(CircuitState.Open);
                _openedAt = time.GetTimestamp();
            }
        }

        Raise(changedFrom, CircuitState.Open);
    }

    /// <summary>A probe that ended without a verdict (cancelled, or a non-outage error): frees its slot.</summary>
    public void OnAbandoned(bool isProbe)
    {
        if (!isProbe)
        {
            return;
        }

        lock (_gate)
        {
            _probesInFlight = Math.Max(0, _probesInFlight - 1);
        }
    }

    private bool OpenTimeoutPassed() => time.GetElapsedTime(_openedAt) >= openTimeout;

    private CircuitState Transition(CircuitState to)
    {
        var from = _state;
        _state = to;
        if (to != CircuitState.HalfOpen)
        {
            _probesInFlight = 0;
        }

        return from;
    }

    private void Raise(CircuitState? from, CircuitState to)
    {
        if (from is { } f && f != to)
        {
            StateChanged?.Invoke(f, to);
        }
    }
}
