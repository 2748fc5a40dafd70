using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Sessions;

/// <summary>Reads a JWT's <c>jti</c> without validating it (for revocation bookkeeping of tokens already validated).</summary>
internal static class TokenIds
{
    public static string? JtiOf(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length is 0 or > 16_384)
        {
            return null;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1]));
            return payload.RootElement.ValueKind == JsonValueKind.Object
                && payload.RootElement.TryGetProperty("jti", out var jti) && jti.ValueKind == JsonValueKind.String
                ? jti.GetString()
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return null;
        }
    }
}
