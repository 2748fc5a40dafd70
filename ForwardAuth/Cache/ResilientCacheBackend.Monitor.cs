using ForwardAuth.Observability;

namespace ForwardAuth.Cache;

/// <summary>The resilient layer's background work: the health monitor, and the replay after the first connection.</summary>
internal sealed partial class ResilientCacheBackend
{
    /// <summary>
    /// Continuous health checking until <paramref name="stoppingToken"/> (the hosted service's) or disposal: a PING
    /// through the breaker every <c>healthCheckInterval</c> while closed — so a hung Redis is noticed even when every
    /// read is an L1 hit — and, while open, a PING every interval outside the breaker (no request waits on it): when
    /// Redis answers, the circuit goes half-open at once and the probe closes it, instead of waiting out
    /// <c>circuitBreakerTimeout</c>; once the timeout has passed a probe runs even without traffic.
    /// </summary>
    public async Task RunMonitorAsync(CancellationToken stoppingToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopping.Token);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var open = _breaker.State == CircuitState.Open;
                await Task.Delay(open && _openTimeout < _healthInterval ? _openTimeout : _healthInterval, _time, stopping.Token).ConfigureAwait(false);
                if (_breaker.State == CircuitState.Open && !await RedisAnswersWhileOpenAsync(stopping.Token).ConfigureAwait(false))
                {
                    continue;
                }

                if (!_breaker.TryAcquire(out var probe))
                {
                    continue;
                }

                var health = await _primary.HealthAsync(stopping.Token).ConfigureAwait(false);
                if (health.Healthy)
                {
                    _breaker.OnSuccess(probe);
                    ReplayLeftovers();
                }
                else if (health.FirstConnectPending)
                {
                    _breaker.OnAbandoned(probe);
                }
                else
                {
                    _breaker.OnFailure(probe);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// The circuit is open and its timeout has not passed: PING Redis directly. When it answers, the circuit goes
    /// half-open now (logged with how long it was open) and the caller's probe may close it.
    /// </summary>
    private async Task<bool> RedisAnswersWhileOpenAsync(CancellationToken cancellationToken)
    {
        var openedAt = _breaker.OpenedAt;
        var health = await _primary.HealthAsync(cancellationToken).ConfigureAwait(false);
        if (!health.Healthy || !_breaker.HalfOpenEarly())
        {
            return false;
        }

        Log.CircuitBreakerHalfOpenEarly(_logger, (int)_time.GetElapsedTime(openedAt).TotalSeconds, (int)_openTimeout.TotalSeconds);
        return true;
    }

    /// <summary>
    /// Redis answers, the circuit is closed, and writes are still journalled: a replay that failed without the breaker
    /// ever opening (writes that fell back while the first connection was pending, then a failed replay right after it)
    /// has no transition left to retry it, so a healthy probe does.
    /// </summary>
    private void ReplayLeftovers()
    {
        if (_journal.Count > 0 && _breaker.State == CircuitState.Closed && LastReplay.IsCompleted)
        {
            LastReplay = ReplayAsync();
        }
    }

    /// <summary>
    /// Once the first connection is made: writes that fell back to memory while it was being made (never counted by the
    /// breaker, so no transition replays them) are replayed now, unless the breaker is not closed (its own close will).
    /// </summary>
    public void OnFirstConnected()
    {
        if (_journal.Count > 0 && _breaker.State == CircuitState.Closed)
        {
            LastReplay = ReplayAsync();
        }
    }
}
