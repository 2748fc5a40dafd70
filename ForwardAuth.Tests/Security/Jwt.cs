using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// Hand-built JWTs for forgeries a token library would refuse to create: any header (<c>alg</c>, <c>kid</c>,
/// <c>jku</c>, <c>x5u</c>, <c>jwk</c>), any claim value, any signature.
/// </summary>
internal static class Jwt
{
    public static string Encode(object value) => Base64UrlEncoder.Encode(JsonSerializer.Serialize(value));

    public static string Build(object header, object payload, Func<byte[], byte[]> sign)
    {
        var input = Encode(header) + "." + Encode(payload);
        return input + "." + Base64UrlEncoder.Encode(sign(Encoding.ASCII.GetBytes(input)));
    }

    public static Func<byte[], byte[]> Rs256(RSA key) => input => key.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public static Func<byte[], byte[]> Ps256(RSA key) => input => key.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);

    public static Func<byte[], byte[]> Hmac(byte[] secret, int bits = 256) => input => bits switch
    {
        384 => HMACSHA384.HashData(secret, input),
        512 => HMACSHA512.HashData(secret, input),
        _ => HMACSHA256.HashData(secret, input),
    };

    public static Func<byte[], byte[]> Unsigned => _ => [];

    /// <summary>The public key as a JWK object (for an embedded <c>jwk</c> header).</summary>
    public static Dictionary<string, string> PublicJwk(RSA key, string kid)
    {
        var p = key.ExportParameters(false);
        return new Dictionary<string, string>
        {
            ["kty"] = "RSA", ["kid"] = kid, ["alg"] = "RS256", ["use"] = "sig", ["n"] = Base64UrlEncoder.Encode(p.Modulus), ["e"] = Base64UrlEncoder.Encode(p.Exponent),
        };
    }
}
