using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Oidc;

/// <summary>The reason a refused token gets, from the library's exception (never the token itself).</summary>
internal static class TokenRefusal
{
    public static string Describe(Exception? e) => e switch
    {
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed",
        SecurityTokenSignatureKeyNotFoundException => "unknown signing key",
        SecurityTokenInvalidSignatureException => "invalid signature",
        SecurityTokenMalformedException => "not a well-formed JWT",
        null => "invalid token",
        _ => "invalid token (" + e.GetType().Name + ")",
    };
}
