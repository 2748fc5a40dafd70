using ForwardAuth.Configuration;
using ForwardAuth.Configuration.HeaderTemplates;
using ForwardAuth.Oidc;

namespace ForwardAuth.Sessions;

/// <summary>
/// Which of a login's tokens a session keeps (docs/sessions.md#what-a-session-keeps): only those the configuration uses.
/// <list type="bullet">
/// <item>The refresh token, whenever the provider gave one: refresh (fresh tokens, the identity updated, a provider-ended
/// session noticed), <c>sessionCheckInterval</c> checks and the revocation at logout all use it.</item>
/// <item>The access token only when it is forwarded (<c>passAuthorizationHeader</c>, a <c>headers</c> template reading
/// <c>.AccessToken</c>), or when <c>sessionCheckInterval</c> is on and there is no refresh token (the check is then a
/// userinfo call with it). Never forwarded, it never reached anyone who could present it as a bearer token, so nothing
/// is lost by not marking it revoked at logout.</item>
/// <item>The ID token only when a template reads <c>.IdToken</c>, or logout sends it as <c>id_token_hint</c> to the
/// provider's end-session endpoint (<c>oidcEndSessionURL</c>, or discovery's <c>end_session_endpoint</c>; kept while
/// discovery is not known).</item>
/// </list>
/// No token kept: no token record at all.
/// </summary>
internal sealed class SessionTokenPolicy(ForwardAuthOptions options, ProviderMetadata? metadata = null)
{
    public bool ForwardsAccessToken { get; } =
        options.PassAuthorizationHeader || TemplateTokenReads.Reads(options.HeaderTemplates, TemplateToken.AccessToken);

    public bool ForwardsIdToken { get; } = TemplateTokenReads.Reads(options.HeaderTemplates, TemplateToken.IdToken);

    /// <summary>True when a decision forwards a token: then it reads the token record too.</summary>
    public bool ForwardsTokens => ForwardsAccessToken || ForwardsIdToken;

    /// <summary>The tokens of <paramref name="record"/> (one whose tokens were read or just obtained) that are kept.</summary>
    public async Task<TokenRecord> KeptAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        var checkedByUserinfo = options.SessionCheckInterval > TimeSpan.Zero && record.RefreshToken is null;
        var access = ForwardsAccessToken || checkedByUserinfo ? record.AccessToken : null;
        var id = record.IdToken is not null && (ForwardsIdToken || await LogoutSendsIdTokenAsync(cancellationToken).ConfigureAwait(false))
            ? record.IdToken
            : null;
        return new TokenRecord(id, access, record.RefreshToken);
    }

    private async Task<bool> LogoutSendsIdTokenAsync(CancellationToken cancellationToken)
    {
        if (options.EndSessionUrl.Length > 0 || metadata is not { IsLoaded: true })
        {
            return true;
        }

        try
        {
            return !string.IsNullOrEmpty((await metadata.GetAsync(cancellationToken).ConfigureAwait(false)).EndSessionEndpoint);
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
