using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// Glewlwyd 2.7.5 from Debian (<c>/usr/bin/glewlwyd</c>), a second, independent OpenID provider written in C: its own
/// sqlite database made from the package's init SQL, its own config file, in the foreground on a free loopback port.
/// Scopes, users, the client and the OIDC plugin are provisioned through its admin REST API, as an administrator would
/// through its admin pages. What it does differently from the dev provider is listed in ../shared/TESTING.md and
/// docs/providers.md#glewlwyd: logout tokens without <c>exp</c>, access-token <c>aud</c> = the scope list (or the
/// <c>resource</c> asked for), groups as one comma-joined string in access tokens, ID tokens without <c>jti</c>,
/// refresh answers without an ID token.
/// </summary>
internal sealed class GlewlwydProvider : IAsyncDisposable
{
    public const string ClientId = "forwardauth";
    public const string ClientSecret = "glewlwyd-test-secret";
    public const string AdminPassword = "password";
    public const string TestRedirectUri = "http://127.0.0.1:9/test-callback";
    /// <summary>The scope every user may grant whose access tokens are for <see cref="ApiResource"/> (resource indicators, RFC 8707).</summary>
    public const string ApiScope = "api";
    public const string ApiResource = "https://api.app.test";
    /// <summary>The cookie in which Glewlwyd's session management keeps the browser's OIDC session id (<c>sid</c>).</summary>
    public const string SidCookie = "GLEWLWYD2_OIDC_SID";
    private const string InitSql = "/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3";
    private const string InitSqlGz = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz";
    private const string Webapp = "/usr/share/glewlwyd/webapp";
    private const string Modules = "/usr/lib/glewlwyd";

    private readonly ExternalProcess _process;
    private readonly string _directory;

    private GlewlwydProvider(ExternalProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Without a trailing slash: Glewlwyd would write <c>//api/…</c> into its discovery document.</summary>
    public string BaseUrl => $"http://localhost:{Port}";

    public string Issuer => BaseUrl + "/api/oidc";

    public IReadOnlyCollection<string> Output => _process.Output;

    public sealed record User(string Name, string Password, string Email, IReadOnlyList<string> Groups);

    public static readonly User Alice = new("alice", "alice-password", "alice@example.com", ["admins", "staff"]);
    public static readonly User Bob = new("bob", "bob-password", "bob@example.com", ["staff"]);

    public sealed record Settings
    {
        public IReadOnlyList<string> RedirectUris { get; init; } = [];
        public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];
        public string? BackchannelLogoutUri { get; init; }
        public int AccessTokenSeconds { get; init; } = 300;
    }

    public static async Task<GlewlwydProvider> StartAsync(Settings settings)
    {
        var executable = TestPaths.RequireExecutable("glewlwyd");
        var sqlite = TestPaths.RequireExecutable("sqlite3");
        var directory = TestPaths.NewTempDirectory("glewlwyd");
        var database = Path.Combine(directory, "glewlwyd.db");
        await CreateDatabaseAsync(sqlite, database, directory);

        var provider = await Ports.StartOnFreePortAsync(async port =>
        {
            var config = Path.Combine(directory, $"glewlwyd-{port}.conf");
            await File.WriteAllTextAsync(config, ConfigFile(port, database, WebappCopy(directory, port)));
            var process = ExternalProcess.Start(executable, ["--config-file=" + config]);
            try
            {
                // Printed once the web server listens; "Error MHD_start_daemon" and an exit when it cannot bind.
                await process.WaitForOutputAsync("Glewlwyd started on port", TimeSpan.FromSeconds(20));
            }
            catch (Exception e)
            {
                await process.DisposeAsync();
                if (e is InvalidOperationException && process.Output.Any(l => l.Contains("MHD_start_daemon", StringComparison.Ordinal)))
                {
                    throw new PortTakenException("glewlwyd could not bind port " + port.ToString(CultureInfo.InvariantCulture));
                }

                throw;
            }

            return new GlewlwydProvider(process, directory, port);
        });

        try
        {
            await provider.ProvisionAsync(settings);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }

        return provider;
    }

    /// <summary>
    /// Signs the browser in at Glewlwyd and records its consent, as the login page would: <c>POST /api/auth/</c>, then
    /// <c>PUT /api/auth/grant/&lt;client&gt;/</c> with the scopes space-separated. After this, an authorize URL with
    /// <c>&amp;g_continue</c> goes straight back to the client (without it Glewlwyd always shows its login page).
    /// </summary>
    public async Task SignInAsync(HttpClient browser, User user, string scopes = "openid email profile groups " + ApiScope)
    {
        using var login = await browser.PostAsJsonAsync(BaseUrl + "/api/auth/", new { username = user.Name, password = user.Password });
        await EnsureAsync(login, "user login");
        using var grant = await browser.PutAsJsonAsync($"{BaseUrl}/api/auth/grant/{ClientId}/", new { scope = scopes });
        await EnsureAsync(grant, "consent");
    }

