using ForwardAuth.Oidc;

namespace ForwardAuth.Auth;

/// <summary>
/// Everything an exchange with ForwardAuth can end in, complete: the endpoint only translates it into HTTP and never
/// calls back into Auth. <see cref="DecisionLabel"/> is the outcome's label in the decision metrics, or null for the
/// steps of a login (callback, logout, a login started on its own path), which their own metrics count.
/// </summary>
internal abstract record AuthOutcome
{
    private AuthOutcome()
    {
    }

    public abstract string? DecisionLabel { get; }

    /// <summary>Why a decision came out this way, for the Debug decision line (set by <see cref="RequestVerifier"/>).</summary>
    public DecisionNote? Note { get; init; }

    /// <summary>
    /// 200 with identity headers (all empty for an excluded path or a preflight). <paramref name="ReissuedSessionCookie"/>
    /// is the session cookie sealed again under the current key after a key rotation. <paramref name="IdToken"/>: the
    /// session's ID token, for <c>headers</c> templates that forward it.
    /// </summary>
    public sealed record Allow(UserIdentity? Identity, string? AccessToken, string? ReissuedSessionCookie = null, string? IdToken = null) : AuthOutcome
    {
        public override string DecisionLabel => "allow";
    }

    /// <summary>
    /// Authenticated but not allowed here: 403, never a redirect. <paramref name="Reason"/>, when set, is shown instead of
    /// the generic message (a step-up the provider did not satisfy).
    /// </summary>
    public sealed record Deny(UserIdentity Identity, string? Reason = null) : AuthOutcome
    {
        public override string DecisionLabel => "forbidden";
    }

    /// <summary>An API or XHR request without valid credentials: 401, and where a browser would log in.</summary>
    public sealed record LoginRequired(string Reason, bool InvalidToken, string LoginUrl) : AuthOutcome
    {
        public override string DecisionLabel => "unauthorized";
    }

    /// <summary>
    /// Signed in, but not strongly or recently enough for this route (its <c>acr</c>/<c>maxAge</c> rule), and no login is
    /// started here (an API request, a bearer token, nginx): 401 with the RFC 9470 challenge
    /// (<c>error="insufficient_user_authentication"</c>, <c>acr_values</c>, <c>max_age</c>).
    /// </summary>
    public sealed record StepUpRequired(string Description, IReadOnlyList<string> AcrValues, long? MaxAgeSeconds, string LoginUrl) : AuthOutcome
    {
        public override string DecisionLabel => "unauthorized";
    }

    /// <summary>
    /// A login was started: send the browser to <paramref name="AuthorizeUrl"/> (303 after a form post) with the cookie
    /// that carries this login, sealed, and binds it to the browser. <paramref name="Challenged"/> when it answers a request for a protected page.
    /// </summary>
    public sealed record LoginRedirect(
        string AuthorizeUrl, string BindingCookieName, string BindingValue, TimeSpan BindingLifetime, bool SeeOther, bool Challenged) : AuthOutcome
    {
        public override string? DecisionLabel => Challenged ? "challenge" : null;

        /// <summary>Older login cookies to expire with this answer (the bound on pending logins per browser, a spent login).</summary>
        public IReadOnlyList<string> StaleBindingCookies { get; init; } = [];
    }

    /// <summary>The callback made a session: set its cookie, drop the login's binding cookie, go back where the user was.</summary>
    public sealed record SignedIn(string SessionCookie, string ReturnUrl, string BindingCookieName) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>The callback was refused: a page with the status and a reason fit to show, and a link to try again.</summary>
    public sealed record SignInFailed(int Status, string Reason, string? BindingCookieName) : AuthOutcome
    {
        public override string? DecisionLabel => null;

        /// <summary>The failure's code in <c>forwardauth_logins_failed_total</c> (<c>unknown_state</c>, <c>state_replay</c>, …).</summary>
        public string Code { get; init; } = "";
    }

    /// <summary>Send the browser on (302) and nothing else: the auth host's answer with a single sign-on ticket.</summary>
    public sealed record Redirect(string Url) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>The session ended: clear its cookie and send the browser on (the provider's end-session endpoint).</summary>
    public sealed record SignedOut(string RedirectUrl) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>A back-channel logout was accepted and ended <paramref name="Ended"/> sessions: 200.</summary>
    public sealed record BackchannelLoggedOut(int Ended) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>A front-channel logout (<c>iss</c> + <c>sid</c>) was accepted and ended <paramref name="Ended"/> sessions: 200.</summary>
    public sealed record FrontchannelLoggedOut(int Ended) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>
    /// The shared store cannot guarantee what this step needs right now (single use under
    /// <c>replayProtection: closed</c> while Redis is unreachable): 503 with <c>Retry-After</c>, nothing created.
    /// </summary>
    public sealed record TryAgainLater(string Reason) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>
    /// Regulation: the client presented too many invalid credentials and is banned for <paramref name="RetryAfter"/> more;
    /// its requests that carry credentials are refused without being judged (429 with <c>Retry-After</c>).
    /// </summary>
    public sealed record TooManyAttempts(TimeSpan RetryAfter) : AuthOutcome
    {
        public override string DecisionLabel => "too_many_attempts";

        /// <summary>Whole seconds for <c>Retry-After</c>, rounded up (at least 1).</summary>
        public long RetryAfterSeconds => Math.Max(1, (long)Math.Ceiling(RetryAfter.TotalSeconds));
    }

    /// <summary>My sessions: the signed-in user's sessions (the current one first) and the CSRF token its forms carry.</summary>
    public sealed record SessionsListed(UserIdentity Identity, IReadOnlyList<SessionSummary> Sessions, string CsrfToken) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>My sessions ended <paramref name="Ended"/> sessions (<paramref name="Kind"/>: <c>one</c> or <c>all</c>).</summary>
    public sealed record SessionsEnded(int Ended, string Kind) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>My sessions refused a request: 403 (CSRF token) or 404 (no such session of this user), with a reason fit to show.</summary>
    public sealed record SessionsRefused(int Status, string Error, string Reason) : AuthOutcome
    {
        public override string? DecisionLabel => null;
    }

    /// <summary>The request cannot be judged (malformed, or a refused logout token): 400 with the reason.</summary>
    public sealed record BadRequest(string Reason) : AuthOutcome
    {
        public override string DecisionLabel => "bad_request";
    }
}

/// <summary>
/// The explanation of one decision: why (<paramref name="Reason"/>), from which credential or session source, under which
/// rules (summarised). Never a token, cookie value or secret.
/// </summary>
internal sealed record DecisionNote(string Reason, string Source, string Rules);

/// <summary>
/// One session as My sessions shows it: its public id (never the handle, the store key or a cookie value), when it was
/// created and last seen, the browser and address recorded at login (null for sessions created before they were), and
/// whether it is the session of this request.
/// </summary>
internal sealed record SessionSummary(
    string Id, DateTimeOffset CreatedAt, DateTimeOffset? LastSeenAt, string? Browser, string? Address, bool Current, bool Adopted);

internal enum ChallengeKind
{
    /// <summary>Browser navigation with GET/HEAD: 302 to the provider.</summary>
    Redirect,

    /// <summary>Browser form or other method: 303 to the provider.</summary>
    RedirectSeeOther,

    /// <summary>API or XHR: 401 with <c>WWW-Authenticate</c> and the login URL in <c>X-Auth-Redirect</c>.</summary>
    Unauthorized,
}
