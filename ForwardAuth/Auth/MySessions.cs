using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// My sessions (<c>/oauth2/sessions</c>): a signed-in user's own sessions, found through the per-user index, and the
/// ending of one of them or of all but the current one — as a logout ends a session, on every replica at once. The
/// browser is authenticated by its session cookie exactly as <c>/auth</c> does it; without a session the answer is
/// <c>/auth</c>'s (a login, or 401). Sessions are known by public ids only (<see cref="SessionIds"/>); only the
/// user's own sessions are ever listed or ended. Listing writes nothing beyond the current session's activity.
/// </summary>
internal sealed class MySessions(
    RequestVerifier verifier,
    SessionStore sessions,
    SessionIds ids,
    LogoutFlow logout,
    ForwardAuthMetrics metrics,
    ILogger<MySessions> logger)
{
    /// <summary>The value of <c>revoke</c> that ends every session of the user but the current one.</summary>
    public const string All = "all";

    /// <summary>GET: the user's sessions, the current one first. Never changes anything (the query is not read).</summary>
    public async Task<AuthOutcome> ListAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var (found, refusal) = await verifier.SessionOrChallengeAsync(request, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            return refusal!;
        }

        var listed = await sessions.ListAsync(found.Session with { Record = found.Record }, cancellationToken).ConfigureAwait(false);
        return new AuthOutcome.SessionsListed(found.Record.Identity, listed.Select(Summary).ToList(), ids.CsrfTokenOf(listed[0].HandleHash));
    }

    /// <summary>
    /// POST <c>?revoke=&lt;id&gt;&amp;csrf=&lt;token&gt;</c>: ends one session of the user (<c>revoke=all</c>: all but the
    /// current one). No session: <c>/auth</c>'s answer; bad parameters: 400; wrong or missing CSRF token: 403; an id
    /// that is not one of the user's live sessions: 404.
    /// </summary>
    public async Task<AuthOutcome> RevokeAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var (found, refusal) = await verifier.SessionOrChallengeAsync(request, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            return refusal!;
        }

        var revoke = request.QueryValue("revoke");
        if (revoke is not { Length: > 0 and <= 64 })
        {
            return new AuthOutcome.BadRequest("revoke=<session id> or revoke=all is required, once");
        }

        var user = found.Record.Identity.Identifier;
        var currentHash = StoreKeys.Hash(found.Session.Handle);
        if (!ids.IsCsrfTokenOf(currentHash, request.QueryValue("csrf")))
        {
            Log.SessionRevocationRefused(logger, user, "missing or wrong CSRF token");
            return new AuthOutcome.SessionsRefused(403, "invalid_csrf", "the form is out of date or not this session's: load the page again");
        }

        var listed = await sessions.ListAsync(found.Session with { Record = found.Record }, cancellationToken).ConfigureAwait(false);
        var kind = revoke == All ? "all" : "one";
        var targets = kind == "all"
            ? listed.Where(s => !s.Current).ToList()
            : listed.Where(s => ids.PublicIdOf(s.HandleHash) == revoke).ToList();
        if (kind == "one" && targets.Count == 0)
        {
            Log.SessionRevocationRefused(logger, user, "no such session of this user");
            return new AuthOutcome.SessionsRefused(404, "not_found", "no such session: it has ended already, or it is not yours");
        }

        foreach (var target in targets)
        {
            await logout.EndSessionAsync(target.HandleHash, target.Record, cancellationToken).ConfigureAwait(false);
        }

        Log.SessionsRevoked(logger, user, targets.Count, kind);
        metrics.SessionRevocations.WithLabels(kind).Inc(targets.Count);
        return new AuthOutcome.SessionsEnded(targets.Count, kind);
    }

    private SessionSummary Summary(ListedSession session) => new(
        ids.PublicIdOf(session.HandleHash),
        session.Record.IssuedAt,
        session.Record.LastSeenAt,
        session.Record.Browser,
        session.Record.LoginAddress,
        session.Current,
        session.Record.Adopted);
}
