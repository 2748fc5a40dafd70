using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>
/// Every <c>sessionCheckInterval</c>, starts the due checks of the sessions this replica saw recently
/// (<see cref="SessionChecks.SweepAsync"/>): an idle session is checked at most about two intervals after its provider
/// session ended, without a request and without scanning the store. Does nothing while the check is off.
/// </summary>
internal sealed class SessionCheckSweep(SessionChecks checks, ForwardAuthOptions options, TimeProvider time, ILogger<SessionCheckSweep> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!checks.Enabled)
        {
            return;
        }

        Log.SessionCheckOn(logger, (int)options.SessionCheckInterval.TotalSeconds, SessionChecks.MaxTracked);
        using var timer = new PeriodicTimer(options.SessionCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await checks.SweepAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
