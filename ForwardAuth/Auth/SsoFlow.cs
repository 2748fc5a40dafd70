using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// One login across unrelated domains (<c>authURL</c> + <c>ssoDomains</c>). A browser without a session on a joining
/// host is sent to the auth host with a state whose random value stays in a cookie on the joining host; the auth host,
/// holding a session (else after a normal login there), answers with a one-time ticket bound to the target origin, the
/// state and the login; <c>/oauth2/ticket</c> on the joining host redeems it into a session of the same login.
/// </summary>
internal sealed class SsoFlow(
    SsoTickets tickets,
    SessionStore sessions,
    LoginFlow login,
    ForwardAuthOptions options,
    TimeProvider time,
    ForwardAuthMetrics metrics,
    ILogger<SsoFlow> logger)
{
    /// <summary>How long the state cookie on the joining host lives: the trip through the auth host and a login there.</summary>
    public static readonly TimeSpan StateLifetime = LoginCookie.Lifetime;

    public string StateCookiePrefix => options.CookiePrefix + "sso_";

    /// <summary>True when a browser on this origin without a session goes to the auth host instead of the provider.</summary>
    public bool Joins(AuthRequest request) =>
        options.Sso is { } sso
        && Uri.TryCreate(request.Origin + "/", UriKind.Absolute, out var origin)
        && sso.Covers(origin.IdnHost)
        && !ReturnUrl.IsSameOrigin(sso.AuthUrl, origin);

    /// <summary>The challenge of a joining host: 302 (303 after a form post) to the auth host, the state cookie set here.</summary>
    public AuthOutcome.LoginRedirect RedirectToAuthHost(AuthRequest request, bool seeOther)
    {
        var sso = options.Sso!;
        var state = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var stateHash = StoreKeys.Hash(state);
        var rd = ReturnUrl.For(request.Origin, request.PathAndQuery);
        var url = sso.AuthOrigin + SsoOptions.IssuePath + "?rd=" + Uri.EscapeDataString(rd) + "&state=" + stateHash;
        Log.SsoSentToAuthHost(logger, new Uri(request.Origin).Authority, sso.AuthOrigin);
        return new AuthOutcome.LoginRedirect(url, StateCookieName(stateHash), state, StateLifetime, seeOther, Challenged: true);
    }

    /// <summary>
    /// <c>/oauth2/sso?rd=&amp;state=</c> on the auth host: a ticket for <c>rd</c>'s origin when this browser holds a
    /// session here, else a login here that comes back to this URL. A target outside <c>ssoDomains</c> gets nothing.
    /// </summary>
    public async Task<AuthOutcome> IssueAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var sso = options.Sso!;
        var rd = request.QueryValue("rd");
        if (Target(sso, rd) is not { } target)
        {
            return NotIssued(400, "target_refused", "the return address is not on a host under ssoDomains");
        }

        var stateHash = request.QueryValue("state");
        if (stateHash is null || stateHash.Length != 64 || !stateHash.All(char.IsAsciiHexDigitLower))
        {
            return NotIssued(400, "target_refused", "the request has no valid state");
        }

        var session = await sessions.ResolveAsync(request.Cookie(sessions.CookieName), cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            Log.SsoLoginOnAuthHost(logger, target.GetLeftPart(UriPartial.Authority));
            return await login.StartAsync(request.Origin, ReturnUrl.For(request.Origin, request.PathAndQuery), seeOther: false, challenged: false, cancellationToken)
                .ConfigureAwait(false);
        }

        var record = await sessions.EnsureLoginIdAsync(session.Handle, session.Record, cancellationToken).ConfigureAwait(false);
        var targetOrigin = target.GetLeftPart(UriPartial.Authority);
        var ticket = await tickets.CreateAsync(
            new SsoTicketRecord(targetOrigin, stateHash, StoreKeys.Hash(session.Handle), record.LoginId!, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        Log.SsoTicketIssued(logger, targetOrigin, record.Identity.Identifier, record.LoginId!);
        metrics.SsoTicketResults.WithLabels("issued").Inc();
        return new AuthOutcome.Redirect(targetOrigin + SsoOptions.TicketPath + "?ticket=" + ticket + "&rd=" + Uri.EscapeDataString(target.AbsoluteUri));
    }

    /// <summary>
    /// <c>/oauth2/ticket?ticket=&amp;rd=</c> on a joining host: checked (this origin, this browser's state) before it is
    /// taken, then taken once across replicas; the new session copies the login's identity and tokens (no provider
    /// round trip) and joins its login, so that a logout anywhere ends it too.
    /// </summary>
    public async Task<AuthOutcome> RedeemAsync(AuthRequest request, CancellationToken cancellationToken)
    {
        var ticket = request.QueryValue("ticket");
        if (string.IsNullOrEmpty(ticket) || ticket.Length > 100)
        {
            return Refused(request, 400, "unknown", "the request has no ticket", null);
        }

        var pending = await tickets.PeekAsync(ticket, cancellationToken).ConfigureAwait(false);
        if (pending is null || time.GetUtcNow() - pending.CreatedAt > SsoTickets.Lifetime)
        {
            return Refused(request, 403, "unknown", "this sign-in ticket has expired or was already used", null);
        }

        var stateCookieName = StateCookieName(pending.StateHash);
        if (!Uri.TryCreate(request.Origin + "/", UriKind.Absolute, out var origin) || !Uri.TryCreate(pending.TargetOrigin + "/", UriKind.Absolute, out var bound)
            || !ReturnUrl.IsSameOrigin(bound, origin))
        {
            return Refused(request, 403, "other_origin", "this sign-in ticket was issued for another site", null);
        }

        var state = request.Cookie(stateCookieName);
        if (state is null || !FixedTimeEquals(StoreKeys.Hash(state), pending.StateHash))
        {
            return Refused(request, 403, "other_browser", "this sign-in ticket was not requested by this browser", stateCookieName);
        }

        var taken = await tickets.ConsumeAsync(ticket, cancellationToken).ConfigureAwait(false);
        if (taken is null || !FixedTimeEquals(taken.StateHash, pending.StateHash))
        {
            metrics.ReplayRejections.WithLabels("sso_ticket").Inc();
            return Refused(request, 403, "unknown", "this sign-in ticket was already used", stateCookieName);
        }

        if (await sessions.ReloadByHashAsync(taken.SourceHandleHash, cancellationToken).ConfigureAwait(false) is not { } source
            || source.LoginId != taken.LoginId)
        {
            return Refused(request, 403, "login_ended", "the login this ticket came from has ended; sign in again", stateCookieName);
        }

        var now = time.GetUtcNow();
        var cookie = await sessions.CreateAsync(source with { IssuedAt = now, LastSeenAt = now }, cancellationToken).ConfigureAwait(false);
        Log.SsoSessionJoined(logger, source.Identity.Identifier, request.Origin, taken.LoginId);
        metrics.SsoTicketResults.WithLabels("redeemed").Inc();
        return new AuthOutcome.SignedIn(cookie, ReturnTo(request.Origin, origin, request.QueryValue("rd")), stateCookieName);
    }

    private string StateCookieName(string stateHash) => StateCookiePrefix + stateHash[..16];

    // rd as the auth host sent it back: an absolute URL on this very origin, else the open-redirect rules of ?rd=.
    private static string ReturnTo(string originText, Uri origin, string? rd) =>
        rd is not null && rd.All(c => c is > ' ' and <= '~') && Uri.TryCreate(rd, UriKind.Absolute, out var target) && ReturnUrl.IsSameOrigin(origin, target)
            ? target.AbsoluteUri
            : ReturnUrl.FromRd(originText, rd, "");

    // The target of a ticket: an absolute http(s) URL, printable ASCII, no user info, on a host under ssoDomains.
    private static Uri? Target(SsoOptions sso, string? rd) =>
        rd is not null && rd.Length <= 4096 && rd.All(c => c is > ' ' and <= '~')
        && Uri.TryCreate(rd, UriKind.Absolute, out var target)
        && target.Scheme is "https" or "http"
        && target.UserInfo.Length == 0
        && sso.Covers(target.IdnHost)
            ? target
            : null;

    private AuthOutcome.SignInFailed NotIssued(int status, string result, string reason)
    {
        Log.SsoTicketNotIssued(logger, reason);
        metrics.SsoTicketResults.WithLabels(result).Inc();
        return new AuthOutcome.SignInFailed(status, reason, null) { Code = "sso_" + result };
    }

    private AuthOutcome.SignInFailed Refused(AuthRequest request, int status, string result, string reason, string? stateCookieName)
    {
        Log.SsoTicketRefused(logger, request.Origin, reason);
        metrics.SsoTicketResults.WithLabels(result).Inc();
        return new AuthOutcome.SignInFailed(status, reason, stateCookieName) { Code = "sso_" + result };
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
