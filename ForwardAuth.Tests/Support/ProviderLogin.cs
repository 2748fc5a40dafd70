using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// Walks the provider's authorization code flow as a plain HTTP client (auto-login mode) to get real tokens for a user,
/// the way an API client would before calling a protected route with a bearer token.
/// </summary>
internal static class ProviderLogin
{
    public sealed record Tokens(string IdToken, string AccessToken, string? RefreshToken);

    public static async Task<Tokens> ObtainAsync(OidcProvider provider, string login = "alice", string scope = "openid email profile groups")
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var http = new HttpClient(handler);
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var url = $"{provider.Issuer}/auth?client_id={OidcProvider.ClientId}&response_type=code&scope={Uri.EscapeDataString(scope)}" +
                  $"&redirect_uri={Uri.EscapeDataString(OidcProvider.TestRedirectUri)}&state=s1&nonce=n1&code_challenge={challenge}" +
                  $"&code_challenge_method=S256&login_hint={Uri.EscapeDataString(login)}";

        string? code = null;
        for (var hop = 0; hop < 10 && code is null; hop++)
        {
            using var response = await http.GetAsync(url);
            var location = response.Headers.Location ?? throw new InvalidOperationException($"provider answered {(int)response.StatusCode} without a redirect: {await response.Content.ReadAsStringAsync()}");
            url = location.IsAbsoluteUri ? location.AbsoluteUri : new Uri(new Uri(url), location).AbsoluteUri;
            if (url.StartsWith(OidcProvider.TestRedirectUri, StringComparison.Ordinal))
            {
                code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(url).Query)["code"];
            }
        }

        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code ?? throw new InvalidOperationException("no code from the provider"),
            ["redirect_uri"] = OidcProvider.TestRedirectUri,
            ["code_verifier"] = verifier,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{provider.Issuer}/token") { Content = form };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{OidcProvider.ClientId}:{OidcProvider.ClientSecret}")));
        using var tokenResponse = await http.SendAsync(request);
        var body = JsonNode.Parse(await tokenResponse.Content.ReadAsStringAsync())!;
        if (!tokenResponse.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("token endpoint: " + body.ToJsonString());
        }

        return new Tokens((string)body["id_token"]!, (string)body["access_token"]!, (string?)body["refresh_token"]);
    }
}
