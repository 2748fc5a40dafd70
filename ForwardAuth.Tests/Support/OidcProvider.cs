using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// The real OpenID provider (oidc-provider on Node, the local stack's dev provider) on a free loopback port. Its
/// signing key is generated here, so tests can also mint tokens the provider itself would sign — and forge others.
/// </summary>
internal sealed class OidcProvider : IAsyncDisposable
{
    public const string ClientId = "forwardauth";
    public const string ClientSecret = "forwardauth-test-secret";
    public const string TestRedirectUri = "http://127.0.0.1:9/test-callback";
    public const string KeyId = "test-key-1";

    private readonly ExternalProcess _process;
    private readonly string _directory;

    private OidcProvider(ExternalProcess process, string directory, int port, RsaSecurityKey key)
    {
        _process = process;
        _directory = directory;
        Port = port;
        SigningKey = key;
    }

    public int Port { get; }

    public string Issuer => $"http://localhost:{Port}";

    public RsaSecurityKey SigningKey { get; }

    public IReadOnlyCollection<string> Output => _process.Output;

    public sealed record Settings
    {
        public IReadOnlyList<string> RedirectUris { get; init; } = [];
        public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];
        /// <summary>A login name, "hint" (use login_hint), or null for the interactive dev pages.</summary>
        public string? AutoLogin { get; init; } = "alice";
        public string? AccessTokenResource { get; init; }
        public int? AccessTokenTtl { get; init; }
        public int? IdTokenTtl { get; init; }
        public bool RotateRefreshTokens { get; init; }
        public string? BackchannelLogoutUri { get; init; }
        /// <summary><c>client_secret_basic</c> (default) or <c>client_secret_post</c>; the provider refuses the other one.</summary>
        public string? TokenAuthMethod { get; init; }
        public string? UsersFile { get; init; }
        /// <summary>ID tokens with <c>sub</c> only; the scopes' claims in userinfo.</summary>
        public bool ThinIdTokens { get; init; }
        /// <summary><c>CLAIM_PROFILE</c>: the groups shaped as a real provider sends them (zitadel, auth0, cognito, entra-overage).</summary>
        public string? ClaimProfile { get; init; }

