using System.Buffers.Text;
using System.Security.Cryptography;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

namespace ForwardAuth.Sessions;

/// <summary>A session found for a cookie: from the store's record, or decided from the sealed cookie alone.</summary>
/// <param name="ReissuedCookie">A cookie sealed again under the current key, when an older key had sealed it.</param>
internal sealed record ResolvedSession(string Handle, SessionRecord Record, SessionSource Source, string? ReissuedCookie = null)
{
    public bool FromCookieOnly => Source != SessionSource.StoreRecord;
}

/// <summary>A session of a user as My sessions lists it: known by its handle's hash, never by the handle.</summary>
internal sealed record ListedSession(string HandleHash, SessionRecord Record, bool Current);

/// <summary>Where a resolved session came from (the Debug decision line says it).</summary>
internal enum SessionSource
{
    /// <summary>The store's record decided.</summary>
    StoreRecord,

    /// <summary>The store had no record: the sealed cookie decided and was adopted into the store.</summary>
    AdoptedCookie,
}

/// <summary>A session, or why the cookie gave none (a reason fit for a log: never the cookie's value).</summary>
internal readonly record struct SessionResolution(ResolvedSession? Session, string Refusal);

/// <summary>
/// Server-side sessions. The store's record decides when it is there; when the store lacks it or cannot be reached, a
/// valid sealed cookie decides unless its handle is known revoked, and the session is adopted into the store (without
/// tokens). Store keys are hashes of the handle and records are encrypted (<see cref="SessionRecords"/>: a hot record
/// every decision reads, a token record read only where a token is used), so the store
/// alone reveals neither tokens, claims nor a usable cookie. Ending a session leaves revocation markers
/// (<see cref="Revocations"/>); the <c>sid</c>/<c>sub</c> indexes (<see cref="SessionIndexes"/>) let a back-channel
/// logout end all of them.
/// </summary>
internal sealed class SessionStore(
    SessionRecords records,
    Revocations revocations,
    SessionIndexes indexes,
    SessionCookie cookie,
    ForwardAuthOptions options,
    TimeProvider time,
    ILogger<SessionStore> logger,
    ForwardAuthMetrics? metrics = null)
{
    public string CookieName => cookie.Name;

    /// <summary>Stores a new session under a fresh random handle and returns the sealed cookie value.</summary>
    public async Task<string> CreateAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        var handle = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await records.WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken).ConfigureAwait(false);
        await indexes.AddAsync(StoreKeys.Hash(handle), record.Sid, record.Identity.Subject, record.ExpiresAt - time.GetUtcNow(), cancellationToken)
            .ConfigureAwait(false);
        if (record.LoginId is { } loginId)
        {
            await indexes.AddToLoginAsync(StoreKeys.Hash(handle), loginId, record.ExpiresAt - time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }

        return SealFor(handle, record);
    }

    /// <summary>
    /// A step-up of an existing session: the record replaced under the same handle (its lifetime unchanged), a new
    /// <c>sid</c> indexed, and the cookie sealed again for the same handle (the old cookie keeps opening it).
    /// </summary>
    public async Task<string> ReplaceAsync(string handle, SessionRecord record, CancellationToken cancellationToken)
    {
        await records.WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken).ConfigureAwait(false);
        await indexes.AddAsync(StoreKeys.Hash(handle), record.Sid, record.Identity.Subject, record.ExpiresAt - time.GetUtcNow(), cancellationToken)
            .ConfigureAwait(false);
        return SealFor(handle, record);
    }

    private string SealFor(string handle, SessionRecord record) =>
        cookie.Seal(CookiePayload.For(handle, record.Identity, record.IssuedAt, record.ExpiresAt, record.Acr, record.AuthTime));

    public async Task<ResolvedSession?> ResolveAsync(string? cookieValue, CancellationToken cancellationToken) =>
        (await LookUpAsync(cookieValue, cancellationToken).ConfigureAwait(false)).Session;

    /// <summary>
    /// The refusal of a cookie this deployment's keys do not open (forged, corrupted, or sealed by a key since removed):
    /// what regulation counts, unlike an expired or logged-out session.
    /// </summary>
    public const string UnopenedCookie = "cookie not sealed by this deployment's keys";

    /// <summary><see cref="ResolveAsync"/>, saying why there is no session when there is none.</summary>
    public async Task<SessionResolution> LookUpAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        var payload = cookie.TryOpen(cookieValue, out var sealedWithOldKey);
        if (payload is null)
        {
            if (string.IsNullOrEmpty(cookieValue))
            {
                return new(null, "no session cookie");
            }

            Log.CookieRejected(logger, "not sealed by this deployment's keys");
            return new(null, UnopenedCookie);
        }

        var now = time.GetUtcNow();
        if (payload.ExpiresAt <= now.ToUnixTimeSeconds())
        {
            Log.CookieRejected(logger, "expired");
            return new(null, "session cookie expired");
        }

        var reissued = sealedWithOldKey ? cookie.Seal(payload) : null;
        var loaded = await records.LoadAsync(payload.Handle, cancellationToken).ConfigureAwait(false);
        if (loaded is { Record.Adopted: true } && await revocations.IsHandleRevokedAsync(payload.Handle, cancellationToken).ConfigureAwait(false))
        {
            // An adopted record can be written by a replica that could not see the revocation marker (it decided
            // from the cookie during an outage, and its journal replayed the record to Redis afterwards): the marker
            // still wins, so a logged-out cookie never comes back. Only adopted records pay for this extra read.
            Log.CookieRejected(logger, "session was logged out");
            return new(null, "session revoked (logged out)");
        }

        if (loaded is { } found)
        {
            return await CheckActivityAsync(payload.Handle, found.Record, found.Outdated, cancellationToken).ConfigureAwait(false) is { } record
                ? new(new ResolvedSession(payload.Handle, record, SessionSource.StoreRecord, reissued), "")
                : new(null, "session expired or idle too long");
        }

        if (await revocations.IsHandleRevokedAsync(payload.Handle, cancellationToken).ConfigureAwait(false))
        {
            Log.CookieRejected(logger, "session was logged out");
            return new(null, "session revoked (logged out)");
        }

        // Only if absent: a full record written meanwhile (or replayed after an outage) must not be clobbered.
        var adopted = FromCookie(payload) with { LastSeenAt = now };
        await records.WriteAsync(payload.Handle, adopted, onlyIfAbsent: true, cancellationToken).ConfigureAwait(false);
        Log.SessionAdopted(logger, adopted.Identity.Identifier);
        return new(new ResolvedSession(payload.Handle, adopted, SessionSource.AdoptedCookie, reissued), "");
    }

    /// <summary>The current record of a session, with its tokens (null when it ended or expired).</summary>
    public Task<SessionRecord?> ReloadAsync(string handle, CancellationToken cancellationToken) =>
        ReloadByHashAsync(StoreKeys.Hash(handle), cancellationToken);

    /// <summary>The current record of a session known by its handle's hash, with its tokens (null when it ended or expired).</summary>
    public async Task<SessionRecord?> ReloadByHashAsync(string handleHash, CancellationToken cancellationToken) =>
        await records.LoadByHashAsync(handleHash, cancellationToken).ConfigureAwait(false) is { } found && found.Record.ExpiresAt > time.GetUtcNow()
            ? await records.WithTokensAsync(handleHash, found.Record, cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>True when a decision forwards a token (<see cref="SessionTokenPolicy"/>): it then reads the token record.</summary>
    public bool DecisionsForwardTokens => records.Policy.ForwardsTokens;

    /// <summary>
    /// <paramref name="record"/> (as a decision read it: no tokens) of the session whose handle hashes to
    /// <paramref name="handleHash"/>, with the tokens of its token record — what a forwarded token, a logout or a
    /// refresh needs; unchanged when its tokens were read already.
    /// </summary>
    public Task<SessionRecord> WithTokensAsync(string handleHash, SessionRecord record, CancellationToken cancellationToken) =>
        records.WithTokensAsync(handleHash, record, cancellationToken);

    /// <summary>
    /// Gives a session made before single sign-on was configured a login id (written to its record and the login's
    /// index), so that the sessions a ticket makes from it end with it. Returns the record as stored.
    /// </summary>
    public async Task<SessionRecord> EnsureLoginIdAsync(string handle, SessionRecord record, CancellationToken cancellationToken)
    {
        if (record.LoginId is not null)
        {
            return record;
        }

        record = record with { LoginId = NewLoginId() };
        await UpdateAsync(handle, record, cancellationToken).ConfigureAwait(false);
        await indexes.AddToLoginAsync(StoreKeys.Hash(handle), record.LoginId, record.ExpiresAt - time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>A fresh, random login id (not a secret: it names the group of sessions in the store and in logs).</summary>
    public static string NewLoginId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>Ends every session of a login (single sign-on), on every replica: revocation markers, records deleted.</summary>
    public Task<int> EndLoginAsync(string loginId, CancellationToken cancellationToken) =>
        indexes.EndLoginAsync(loginId, handleHash => EndByHashAsync(handleHash, time.GetUtcNow() + options.SessionMaxAge, cancellationToken), cancellationToken);

    /// <summary>Writes a changed record (new tokens, activity) under the current key; its lifetime never grows.</summary>
    public Task UpdateAsync(string handle, SessionRecord record, CancellationToken cancellationToken) =>
        records.WriteAsync(handle, record, onlyIfAbsent: false, cancellationToken);

    /// <summary>
    /// Ends a session everywhere: leaves a revocation marker that outlives the cookie (so the logged-out cookie is
    /// never adopted again), deletes the record, and marks its access token revoked until it expires.
    /// </summary>
    public Task EndAsync(string handle, SessionRecord record, CancellationToken cancellationToken) =>
        EndByHashAsync(StoreKeys.Hash(handle), record, cancellationToken);

    /// <summary><see cref="EndAsync"/> for a session known by its handle's hash (a member of a session index).</summary>
    public async Task EndByHashAsync(string handleHash, SessionRecord record, CancellationToken cancellationToken)
    {
        if (record.TokensUnread && record.HeldTokens.HasFlag(SessionTokenKinds.Access))
        {
            // The access token is marked revoked below: read it before its record is deleted.
            record = await records.WithTokensAsync(handleHash, record, cancellationToken).ConfigureAwait(false);
        }

        await EndByHashAsync(handleHash, record.ExpiresAt, cancellationToken).ConfigureAwait(false);
        if (record.AccessToken is { } accessToken)
        {
            await revocations.RevokeAccessTokenAsync(accessToken, record.AccessTokenExpiresAt ?? record.ExpiresAt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends every session of a provider session (<paramref name="sid"/>) or of a user (<paramref name="subject"/>).</summary>
    public Task<int> EndAllAsync(string? sid, string? subject, CancellationToken cancellationToken) =>
        indexes.EndAllAsync(sid, subject, handleHash => EndByHashAsync(handleHash, time.GetUtcNow() + options.SessionMaxAge, cancellationToken), cancellationToken);

    /// <summary>
    /// The live sessions of <paramref name="current"/>'s user, the current one first (as resolved, even when the index
    /// lacks it: an adopted session is not indexed). Index members whose record is gone, expired, idle too long, of
    /// another subject or revoked are skipped. Reading them writes nothing.
    /// </summary>
    public async Task<IReadOnlyList<ListedSession>> ListAsync(ResolvedSession current, CancellationToken cancellationToken)
    {
        var subject = current.Record.Identity.Subject;
        var currentHash = StoreKeys.Hash(current.Handle);
        var listed = new List<ListedSession> { new(currentHash, current.Record, Current: true) };
        var now = time.GetUtcNow();
        foreach (var handleHash in await indexes.OfSubjectAsync(subject, cancellationToken).ConfigureAwait(false))
        {
            if (handleHash == currentHash
                || await records.RecordByHashAsync(handleHash, cancellationToken).ConfigureAwait(false) is not { } record
                || record.ExpiresAt <= now
                || record.Identity.Subject != subject
                || (options.SessionIdleTimeout > TimeSpan.Zero && now - (record.LastSeenAt ?? record.IssuedAt) > options.SessionIdleTimeout)
                || (record.Adopted && await revocations.IsHandleHashRevokedAsync(handleHash, cancellationToken).ConfigureAwait(false)))
            {
                continue;
            }

            listed.Add(new ListedSession(handleHash, record, Current: false));
        }

        return listed;
    }

    /// <summary>True when the access token was revoked by a logout (a bearer token from an ended session).</summary>
    public Task<bool> IsAccessTokenRevokedAsync(string accessToken, CancellationToken cancellationToken) =>
        revocations.IsAccessTokenRevokedAsync(accessToken, cancellationToken);

    private async Task<SessionRecord?> CheckActivityAsync(string handle, SessionRecord record, bool outdated, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (record.ExpiresAt <= now)
        {
            return null;
        }

        var lastSeen = record.LastSeenAt ?? record.IssuedAt;
        if (options.SessionIdleTimeout > TimeSpan.Zero && now - lastSeen > options.SessionIdleTimeout)
        {
            Log.SessionIdleExpired(logger, record.Identity.Identifier);
            metrics?.Logouts.WithLabels("idle").Inc();
            await EndAsync(handle, record, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Reading writes nothing — except, at most once per interval, the activity (what an idle timeout needs and My
        // sessions shows as "last seen"), and once after a key rotation, the record sealed again under the new key, and
        // once after an upgrade, a record of the earlier shape (tokens inside) written split (hot record + tokens).
        var recordActivity = now - lastSeen >= options.SessionActivityInterval;
        if (recordActivity || outdated)
        {
            record = recordActivity ? record with { LastSeenAt = now } : record;
            await UpdateAsync(handle, record, cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    private async Task EndByHashAsync(string handleHash, DateTimeOffset cookieExpiresAt, CancellationToken cancellationToken)
    {
        await revocations.RevokeHandleAsync(handleHash, cookieExpiresAt, cancellationToken).ConfigureAwait(false);
        await records.DeleteByHashAsync(handleHash, cancellationToken).ConfigureAwait(false);
    }

    private static SessionRecord FromCookie(CookiePayload payload) => new()
    {
        Identity = payload.Identity,
        IssuedAt = DateTimeOffset.FromUnixTimeSeconds(payload.IssuedAt),
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(payload.ExpiresAt),
        Acr = payload.Acr,
        AuthTime = payload.AuthTime is { } t ? DateTimeOffset.FromUnixTimeSeconds(t) : null,
        Adopted = true,
    };
}
