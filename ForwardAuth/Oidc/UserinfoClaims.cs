using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ForwardAuth.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Oidc;

/// <summary>What the userinfo endpoint added: the merged identity, or why there is none.</summary>
/// <param name="SubjectMismatch">The answer is about another user (its <c>sub</c> differs): never merged.</param>
internal sealed record UserinfoResult(UserIdentity? Identity, string? Error, bool SubjectMismatch = false);

/// <summary>
/// <c>claimsFromUserinfo</c>: the provider's userinfo answer (called with the access token) merged into the identity —
/// for providers whose ID tokens carry little more than <c>sub</c>. Its <c>sub</c> must be the ID token's (OpenID
/// Connect Core §5.3.2); a claim present in both is taken from userinfo.
/// </summary>
internal sealed class UserinfoClaims(OidcProtocol protocol, ForwardAuthOptions options)
{
    /// <summary>After the code exchange: the ID token's claims with userinfo's on top.</summary>
    public async Task<UserinfoResult> ForLoginAsync(JsonWebToken idToken, string? accessToken, CancellationToken cancellationToken)
    {
        var answer = await FetchAsync(accessToken, idToken.Subject, cancellationToken).ConfigureAwait(false);
        if (answer.Claims is not { } userinfo)
        {
            return new UserinfoResult(null, answer.Error, answer.SubjectMismatch);
        }

        var merged = JsonNode.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(idToken.EncodedPayload)))!.AsObject();
        foreach (var claim in userinfo.EnumerateObject())
        {
            merged[claim.Name] = JsonNode.Parse(claim.Value.GetRawText());
        }

        using var document = JsonDocument.Parse(merged.ToJsonString());
        var identity = UserIdentity.FromClaims(document.RootElement, options);
        return identity is null ? new UserinfoResult(null, "no subject") : new UserinfoResult(identity, null);
    }

    /// <summary>After a refresh: the session's identity, with what userinfo says now on top.</summary>
    public async Task<UserinfoResult> ForRefreshAsync(UserIdentity known, string? accessToken, CancellationToken cancellationToken)
    {
        var answer = await FetchAsync(accessToken, known.Subject, cancellationToken).ConfigureAwait(false);
        if (answer.Claims is not { } userinfo || UserIdentity.FromClaims(userinfo, options) is not { } now)
        {
            return new UserinfoResult(null, answer.Error ?? "no subject", answer.SubjectMismatch);
        }

        var claimValues = new Dictionary<string, string>(known.ClaimValues, StringComparer.OrdinalIgnoreCase);
        foreach (var (path, value) in now.ClaimValues)
        {
            claimValues[path] = value;
        }

        return new UserinfoResult(known with
        {
            Identifier = now.Identifier == now.Subject ? known.Identifier : now.Identifier,
            Email = now.Email ?? known.Email,
            PreferredUsername = now.PreferredUsername ?? known.PreferredUsername,
            Groups = now.Groups is { Count: > 0 } groups ? groups : known.Groups,
            ClaimValues = claimValues,
        }, null);
    }

    private async Task<(JsonElement? Claims, string? Error, bool SubjectMismatch)> FetchAsync(string? accessToken, string subject, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(accessToken))
        {
            return (null, "no access token to call userinfo with", false);
        }

        var response = await protocol.UserInfoAsync(accessToken, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return (null, "the provider's discovery document has no userinfo_endpoint", false);
        }

        if (response.IsError || response.Json is not { ValueKind: JsonValueKind.Object } json)
        {
            return (null, "userinfo: " + (response.IsError ? response.Error ?? response.ErrorType.ToString() : "not a JSON object"), false);
        }

        var sub = json.TryGetProperty("sub", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return sub == subject ? (json.Clone(), null, false) : (null, "userinfo is about another subject", true);
    }
}
