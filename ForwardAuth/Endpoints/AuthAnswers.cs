using ForwardAuth.Auth;
using ForwardAuth.Configuration;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Translates an <see cref="AuthOutcome"/> into HTTP: 200 + identity headers, 302/303 to the provider with the login's
/// binding cookie, 401 with <c>WWW-Authenticate</c> and <c>X-Auth-Redirect</c>, 403, 400, and the callback's and
/// logout's redirects and cookies. Nothing here decides anything.
/// </summary>
internal static class AuthAnswers
{
    /// <param name="allowStatus">The status of an allow: 200 for forwardAuth, 202 for nginx <c>auth_request</c>.</param>
    /// <param name="bannedStatus">
    /// The status of a regulation refusal: 429 everywhere, except 403 for nginx <c>auth_request</c>, which turns any
    /// status other than 2xx, 401 and 403 into a 500 (and 401 would send the browser to log in again).
    /// </param>
    public static Task WriteAsync(
        HttpContext context,
        ForwardedRequest request,
        AuthOutcome outcome,
        ForwardAuthOptions options,
        int allowStatus = StatusCodes.Status200OK,
        int bannedStatus = StatusCodes.Status429TooManyRequests)
    {
        var response = context.Response;
        var sessionCookie = options.CookiePrefix + "session";
        switch (outcome)
        {
            case AuthOutcome.Allow allow:
                response.StatusCode = allowStatus;
                Responses.NoStore(response);
                IdentityHeaders.Write(response.Headers, allow.Identity, allow.AccessToken, options, allow.IdToken);
                if (allow.ReissuedSessionCookie is { } reissued)
                {
                    // Reaches the browser where the proxy passes auth cookies on (Traefik: addAuthCookiesToResponse).
                    AuthCookies.Set(response, request, options, sessionCookie, reissued, options.SessionMaxAge);
                }

                if (options.StripAuthCookies)
                {
                    response.Headers.Cookie = RequestCookies.WithoutOwnCookies(request.Headers, options.CookiePrefix);
                }

                return Task.CompletedTask;

            case AuthOutcome.LoginRequired required:
                response.Headers["X-Auth-Redirect"] = required.LoginUrl;
                response.Headers.WWWAuthenticate = required.InvalidToken
                    ? $"Bearer realm=\"forwardauth\", error=\"invalid_token\", error_description=\"{required.Reason}\""
                    : "Bearer realm=\"forwardauth\"";
                return Responses.Json(response, StatusCodes.Status401Unauthorized, required.InvalidToken ? "invalid_token" : "unauthorized", required.Reason);

            case AuthOutcome.StepUpRequired stepUp:
                response.Headers["X-Auth-Redirect"] = stepUp.LoginUrl;
                response.Headers.WWWAuthenticate = StepUpChallenge(stepUp);
                return Responses.Json(response, StatusCodes.Status401Unauthorized, "insufficient_user_authentication", stepUp.Description);

            case AuthOutcome.LoginRedirect redirect:
                foreach (var stale in redirect.StaleBindingCookies)
                {
                    AuthCookies.Clear(response, request, options, stale);
                }

                AuthCookies.Set(response, request, options, redirect.BindingCookieName, redirect.BindingValue, redirect.BindingLifetime);
                Responses.Redirect(response, redirect.SeeOther ? StatusCodes.Status303SeeOther : StatusCodes.Status302Found, redirect.AuthorizeUrl);
                return Task.CompletedTask;

            case AuthOutcome.SignedIn signedIn:
                AuthCookies.Clear(response, request, options, signedIn.BindingCookieName);
                AuthCookies.Set(response, request, options, sessionCookie, signedIn.SessionCookie, options.SessionMaxAge);
                Responses.Redirect(response, StatusCodes.Status302Found, signedIn.ReturnUrl);
                return Task.CompletedTask;

            case AuthOutcome.SignInFailed failed:
                if (failed.BindingCookieName is not null)
                {
                    AuthCookies.Clear(response, request, options, failed.BindingCookieName);
                }

                return Responses.Page(response, failed.Status, "Sign-in failed", failed.Reason, request.Origin + "/");

            case AuthOutcome.TooManyAttempts banned:
                return TooManyAttempts(response, banned, bannedStatus);

            case AuthOutcome.Redirect redirect:
                Responses.Redirect(response, StatusCodes.Status302Found, redirect.Url);
                return Task.CompletedTask;

            case AuthOutcome.SignedOut signedOut:
                AuthCookies.Clear(response, request, options, sessionCookie);
                Responses.Redirect(response, StatusCodes.Status302Found, signedOut.RedirectUrl);
                return Task.CompletedTask;

            default:
                return WriteAsync(response, outcome);
        }
    }

    /// <summary>The outcomes whose answer depends on nothing of the request (no cookie, no origin).</summary>
    public static Task WriteAsync(HttpResponse response, AuthOutcome outcome)
    {
        switch (outcome)
        {
            case AuthOutcome.Deny deny:
                return Responses.Json(response, StatusCodes.Status403Forbidden, "forbidden", deny.Reason ?? "you are signed in but not allowed to access this resource");

            case AuthOutcome.BackchannelLoggedOut:
                response.StatusCode = StatusCodes.Status200OK;
                Responses.NoStore(response);
                return Task.CompletedTask;

            case AuthOutcome.FrontchannelLoggedOut:
                return Responses.FrontchannelLoggedOut(response);

            case AuthOutcome.TryAgainLater:
                response.Headers.RetryAfter = "5";
                return Responses.Json(response, StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "the session store is unavailable; try again shortly");

            case AuthOutcome.BadRequest bad:
                return Responses.Json(response, StatusCodes.Status400BadRequest, "invalid_request", bad.Reason);

            case AuthOutcome.TooManyAttempts banned:
                return TooManyAttempts(response, banned, StatusCodes.Status429TooManyRequests);

            default:
                throw new InvalidOperationException("unhandled outcome " + outcome.GetType().Name);
        }
    }

    /// <summary>RFC 9470 §3: <c>insufficient_user_authentication</c> with the <c>acr_values</c> and/or <c>max_age</c> needed.</summary>
    internal static string StepUpChallenge(AuthOutcome.StepUpRequired stepUp)
    {
        var challenge = $"Bearer realm=\"forwardauth\", error=\"insufficient_user_authentication\", error_description=\"{stepUp.Description}\"";
        if (stepUp.AcrValues.Count > 0)
        {
            challenge += $", acr_values=\"{string.Join(' ', stepUp.AcrValues)}\"";
        }

        if (stepUp.MaxAgeSeconds is { } maxAge)
        {
            challenge += $", max_age=\"{maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"";
        }

        return challenge;
    }

    private static Task TooManyAttempts(HttpResponse response, AuthOutcome.TooManyAttempts banned, int status)
    {
        response.Headers.RetryAfter = banned.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Responses.Json(response, status, "too_many_attempts", "too many invalid credentials from this address; try again later");
    }
}
