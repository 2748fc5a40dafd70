using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// Regulation (Authelia's name): a client address that presents <c>regulation.maxRetries</c> invalid credentials within
/// <c>regulation.findTime</c> is banned for <c>regulation.banTime</c>; while banned, its requests that carry credentials
/// are refused (<see cref="AuthOutcome.TooManyAttempts"/>) without being judged. Counted in the shared store, so every
/// replica agrees. Expired credentials are not failures: the callers count only forged, malformed or unknown ones.
/// </summary>
internal sealed class Regulator(RegulationStore store, ForwardAuthOptions options, ForwardAuthMetrics metrics, ILogger<Regulator> logger)
{
    private readonly RegulationOptions _settings = options.Regulation;

    /// <summary>The refusal for a banned client, or null when it may be judged.</summary>
    public async Task<AuthOutcome.TooManyAttempts?> RefusalAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        if (!_settings.Enabled || request.Client.Length == 0
            || await store.BanLeftAsync(request.Client, cancellationToken).ConfigureAwait(false) is not { } left)
        {
            return null;
        }

        metrics.RegulationRefusals.Inc();
        return new AuthOutcome.TooManyAttempts(left);
    }

    /// <summary>Counts one invalid credential of <paramref name="kind"/> (bearer, cookie, state); bans at the limit.</summary>
    public async Task FailedAsync(AuthRequest request, string kind, CancellationToken cancellationToken)
    {
        if (!_settings.Enabled || request.Client.Length == 0)
        {
            return;
        }

        metrics.RegulationFailures.WithLabels(kind).Inc();
        var failures = await store.CountFailureAsync(request.Client, _settings.FindTime, cancellationToken).ConfigureAwait(false);
        if (failures >= _settings.MaxRetries && await store.BanAsync(request.Client, _settings.BanTime, cancellationToken).ConfigureAwait(false))
        {
            metrics.RegulationBans.Inc();
            Log.ClientBanned(logger, request.Client, (long)_settings.BanTime.TotalSeconds, failures, (long)_settings.FindTime.TotalSeconds, kind);
        }
    }
}
