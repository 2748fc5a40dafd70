using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace ForwardAuth.Tests.Support;

/// <summary>The OIDC plugin instance, with Glewlwyd 2.7.5's setting names (read from its <c>protocol_oidc.c</c>; the documentation does not list them).</summary>
internal static class GlewlwydPlugin
{
    public static JsonObject Oidc(string issuer, int accessTokenSeconds)
    {
        using var rsa = RSA.Create(2048);
        return new JsonObject
        {
            ["module"] = "oidc", ["name"] = "oidc", ["display_name"] = "OpenID Connect", ["enabled"] = true,
            ["parameters"] = new JsonObject
            {
                ["iss"] = issuer,
                ["jwt-type"] = "rsa", ["jwt-key-size"] = "256",
                ["key"] = rsa.ExportPkcs8PrivateKeyPem(), ["cert"] = rsa.ExportSubjectPublicKeyInfoPem(),
                ["access-token-duration"] = accessTokenSeconds, ["refresh-token-duration"] = 3600, ["code-duration"] = 600,
                ["refresh-token-rolling"] = true,
                ["allow-non-oidc"] = true,
                ["auth-type-code-enabled"] = true, ["auth-type-refresh-enabled"] = true,
                ["auth-type-password-enabled"] = false, ["auth-type-client-enabled"] = false, ["auth-type-token-enabled"] = false,
                ["auth-type-none-enabled"] = false, ["auth-type-device-enabled"] = false,
                ["session-management-allowed"] = true, ["session-cookie-name"] = GlewlwydProvider.SidCookie, ["session-cookie-expiration"] = 3600,
                ["back-channel-logout-allowed"] = true, ["front-channel-logout-allowed"] = false,
                ["subject-type"] = "public",
                // Discovery's scopes_supported lists openid and these only; ForwardAuth leaves out a scope it does not list.
                ["allowed-scope"] = new JsonArray("openid", "profile", "email", "groups", GlewlwydProvider.ApiScope),
                ["email-claim"] = "mandatory", ["name-claim"] = "on-demand", ["scope-claim"] = "no",
                // ID token and userinfo: a JSON array. Access token ("additional-parameters"): one comma-joined string; without
                // email there, a bearer token's user is its opaque sub.
                ["claims"] = new JsonArray(new JsonObject { ["name"] = "groups", ["user-property"] = "groups", ["type"] = "string", ["scope"] = new JsonArray("groups") }),
                ["additional-parameters"] = new JsonArray(
                    new JsonObject { ["user-parameter"] = "groups", ["token-parameter"] = "groups" },
                    new JsonObject { ["user-parameter"] = "email", ["token-parameter"] = "email" }),
                ["pkce-allowed"] = true,
                // The client may revoke (and introspect) its own tokens with its credentials: without it Glewlwyd
                // answers ForwardAuth's revocation of the refresh token at logout with 401.
                ["introspection-revocation-allowed"] = true, ["introspection-revocation-allow-target-client"] = true,
                ["jwks-show"] = true,
                // Resource indicators: a token asked for with resource=ApiResource (and the api scope) has aud = ApiResource.
                ["resource-allowed"] = true,
                ["resource-scope"] = new JsonObject { [GlewlwydProvider.ApiScope] = new JsonArray(GlewlwydProvider.ApiResource) },
            },
        };
    }
}
