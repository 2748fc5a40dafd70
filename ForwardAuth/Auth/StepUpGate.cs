using ForwardAuth.Oidc;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;

namespace ForwardAuth.Auth;

/// <summary>
/// A route's step-up rule (<c>acr</c>, <c>maxAge</c>) applied to an identity the policy already let through. A session
/// that lacks it is sent to the provider again with <c>acr_values</c>/<c>max_age</c> (a browser) or answered the RFC
/// 9470 401 (an API request, nginx); a bearer token always gets the 401. After a step-up login the provider did not
/// satisfy, the route answers 403 with the reason for <see cref="StepUpRefusal.Holds"/> instead of looping.
/// </summary>
internal sealed class StepUpGate(LoginFlow login, TimeProvider time, ILogger<StepUpGate> logger)
{
    /// <summary>Null when the session satisfies the rule; else the outcome and the reason for the decision line.</summary>
    public async Task<(AuthOutcome Outcome, string Reason)?> ForSessionAsync(
        AuthRequest request, SessionRecord record, StepUpRule rule, bool startLogins, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (StepUpNeed.Of(rule, record.Acr, record.EffectiveAuthTime, now) is not { } need)
        {
            return null;
        }

        if (record.StepUpRefusal is { } refusal && now - refusal.At < StepUpRefusal.Holds && Covers(refusal, need))
        {
            Log.StepUpRefused(logger, record.Identity.Identifier, refusal.Reason);
            return (new AuthOutcome.Deny(record.Identity, refusal.Reason), "step-up refused: " + refusal.Reason);
        }

        Log.StepUpNeeded(logger, record.Identity.Identifier, "session", need.Description);
        var kind = startLogins ? RequestClassifier.ChallengeFor(request.Method, request.Headers) : ChallengeKind.Unauthorized;
        if (kind == ChallengeKind.Unauthorized)
        {
            return (Required(request, rule, need), "step-up required: " + need.Description);
        }

        var redirect = await login.StartAsync(
            request.Origin,
            ReturnUrl.For(request.Origin, request.PathAndQuery),
            seeOther: kind == ChallengeKind.RedirectSeeOther,
            challenged: true,
            cancellationToken,
            requestHeaders: request.Headers,
            stepUp: rule).ConfigureAwait(false);
        return (redirect, "step-up login started: " + need.Description);
    }

    /// <summary>A bearer token judged by its own <c>acr</c> and <c>auth_time</c> claims (none: never fresh).</summary>
    public (AuthOutcome Outcome, string Reason)? ForBearer(AuthRequest request, TokenCheck check, StepUpRule rule)
    {
        if (rule.IsEmpty)
        {
            return null;
        }

        // A JWT's own claims; an introspected (opaque) token's from the introspection answer.
        var token = check.Token;
        var acr = check.Acr;
        var authTime = check.AuthTime;
        if (token is not null)
        {
            acr = token.TryGetPayloadValue<string>("acr", out var a) && !string.IsNullOrEmpty(a) ? a : null;
            authTime = token.TryGetPayloadValue<long>("auth_time", out var t) && t > 0 ? DateTimeOffset.FromUnixTimeSeconds(t) : null;
        }

        if (StepUpNeed.Of(rule, acr, authTime, time.GetUtcNow()) is not { } need)
        {
            return null;
        }

        Log.StepUpNeeded(logger, check.Identity?.Identifier ?? "?", "bearer token", need.Description);
        return (Required(request, rule, need), "step-up required (bearer token): " + need.Description);
    }

    // The challenge names everything the route asks for, so that the token the client comes back with satisfies all.
    private AuthOutcome.StepUpRequired Required(AuthRequest request, StepUpRule rule, StepUpNeed need) =>
        new(need.Description, rule.Acr, rule.MaxAgeSeconds, login.LoginUrlFor(request));

    // The refusal is about what this route needs: the provider already failed to give one of its acr values (it was
    // asked for all of them, at least), or failed to authenticate again for a max_age.
    private static bool Covers(StepUpRefusal refusal, StepUpNeed need) =>
        (need.Acr && refusal.Acr is { Count: > 0 } asked && need.Rule.Acr.All(a => asked.Contains(a, StringComparer.Ordinal)))
        || (need.MaxAge && refusal.MaxAge is not null);
}
