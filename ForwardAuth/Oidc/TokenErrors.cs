using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Oidc;

/// <summary>Why a token was refused, in words (logged and counted; never the token).</summary>
internal static class TokenErrors
{
    /// <summary>The error of a token whose signature held but whose <c>aud</c> is not the expected one.</summary>
    public const string WrongAudience = "wrong audience";

    public static string Describe(Exception? e) => e switch
    {
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => WrongAudience,
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed",
        SecurityTokenSignatureKeyNotFoundException => "unknown signing key",
        SecurityTokenInvalidSignatureException => "invalid signature",
        SecurityTokenMalformedException => "not a well-formed JWT",
        null => "invalid token",
        _ => "invalid token (" + e.GetType().Name + ")",
    };
}