        /// <summary>Enables dynamic client registration (RFC 7591) behind this initial access token.</summary>
        public string? RegistrationToken { get; init; }
    }

    public static async Task<OidcProvider> StartAsync(Settings settings)
    {
        if (!Directory.Exists(Path.Combine(TestPaths.ProviderDirectory, "node_modules", "oidc-provider")))
        {
            throw new InvalidOperationException("oidc-provider is not installed: run the test command (.ci/test), which runs npm ci in examples/local/oidc-provider");
        }

        var directory = TestPaths.NewTempDirectory("oidc");
        var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = KeyId };
        var jwksFile = Path.Combine(directory, "jwks.json");
        await File.WriteAllTextAsync(jwksFile, PrivateJwks(rsa));

        return await Ports.StartOnFreePortAsync(async port =>
        {
            var env = new Dictionary<string, string>
            {
                ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["HOST"] = "127.0.0.1",
                ["ISSUER"] = $"http://localhost:{port}",
                ["CLIENT_ID"] = ClientId,
                ["CLIENT_SECRET"] = ClientSecret,
                ["REDIRECT_URIS"] = string.Join(',', settings.RedirectUris.Append(TestRedirectUri)),
                ["POST_LOGOUT_REDIRECT_URIS"] = string.Join(',', settings.PostLogoutRedirectUris.DefaultIfEmpty("http://127.0.0.1:9/")),
                ["JWKS_FILE"] = jwksFile,
                ["ROTATE_REFRESH_TOKENS"] = settings.RotateRefreshTokens ? "true" : "false",
                ["THIN_ID_TOKENS"] = settings.ThinIdTokens ? "true" : "false",
            };
            Add(env, "AUTO_LOGIN", settings.AutoLogin);
            Add(env, "ACCESS_TOKEN_RESOURCE", settings.AccessTokenResource);
            Add(env, "ACCESS_TOKEN_TTL", settings.AccessTokenTtl?.ToString(CultureInfo.InvariantCulture));
            Add(env, "ID_TOKEN_TTL", settings.IdTokenTtl?.ToString(CultureInfo.InvariantCulture));
            Add(env, "USERS_FILE", settings.UsersFile);
            Add(env, "BACKCHANNEL_LOGOUT_URI", settings.BackchannelLogoutUri);
            Add(env, "TOKEN_AUTH_METHOD", settings.TokenAuthMethod);
            Add(env, "CLAIM_PROFILE", settings.ClaimProfile);
            Add(env, "REGISTRATION_TOKEN", settings.RegistrationToken);

            var process = ExternalProcess.Start(TestPaths.RequireExecutable("node"), [Path.Combine(TestPaths.ProviderDirectory, "provider.mjs")], env, TestPaths.ProviderDirectory);
            try
            {
                // Printed once the server listens: an answer on the port could come from whoever took it.
                await process.WaitForOutputAsync("oidc-provider listening on", TimeSpan.FromSeconds(20));
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }

            return new OidcProvider(process, directory, port, key);
        });

        static void Add(Dictionary<string, string> env, string name, string? value)
        {
            if (value is not null)
            {
                env[name] = value;
            }
        }
    }

    /// <summary>Signs arbitrary claims with the provider's own key (for tokens the provider would not issue).</summary>
    public string Mint(IDictionary<string, object> claims, string? typ = null, SigningCredentials? credentials = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = credentials ?? new SigningCredentials(SigningKey, SecurityAlgorithms.RsaSha256),
            TokenType = typ,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>Token endpoint requests by grant type, as the provider counted them.</summary>
    public async Task<JsonObject> StatsAsync()
    {
        using var http = new HttpClient();
        return (await http.GetFromJsonAsync<JsonObject>($"http://127.0.0.1:{Port}/__stats"))!;
    }

    /// <summary>Makes every token endpoint request wait (a slow provider); 0 restores it.</summary>
    public async Task SetTokenDelayAsync(TimeSpan delay)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"http://127.0.0.1:{Port}/__token-delay?ms={(int)delay.TotalMilliseconds}", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The next <paramref name="count"/> code exchanges are answered <c>invalid_grant</c> (a voided code); 0 restores it.</summary>
    public async Task RefuseCodesAsync(int count)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"http://127.0.0.1:{Port}/__refuse-codes?count={count}", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Auto-login's consent grants only these scopes and rejects the others (partial consent); null: all.</summary>
    public async Task SetConsentScopesAsync(string? scopes)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"http://127.0.0.1:{Port}/__consent-scopes?scopes={Uri.EscapeDataString(scopes ?? "")}", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// The administrator revokes everything <paramref name="account"/> was given (grants with their tokens, provider
    /// sessions): the dev provider's <c>POST /__revoke-account</c>. Returns how many grants were revoked.
    /// </summary>
    public async Task<int> RevokeAccountAsync(string account)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync($"http://127.0.0.1:{Port}/__revoke-account?account={Uri.EscapeDataString(account)}", null);
        response.EnsureSuccessStatusCode();
        return (int?)(await response.Content.ReadFromJsonAsync<JsonObject>())?["grants"] ?? 0;
    }

    /// <summary>Userinfo requests (<c>/me</c>) the provider answered so far.</summary>
    public async Task<int> UserinfoCountAsync() => (int?)(await StatsAsync())["userinfo"] ?? 0;

    /// <summary>Forgets the counters (<c>DELETE /__stats</c>).</summary>
    public async Task ResetStatsAsync()
    {
        using var http = new HttpClient();
        using var response = await http.DeleteAsync($"http://127.0.0.1:{Port}/__stats");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Auto-login answers every login with this <c>acr</c> whatever <c>acr_values</c> asked for (a provider that ignores
    /// step-up requests); null: the first requested value again.
    /// </summary>
    public async Task ForceAcrAsync(string? acr)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"http://127.0.0.1:{Port}/__acr?value={Uri.EscapeDataString(acr ?? "")}", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>How many token requests of a grant type the provider answered so far.</summary>
    public async Task<int> GrantCountAsync(string grantType) => (int?)(await StatsAsync())["token"]?[grantType] ?? 0;

    /// <summary>How many authorization requests (GET <c>/auth</c>: a browser sent to log in) the provider received so far.</summary>
    public async Task<int> AuthorizationCountAsync() => (int?)(await StatsAsync())["authorization"] ?? 0;

    public async Task<int> RevocationCountAsync() => (int?)(await StatsAsync())["revocation"] ?? 0;

    public async Task<int> BackchannelSuccessCountAsync() => (int?)(await StatsAsync())["backchannel_logout"]?["success"] ?? 0;

    private static string PrivateJwks(RSA rsa)
    {
        var p = rsa.ExportParameters(includePrivateParameters: true);
        var jwk = new Dictionary<string, string>
        {
            ["kty"] = "RSA",
            ["kid"] = KeyId,
            ["alg"] = "RS256",
            ["use"] = "sig",
            ["n"] = Base64UrlEncoder.Encode(p.Modulus),
            ["e"] = Base64UrlEncoder.Encode(p.Exponent),
            ["d"] = Base64UrlEncoder.Encode(p.D),
            ["p"] = Base64UrlEncoder.Encode(p.P),
            ["q"] = Base64UrlEncoder.Encode(p.Q),
            ["dp"] = Base64UrlEncoder.Encode(p.DP),
            ["dq"] = Base64UrlEncoder.Encode(p.DQ),
            ["qi"] = Base64UrlEncoder.Encode(p.InverseQ),
        };
        return JsonSerializer.Serialize(new { keys = new[] { jwk } });
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