    /// <summary>
    /// Ends the browser's OIDC session at Glewlwyd as its logout page does (<c>DELETE /api/oidc/session/&lt;sid&gt;</c>,
    /// the sid from its session cookie): Glewlwyd then posts a logout token to each client's back-channel URI.
    /// </summary>
    public async Task EndSessionAsync(HttpClient browser, CookieContainer cookies)
    {
        var sid = cookies.GetCookies(new Uri(BaseUrl))[SidCookie]?.Value ?? throw new InvalidOperationException("the browser has no Glewlwyd OIDC session");
        using var end = await browser.DeleteAsync($"{Issuer}/session/{sid}");
        await EnsureAsync(end, "end of the OIDC session");
    }

    /// <summary>How many logout tokens Glewlwyd's log says were accepted (answered 200) by the client.</summary>
    public int BackchannelSuccesses => Output.Count(l => l.Contains("Send backchannel_logout successfully", StringComparison.Ordinal));

    /// <summary>How many refresh tokens Glewlwyd's log says were revoked at its revocation endpoint.</summary>
    public int RevokedRefreshTokens => Output.Count(l => l.Contains("Refresh token generated for client 'forwardauth' revoked", StringComparison.Ordinal));

    /// <summary>Glewlwyd's log lines for logout tokens the client refused (with the answer's status).</summary>
    public IReadOnlyList<string> BackchannelRefusals => [.. Output.Where(l => l.Contains("Error backchannel_logout response", StringComparison.Ordinal))];

    public sealed record Tokens(string IdToken, string AccessToken, string? RefreshToken);

