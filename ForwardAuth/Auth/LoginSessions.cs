using Duende.IdentityModel.Client;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using Microsoft.IdentityModel.JsonWebTokens;

namespace ForwardAuth.Auth;

/// <summary>
/// The session a completed login ends in. A normal login makes a new session. A step-up login (started by a route's
/// <c>acr</c>/<c>maxAge</c> rule) of the user the browser already holds a valid session for updates that session in
/// place — same handle, so the cookie it holds keeps working on every route — with the new tokens, <c>acr</c> and
/// <c>auth_time</c>; of another user it makes a new session and leaves the old one untouched. When the ID token does not
/// satisfy what the step-up asked for, the session records the refusal, so the route answers 403 instead of looping.
/// </summary>
internal sealed class LoginSessions(SessionStore sessions, ForwardAuthOptions options, TimeProvider time, ILogger<LoginSessions> logger)
{
    /// <summary>Stores the session of a completed login and returns its sealed cookie.</summary>
    public async Task<string> SignInAsync(
        PendingLogin login, string loginId, UserIdentity identity, JsonWebToken idToken, TokenResponse response, Func<string, string?> readCookie,
        LoginDevice device, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var acr = idToken.TryGetPayloadValue<string>("acr", out var a) && !string.IsNullOrEmpty(a) ? a : null;
        // No auth_time from the provider: the login's own time stands in for it (docs/sessions.md#step-up).
        var authTime = idToken.TryGetPayloadValue<long>("auth_time", out var t) && t > 0 ? DateTimeOffset.FromUnixTimeSeconds(t) : now;
        var refusal = login.IsStepUp ? RefusalOf(login, acr, authTime, now) : null;
        if (refusal is not null)
        {
            Log.StepUpNotSatisfied(logger, loginId, refusal.Reason, (int)StepUpRefusal.Holds.TotalMinutes);
        }

        var tokens = new SessionRecord
        {
            Identity = identity,
            Sid = idToken.TryGetPayloadValue<string>("sid", out var sid) ? sid : null,
            IssuedAt = now,
            ExpiresAt = now + options.SessionMaxAge,
            IdToken = response.IdentityToken,
            AccessToken = response.AccessToken,
            RefreshToken = response.RefreshToken,
            AccessTokenExpiresAt = response.ExpiresIn > 0 ? now.AddSeconds(response.ExpiresIn) : null,
            IdTokenExpiresAt = new DateTimeOffset(idToken.ValidTo, TimeSpan.Zero),
            TokensIssuedAt = now,
            LastSeenAt = now,
            Browser = device.Browser,
            LoginAddress = device.Address,
            LoginId = options.Sso is null ? null : SessionStore.NewLoginId(),
            Acr = acr,
            AuthTime = authTime,
            StepUpRefusal = refusal,
        };

        if (login.IsStepUp && await sessions.ResolveAsync(readCookie(sessions.CookieName), cancellationToken).ConfigureAwait(false) is { } current)
        {
            if (current.Record.Identity.Subject == identity.Subject)
            {
                // Same user: the same session carries the stronger login; its lifetime and creation time stay.
                var stepped = tokens with
                {
                    IssuedAt = current.Record.IssuedAt, ExpiresAt = current.Record.ExpiresAt, Adopted = false,
                    Browser = current.Record.Browser ?? device.Browser, LoginAddress = current.Record.LoginAddress ?? device.Address,
                    LoginId = current.Record.LoginId ?? tokens.LoginId,
                };
                var cookie = await sessions.ReplaceAsync(current.Handle, stepped, cancellationToken).ConfigureAwait(false);
                Log.StepUpSessionUpdated(logger, identity.Identifier, loginId, acr ?? "none");
                return cookie;
            }

            Log.StepUpOtherUser(logger, loginId);
        }

        return await sessions.CreateAsync(tokens, cancellationToken).ConfigureAwait(false);
    }

    // What the step-up asked for and the ID token did not give: an acr outside acr_values, or an auth_time older than
    // max_age allowed when the login started (a minute's clock skew allowed).
    private static StepUpRefusal? RefusalOf(PendingLogin login, string? acr, DateTimeOffset authTime, DateTimeOffset now)
    {
        if (login.StepUpAcr is { Count: > 0 } wanted && (acr is null || !wanted.Contains(acr, StringComparer.Ordinal)))
        {
            return new StepUpRefusal("provider did not satisfy acr " + string.Join(" or ", wanted) + " (it answered " + (acr is null ? "no acr" : "acr " + Printable(acr)) + ")",
                wanted, null, now);
        }

        if (login.StepUpMaxAge is { } maxAge && login.StartedAt - authTime > TimeSpan.FromSeconds(maxAge) + TokenValidator.ClockSkew)
        {
            return new StepUpRefusal($"provider did not authenticate again within maxAge {maxAge} s (auth_time is {(long)(now - authTime).TotalSeconds} s old)",
                null, maxAge, now);
        }

        return null;
    }

    private static string Printable(string s) => new(s.Where(c => c is >= ' ' and < (char)127 and not '<' and not '>' and not '&' and not '"').Take(60).ToArray());
}
