using Duende.IdentityModel.Client;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>What asking for a fresh session found.</summary>
internal abstract record SessionLookup
{
    private SessionLookup()
    {
    }

    /// <summary>A session whose tokens are fit to use (or that has none to refresh).</summary>
    public sealed record Found(ResolvedSession Session, SessionRecord Record) : SessionLookup;

    /// <summary>
    /// No usable session for this cookie (none, not ours, expired, logged out): <paramref name="Reason"/> for the client,
    /// <paramref name="Detail"/> which of these it was, for the Debug decision line.
    /// </summary>
    public sealed record Missing(string Reason, string Detail) : SessionLookup;

    /// <summary>The provider refused to refresh it (<c>invalid_grant</c>): the session has ended everywhere.</summary>
    public sealed record EndedByProvider : SessionLookup;
}

/// <summary>
/// What a refresh did: the session's record (null when the provider ended it), why, and whether the provider could not
/// be asked (an outage, a 5xx, a timeout: the record is kept as it was).
/// </summary>
internal readonly record struct RefreshResult(SessionRecord? Record, string Reason, bool Failed = false);

/// <summary>
/// Keeps a session's tokens fresh. When they come within the grace period of expiry, the replica that wins the
/// session's refresh lease refreshes them with the refresh token and stores the result (a rotated refresh token goes
/// into the same record write); every other request meanwhile uses the still-valid tokens, or — when they have already
/// expired — waits (bounded by <c>refreshWaitSeconds</c>) for the new ones. A refresh the provider refuses
/// (<c>invalid_grant</c>) ends that session only. The session's absolute lifetime is never extended.
/// </summary>
internal sealed class SessionRefresher(
    SessionStore sessions,
    RefreshLeases leases,
    OidcProtocol protocol,
    ForwardAuthOptions options,
    TimeProvider time,
    ILogger<SessionRefresher> logger,
    ForwardAuthMetrics? metrics = null,
    UserinfoClaims? userinfo = null)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>"Give me a fresh session": the session of this cookie, with its tokens refreshed when they are due.</summary>
    public async Task<SessionLookup> GetFreshAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        var (session, refusal) = await sessions.LookUpAsync(cookieValue, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return new SessionLookup.Missing(string.IsNullOrEmpty(cookieValue) ? "no session" : "session invalid or ended", refusal);
        }

        return await EnsureFreshAsync(session, cancellationToken).ConfigureAwait(false) is { } record
            ? new SessionLookup.Found(session, record)
            : new SessionLookup.EndedByProvider();
    }

    /// <summary>The session's record with tokens fit to use, or null when the provider ended the session.</summary>
    private async Task<SessionRecord?> EnsureFreshAsync(ResolvedSession session, CancellationToken cancellationToken)
    {
        var record = session.Record;
        if (session.FromCookieOnly || !record.HasRefreshToken || !IsDue(record))
        {
            return record;
        }

        await using var lease = await leases.TryAcquireAsync(session.Handle, cancellationToken).ConfigureAwait(false);
        return lease is not null
            ? await RefreshAsync(session.Handle, lease, cancellationToken).ConfigureAwait(false)
            : await AwaitOtherRefreshAsync(session.Handle, record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Due within the grace period — but never more than half of the tokens' lifetime early, so that tokens shorter
    /// than the grace period do not cause a refresh on every request.
    /// </summary>
    internal bool IsDue(SessionRecord record)
    {
        if (Earliest(record.AccessTokenExpiresAt, record.IdTokenExpiresAt) is not { } expiry)
        {
            return false;
        }

        var lifetime = expiry - (record.TokensIssuedAt ?? record.IssuedAt);
        var window = options.RefreshGracePeriod < lifetime / 2 ? options.RefreshGracePeriod : lifetime / 2;
        return time.GetUtcNow() >= expiry - window;
    }

    private async Task<SessionRecord?> RefreshAsync(string handle, RefreshLease lease, CancellationToken cancellationToken)
    {
        // Another replica may have refreshed between our read and our lease.
        var current = await sessions.ReloadAsync(handle, cancellationToken).ConfigureAwait(false);
        if (current?.RefreshToken is null || !IsDue(current))
        {
            return current;
        }

        return (await RefreshNowAsync(handle, current, lease, cancellationToken).ConfigureAwait(false)).Record;
    }

    /// <summary>
    /// Refreshes <paramref name="current"/> now, whether due or not (the caller holds the session's refresh lease and
    /// read the record under it): new tokens are stored exactly as a due refresh stores them, a refusal
    /// (<c>invalid_grant</c>) ends the session everywhere, a failure (outage, 5xx, timeout) keeps it as it is.
    /// </summary>
    internal async Task<RefreshResult> RefreshNowAsync(string handle, SessionRecord current, RefreshLease lease, CancellationToken cancellationToken)
    {
        // OidcClient refreshes (our validator checks a new ID token's subject); the answer is the endpoint's as received.
        var exchange = await protocol.RefreshAsync(current.RefreshToken!, current.Identity.Subject, cancellationToken).ConfigureAwait(false);
        var response = exchange.Answer;
        if (response is null || response.IsError)
        {
            if (response is { ErrorType: ResponseErrorType.Protocol, Error: "invalid_grant" or "unauthorized_client" })
            {
                Log.RefreshRefused(logger, current.Identity.Identifier, response.Error);
                metrics?.Refreshes.WithLabels("refused").Inc();
                await sessions.EndAsync(handle, current, cancellationToken).ConfigureAwait(false);
                return new RefreshResult(null, "refresh refused: " + response.Error);
            }

            var error = response is null ? exchange.Refusal ?? "no answer" : response.Error ?? response.ErrorType.ToString();
            Log.RefreshFailed(logger, current.Identity.Identifier, error);
            metrics?.Refreshes.WithLabels("failed").Inc();
            return new RefreshResult(current, "refresh failed: " + error, Failed: true);
        }

        var refreshed = await MergeAsync(current, response, exchange.IdTokenVerdict, cancellationToken).ConfigureAwait(false);
        if (refreshed is null)
        {
            await sessions.EndAsync(handle, current, cancellationToken).ConfigureAwait(false);
            return new RefreshResult(null, "the refreshed tokens are about another user");
        }

        if (lease.Held)
        {
            await sessions.UpdateAsync(handle, refreshed, cancellationToken).ConfigureAwait(false);
        }

        Log.SessionRefreshed(logger, refreshed.Identity.Identifier);
        metrics?.Refreshes.WithLabels("success").Inc();
        return new RefreshResult(refreshed, "refreshed");
    }

    private async Task<SessionRecord?> MergeAsync(SessionRecord current, TokenResponse response, TokenCheck check, CancellationToken cancellationToken)
    {
        var merged = MergeTokens(current, response, check);
        if (merged is null || !options.ClaimsFromUserinfo || userinfo is null)
        {
            return merged;
        }

        // claimsFromUserinfo: what userinfo says now goes on top; an answer about another sub ends the session, a
        // failed call keeps the identity the session had (the tokens are refreshed either way).
        var fromUserinfo = await userinfo.ForRefreshAsync(merged.Identity, merged.AccessToken, cancellationToken).ConfigureAwait(false);
        if (fromUserinfo.Identity is null)
        {
            Log.RefreshFailed(logger, current.Identity.Identifier, fromUserinfo.SubjectMismatch
                ? "the userinfo answer is about another user (sub): session ended"
                : "claims from userinfo not updated: " + fromUserinfo.Error);
            return fromUserinfo.SubjectMismatch ? null : merged;
        }

        return merged with { Identity = fromUserinfo.Identity };
    }

    private SessionRecord? MergeTokens(SessionRecord current, TokenResponse response, TokenCheck check)
    {
        var now = time.GetUtcNow();
        var updated = current with
        {
            AccessToken = response.AccessToken ?? current.AccessToken,
            AccessTokenExpiresAt = response.ExpiresIn > 0 ? now.AddSeconds(response.ExpiresIn) : current.AccessTokenExpiresAt,
            RefreshToken = response.RefreshToken ?? current.RefreshToken,
            TokensIssuedAt = now,
        };
        if (string.IsNullOrEmpty(response.IdentityToken))
        {
            return updated with { IdTokenExpiresAt = null };
        }

        if (!check.IsValid)
        {
            // The tokens came straight from the token endpoint; a rotated refresh token must be kept or the next
            // refresh would reuse a spent one. Only the new ID token and its claims are not taken.
            Log.RefreshFailed(logger, current.Identity.Identifier, "refreshed ID token not accepted: " + check.Error);
            return check.Identity is { } other && other.Subject != current.Identity.Subject ? null : updated;
        }

        // The identity survives a refresh: a claim the new ID token leaves out keeps its value (an ID token from a
        // refresh often carries fewer claims), so a user identified by e.g. email does not become their sub.
        var identity = check.Identity!;
        var known = current.Identity;
        return updated with
        {
            IdToken = response.IdentityToken,
            IdTokenExpiresAt = new DateTimeOffset(check.Token!.ValidTo, TimeSpan.Zero),
            Identity = known with
            {
                Identifier = identity.Identifier == identity.Subject ? known.Identifier : identity.Identifier,
                Email = identity.Email ?? known.Email,
                PreferredUsername = identity.PreferredUsername ?? known.PreferredUsername,
                Groups = identity.Groups is { Count: > 0 } groups ? groups : known.Groups,
                TemplateClaims = UserIdentity.RefreshedTemplateClaims(known.TemplateClaims, identity.TemplateClaims),
            },
        };
    }

    private async Task<SessionRecord?> AwaitOtherRefreshAsync(string handle, SessionRecord record, CancellationToken cancellationToken)
    {
        if (Earliest(record.AccessTokenExpiresAt, record.IdTokenExpiresAt) is { } expiry && expiry > time.GetUtcNow())
        {
            return record;
        }

        var waited = TimeSpan.Zero;
        var latest = record;
        while (waited < options.RefreshWait)
        {
            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
            waited += PollInterval;
            var reloaded = await sessions.ReloadAsync(handle, cancellationToken).ConfigureAwait(false);
            if (reloaded is null)
            {
                return null;
            }

            latest = reloaded;
            if (!IsDue(reloaded))
            {
                return reloaded;
            }
        }

        return latest;
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;
}
