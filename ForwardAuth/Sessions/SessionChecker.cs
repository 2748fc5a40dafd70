using System.Net;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>What one check of a session at the provider found.</summary>
internal enum SessionCheckOutcome
{
    /// <summary>The provider still honours the session (a refresh succeeded, or userinfo answered).</summary>
    Ok,

    /// <summary>The provider refused it (<c>invalid_grant</c>, userinfo 401): the session has ended everywhere.</summary>
    Ended,

    /// <summary>The provider could not be asked (unreachable, 5xx, timeout): the session is kept.</summary>
    Skipped,

    /// <summary>The session is gone already (logged out, expired): nothing to check.</summary>
    Gone,

    /// <summary>Not asked, for a reason that is no outage: a refresh of this session runs already, or it has no tokens.</summary>
    NotAsked,
}

/// <summary>
/// One check of one session at the provider (<c>sessionCheckInterval</c>): with a refresh token, a refresh under the
/// session's refresh lease — the new tokens are stored exactly as a due refresh stores them
/// (<see cref="SessionRefresher.RefreshNowAsync"/>), so a rotating refresh token never logs the user out — otherwise
/// a userinfo call with the access token. A refusal ends the session everywhere (<see cref="SessionStore.EndAsync"/>,
/// as a logout does); an outage never does.
/// </summary>
internal sealed class SessionChecker(
    SessionStore sessions,
    SessionRefresher refresher,
    RefreshLeases leases,
    OidcProtocol protocol,
    ForwardAuthOptions options,
    TimeProvider time,
    ILogger<SessionChecker> logger,
    ForwardAuthMetrics? metrics = null)
{
    private int IntervalSeconds => (int)options.SessionCheckInterval.TotalSeconds;

    public async Task<SessionCheckOutcome> CheckAsync(string handle, CancellationToken cancellationToken)
    {
        var record = await sessions.ReloadAsync(handle, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return SessionCheckOutcome.Gone;
        }

        return record.RefreshToken is not null
            ? await ByRefreshAsync(handle, cancellationToken).ConfigureAwait(false)
            : await ByUserinfoAsync(handle, record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An outcome the caller could not reach (an exception on the way): counted and logged as skipped.</summary>
    public void Skipped(string reason)
    {
        Log.SessionCheckSkipped(logger, "a session", reason, IntervalSeconds);
        metrics?.SessionCheckOutcomes.WithLabels("skipped").Inc();
    }

    private async Task<SessionCheckOutcome> ByRefreshAsync(string handle, CancellationToken cancellationToken)
    {
        await using var lease = await leases.TryAcquireAsync(handle, cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            // A refresh of this session runs (here or on another replica): it asks the provider itself, and ends the
            // session if the provider refuses. Two refreshes at once could spend a rotating refresh token twice.
            Log.SessionCheckNotRun(logger, "a refresh of the session is running");
            return SessionCheckOutcome.NotAsked;
        }

        // Read under the lease: the latest (possibly rotated) refresh token.
        var current = await sessions.ReloadAsync(handle, cancellationToken).ConfigureAwait(false);
        if (current?.RefreshToken is null)
        {
            return current is null ? SessionCheckOutcome.Gone : SessionCheckOutcome.NotAsked;
        }

        var result = await refresher.RefreshNowAsync(handle, current, lease, cancellationToken).ConfigureAwait(false);
        return result.Record is null ? Ended(current, result.Reason)
            : result.Failed ? Skipped(current, result.Reason)
            : Passed(current, "refresh");
    }

    private async Task<SessionCheckOutcome> ByUserinfoAsync(string handle, SessionRecord record, CancellationToken cancellationToken)
    {
        if (record.AccessToken is not { } accessToken)
        {
            // Adopted from a cookie (no tokens): there is nothing to ask the provider with until the next login.
            return SessionCheckOutcome.NotAsked;
        }

        if (record.AccessTokenExpiresAt is { } expiry && expiry <= time.GetUtcNow())
        {
            // userinfo would answer 401 for the expiry, not for the provider's session: that must not log anyone out.
            return Skipped(record, "the access token has expired and the session has no refresh token");
        }

        var response = await protocol.UserInfoAsync(accessToken, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return Skipped(record, "the provider has no userinfo_endpoint");
        }

        if (response.HttpStatusCode == HttpStatusCode.Unauthorized)
        {
            await sessions.EndAsync(handle, record, cancellationToken).ConfigureAwait(false);
            return Ended(record, "userinfo answered 401");
        }

        return response.IsError
            ? Skipped(record, "userinfo: " + (response.Error ?? response.ErrorType.ToString()))
            : Passed(record, "userinfo");
    }

    private SessionCheckOutcome Ended(SessionRecord record, string reason)
    {
        Log.SessionEndedByCheck(logger, record.Identity.Identifier, reason);
        metrics?.SessionCheckOutcomes.WithLabels("ended").Inc();
        return SessionCheckOutcome.Ended;
    }

    private SessionCheckOutcome Skipped(SessionRecord record, string reason)
    {
        Log.SessionCheckSkipped(logger, record.Identity.Identifier, reason, IntervalSeconds);
        metrics?.SessionCheckOutcomes.WithLabels("skipped").Inc();
        return SessionCheckOutcome.Skipped;
    }

    private SessionCheckOutcome Passed(SessionRecord record, string method)
    {
        Log.SessionCheckPassed(logger, record.Identity.Identifier, method);
        metrics?.SessionCheckOutcomes.WithLabels("ok").Inc();
        return SessionCheckOutcome.Ok;
    }
}