    /// <summary>
    /// Real tokens for a user, as an API client would get them: code flow (with <c>resource</c> when given, which then
    /// becomes the access token's <c>aud</c>; without it <c>aud</c> is the scope list).
    /// </summary>
    public async Task<Tokens> ObtainTokensAsync(User user, string scope, string? resource = null)
    {
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies };
        using var http = new HttpClient(handler);
        await SignInAsync(http, user, scope);
        var resourceParameter = resource is null ? "" : "&resource=" + Uri.EscapeDataString(resource);
        using var authorize = await http.GetAsync(
            $"{Issuer}/auth?response_type=code&client_id={ClientId}&redirect_uri={Uri.EscapeDataString(TestRedirectUri)}" +
            $"&scope={Uri.EscapeDataString(scope)}&state=s1&nonce=n1{resourceParameter}&g_continue");
        var location = authorize.Headers.Location?.AbsoluteUri ?? throw new InvalidOperationException($"authorize answered {(int)authorize.StatusCode} without a redirect");
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(location).Query)["code"].ToString();
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code.Length > 0 ? code : throw new InvalidOperationException("no code in " + location),
            ["redirect_uri"] = TestRedirectUri,
            ["client_id"] = ClientId,
            ["client_secret"] = ClientSecret,
        };
        if (resource is not null)
        {
            form["resource"] = resource;
        }

        using var content = new FormUrlEncodedContent(form);
        using var token = await http.PostAsync(Issuer + "/token", content);
        var body = JsonNode.Parse(await token.Content.ReadAsStringAsync())!;
        if (!token.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("token endpoint: " + body.ToJsonString());
        }

        return new Tokens((string)body["id_token"]!, (string)body["access_token"]!, (string?)body["refresh_token"]);
    }

    private async Task ProvisionAsync(Settings settings)
    {
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies };
        using var admin = new HttpClient(handler) { BaseAddress = new Uri(BaseUrl + "/api/") };
        using (var login = await admin.PostAsJsonAsync("auth/", new { username = "admin", password = AdminPassword }))
        {
            await EnsureAsync(login, "admin login");
        }

        // A multi-valued "groups" property for users; the client properties that logout needs. A module's new
        // parameters take effect after its reset.
        var userModule = await admin.GetFromJsonAsync<JsonObject>("mod/user/database") ?? throw new InvalidOperationException("no user module");
        userModule["parameters"]!["data-format"]!["groups"] = new JsonObject { ["multiple"] = true, ["read"] = true, ["write"] = true, ["profile-read"] = true, ["profile-write"] = false };
        await SendAsync(admin, HttpMethod.Put, "mod/user/database", userModule);
        await SendAsync(admin, HttpMethod.Put, "mod/user/database/reset", null);
        var clientModule = await admin.GetFromJsonAsync<JsonObject>("mod/client/database") ?? throw new InvalidOperationException("no client module");
        clientModule["parameters"]!["data-format"]!["post_logout_redirect_uris"] = new JsonObject { ["multiple"] = true, ["read"] = true, ["write"] = true };
        await SendAsync(admin, HttpMethod.Put, "mod/client/database", clientModule);
        await SendAsync(admin, HttpMethod.Put, "mod/client/database/reset", null);

        foreach (var scope in new[] { "profile", "email", "groups", ApiScope })
        {
            await SendAsync(admin, HttpMethod.Post, "scope/", new JsonObject
            {
                ["name"] = scope, ["display_name"] = scope, ["description"] = scope, ["password_required"] = false, ["scheme"] = new JsonObject(),
            });
        }

        foreach (var user in new[] { Alice, Bob })
        {
            await SendAsync(admin, HttpMethod.Post, "user/", new JsonObject
            {
                ["username"] = user.Name, ["name"] = user.Name, ["email"] = user.Email, ["password"] = user.Password, ["enabled"] = true,
                ["scope"] = new JsonArray("openid", "profile", "email", "groups", ApiScope),
                ["groups"] = new JsonArray([.. user.Groups.Select(g => JsonValue.Create(g))]),
            });
        }

        await SendAsync(admin, HttpMethod.Post, "mod/plugin/", GlewlwydPlugin.Oidc(Issuer, settings.AccessTokenSeconds));
        var client = new JsonObject
        {
            ["client_id"] = ClientId, ["client_secret"] = ClientSecret, ["name"] = "ForwardAuth", ["confidential"] = true, ["enabled"] = true,
            ["redirect_uri"] = new JsonArray([.. settings.RedirectUris.Append(TestRedirectUri).Select(u => JsonValue.Create(u))]),
            ["authorization_type"] = new JsonArray("code", "refresh_token"),
            ["token_endpoint_auth_method"] = new JsonArray("client_secret_basic", "client_secret_post"),
            ["post_logout_redirect_uris"] = new JsonArray([.. settings.PostLogoutRedirectUris.DefaultIfEmpty("http://127.0.0.1:9/").Select(u => JsonValue.Create(u))]),
        };
        if (settings.BackchannelLogoutUri is { } backchannel)
        {
            client["backchannel_logout_uri"] = backchannel;
            client["backchannel_logout_session_required"] = "true";
        }

        await SendAsync(admin, HttpMethod.Post, "client/", client);
    }

    private static async Task SendAsync(HttpClient admin, HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await admin.SendAsync(request);
        await EnsureAsync(response, $"{method} /api/{path}");
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"glewlwyd refused the {what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task CreateDatabaseAsync(string sqlite, string database, string directory)
    {
        var init = InitSql;
        if (!File.Exists(init))
        {
            init = Path.Combine(directory, "init.sqlite3.sql");
            await using var source = new GZipStream(File.OpenRead(InitSqlGz), CompressionMode.Decompress);
            await using var target = File.Create(init);
            await source.CopyToAsync(target);
        }

        await using var process = ExternalProcess.Start(sqlite, [database, ".read " + init]);
        if (await process.WaitForExitAsync(TimeSpan.FromSeconds(30)) != 0)
        {
            throw new InvalidOperationException("sqlite3 could not create Glewlwyd's database: " + string.Join('\n', process.Output));
        }
    }

    /// <summary>The package's webapp, except its <c>config.json</c> (a symlink to a directory in /etc): ours points at this port.</summary>
    private static string WebappCopy(string directory, int port)
    {
        var webapp = Path.Combine(directory, $"webapp-{port}");
        Directory.CreateDirectory(webapp);
        foreach (var entry in Directory.EnumerateFileSystemEntries(Webapp).Where(e => Path.GetFileName(e) != "config.json"))
        {
            File.CreateSymbolicLink(Path.Combine(webapp, Path.GetFileName(entry)), entry);
        }

        var url = $"http://localhost:{port}";
        File.WriteAllText(Path.Combine(webapp, "config.json"), new JsonObject
        {
            ["GlewlwydUrl"] = url + "/", ["ProfileUrl"] = url + "/profile.html", ["AdminUrl"] = url + "/index.html", ["LoginUrl"] = url + "/login.html",
            ["defaultScheme"] = "", ["defaultLang"] = "en", ["lang"] = new JsonArray("en"), ["sessionsPlugin"] = "oidc",
        }.ToJsonString());
        return webapp;
    }

    // No "use_secure_connection": with it Glewlwyd wants key files. cookie_secure=0: plain http on loopback.
    private static string ConfigFile(int port, string database, string webapp) => $$"""
        port={{port}}
        bind_address="127.0.0.1"
        external_url="http://localhost:{{port}}"
        login_url="login.html"
        api_prefix="api"
        static_files_path="{{webapp}}/"
        allow_origin="*"
        log_mode="console"
        log_level="DEBUG"
        cookie_domain="localhost"
        cookie_secure=0
        session_expiration=3600
        session_key="GLEWLWYD2_SESSION_ID"
        admin_session_authentication="cookie"
        profile_session_authentication="cookie"
        allow_multiple_user_per_session=true
        login_api_enabled=true
        admin_scope="g_admin"
        profile_scope="g_profile"
        user_module_path="{{Modules}}/user"
        client_module_path="{{Modules}}/client"
        user_auth_scheme_module_path="{{Modules}}/scheme"
        plugin_module_path="{{Modules}}/plugin"
        hash_algorithm="SHA512"
        database = { type = "sqlite3" path = "{{database}}" };
        static_files_mime_types = ( { extension = ".html" mime_type = "text/html" compress = 1 }, { extension = ".json" mime_type = "application/json" compress = 1 }, { extension = ".js" mime_type = "application/javascript" compress = 1 }, { extension = ".css" mime_type = "text/css" compress = 1 } )
        """;

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
