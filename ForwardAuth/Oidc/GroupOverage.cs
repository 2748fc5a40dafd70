using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Oidc;

/// <summary>
/// Microsoft Entra ID's group overage: a user in more groups than a token may list gets, instead of <c>groups</c>, a
/// pointer to Microsoft Graph (<c>_claim_names: {"groups": "src1"}</c> with <c>_claim_sources</c>) or, in tokens of the
/// implicit flow, <c>hasgroups: true</c>. ForwardAuth does not call Graph: the login goes on with the groups the token
/// has (none), which the policy then judges, and the operator is told what to change.
/// </summary>
internal static class GroupOverage
{
    public static bool In(JsonWebToken token)
    {
        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
            return In(payload.RootElement);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return false;
        }
    }

    public static bool In(JsonElement payload) =>
        payload.ValueKind == JsonValueKind.Object
        && ((payload.TryGetProperty("_claim_names", out var names) && names.ValueKind == JsonValueKind.Object && names.TryGetProperty("groups", out _))
            || (payload.TryGetProperty("hasgroups", out var has) && (has.ValueKind == JsonValueKind.True
                || (has.ValueKind == JsonValueKind.String && string.Equals(has.GetString(), "true", StringComparison.OrdinalIgnoreCase)))));
}
