using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Tests.Security;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace ForwardAuth.Tests.Fast.Support;

/// <summary>The token endpoint's answer to one grant, as the provider would send it.</summary>
internal sealed record TokenSet(string? IdToken, string? AccessToken = null, string? RefreshToken = null, int ExpiresIn = 300)
{
    /// <summary>The response's <c>scope</c> (what was granted); null: not sent.</summary>
    public string? Scope { get; init; }
}

/// <summary>
/// The OpenID provider in process, as the provider's named HttpClient's primary handler: a static discovery document,
/// a JWKS of RSA keys made here, and token and revocation endpoints whose answers the test scripts. It signs the tokens
/// the tests need (ID, access, logout tokens) on the stack's fake clock. No sockets.
/// </summary>
internal sealed class FakeProvider(FakeTimeProvider time) : HttpMessageHandler
{
    public const string Issuer = "https://id.fast.test";
    public const string ClientId = "fast-client";
    public const string ClientSecret = "fast-secret";
    public const string EndSessionEndpoint = Issuer + "/logout";
    public const string BackchannelEvent = "http://schemas.openid.net/event/backchannel-logout";

    private static readonly Lazy<RSA> SharedKey = new(() => RSA.Create(2048));
    private static readonly Lazy<RSA> SharedRotatedKey = new(() => RSA.Create(2048));
    private readonly ConcurrentDictionary<string, TokenSet> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<TokenSet>> _refreshGrants = new(StringComparer.Ordinal);
    private volatile (RSA Key, string Kid)[] _published = [(SharedKey.Value, "key-1")];
    private int _discoveryRequests;
    private int _jwksRequests;
    private int _parRequests;

    /// <summary>The key tokens are signed with unless a test asks for another.</summary>
    public static RSA Key => SharedKey.Value;

    /// <summary>A second key, for rotation at the provider.</summary>
    public static RSA RotatedKey => SharedRotatedKey.Value;

    /// <summary>Every form posted to the token endpoint, in order.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> TokenRequests { get; } = new();

    /// <summary>Every token posted to the revocation endpoint.</summary>
    public ConcurrentQueue<string> RevokedTokens { get; } = new();

    /// <summary>A second revocation endpoint that discovery does not name (for <c>revocationURL</c>).</summary>
    public const string OverrideRevocationEndpoint = Issuer + "/custom/revoke";

    /// <summary>Every token posted to <see cref="OverrideRevocationEndpoint"/>.</summary>
    public ConcurrentQueue<string> RevokedAtOverride { get; } = new();

    public int DiscoveryRequests => _discoveryRequests;

    /// <summary>The client the provider issues tokens to: <see cref="ClientId"/>, or the last one registered.</summary>
    public string Audience { get; set; } = ClientId;

    /// <summary>Dynamic client registration requests (RFC 7591): the bearer token and the JSON document, in order.</summary>
    public ConcurrentQueue<(string? Token, JsonElement Document)> Registrations { get; } = new();

    /// <summary>A scripted registration answer instead of a new client.</summary>
    public (HttpStatusCode Status, string Body)? RegistrationAnswer { get; set; }

    /// <summary>Introspection answers (RFC 7662) by token; a token not listed is inactive.</summary>
    public ConcurrentDictionary<string, Dictionary<string, object?>> Introspection { get; } = new(StringComparer.Ordinal);

    /// <summary>Introspection requests: the form and the client's Authorization header, in order.</summary>
    public ConcurrentQueue<(IReadOnlyDictionary<string, string> Form, string? Authorization)> IntrospectionRequests { get; } = new();

    /// <summary>The introspection endpoint cannot be reached.</summary>
    public bool IntrospectionDown { get; set; }

    /// <summary>Lifetime of a registered client's secret (<c>client_secret_expires_at</c>); null: never expires (0).</summary>
    public TimeSpan? RegisteredSecretLifetime { get; set; }

    public int JwksRequests => _jwksRequests;

    /// <summary>When set, the token endpoint answers every request with this (status, JSON body) instead.</summary>
    public (HttpStatusCode Status, string Body)? TokenAnswer { get; set; }

    /// <summary>When set, the token endpoint cannot be reached (a transport failure).</summary>
    public bool TokenEndpointDown { get; set; }

    /// <summary>The userinfo endpoint's answer to an access token: claims (JSON 200), or null for a 500.</summary>
    public Func<string, Dictionary<string, object?>?> UserInfo { get; set; } = token => new() { ["sub"] = "unknown" };

    /// <summary>Access tokens the userinfo endpoint answers 401 (<c>invalid_token</c>): revoked at the provider.</summary>
    public Func<string, bool> UserInfoRevoked { get; set; } = _ => false;

    /// <summary>When set, the discovery document has no <c>userinfo_endpoint</c>.</summary>
    public bool NoUserinfoEndpoint { get; set; }

    /// <summary>When set, discovery names a pushed authorization request endpoint (RFC 9126), which answers 201.</summary>
    public bool AdvertisesPushedAuthorization { get; set; }

    /// <summary>How many requests reached the pushed authorization request endpoint.</summary>
    public int PushedAuthorizationRequests => _parRequests;

    /// <summary>When set, the discovery document has no <c>end_session_endpoint</c> (no RP-initiated logout).</summary>
    public bool NoEndSessionEndpoint { get; set; }

    /// <summary>Discovery's <c>scopes_supported</c>; null: not published.</summary>
    public string[]? ScopesSupported { get; set; }

    /// <summary>Every access token the userinfo endpoint was called with, in order.</summary>
    public ConcurrentQueue<string> UserInfoRequests { get; } = new();

    /// <summary>The signing keys the JWKS publishes (rotation: publish another).</summary>
    public void Publish(params (RSA Key, string Kid)[] keys) => _published = keys;

    /// <summary>A code the token endpoint exchanges (once) for <paramref name="tokens"/>.</summary>
    public string IssueCode(TokenSet tokens)
    {
        var code = "code-" + Guid.NewGuid().ToString("N");
        _codes[code] = tokens;
        return code;
    }

    /// <summary>What the token endpoint answers to a refresh with <paramref name="refreshToken"/>; unknown ones get invalid_grant.</summary>
    public void OnRefresh(string refreshToken, Func<TokenSet> answer) => _refreshGrants[refreshToken] = answer;

    public long Now => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>An ID token for this client signed by the published key.</summary>
    public string IdToken(string sub, string? nonce, Action<Dictionary<string, object?>>? edit = null, TimeSpan? lifetime = null)
    {
        var claims = new Dictionary<string, object?>
        {
            ["iss"] = Issuer, ["aud"] = Audience, ["sub"] = sub, ["iat"] = Now, ["exp"] = Now + (long)(lifetime ?? TimeSpan.FromHours(1)).TotalSeconds,
            ["jti"] = Guid.NewGuid().ToString("N"), ["sid"] = "sid-" + sub, ["email"] = sub + "@example.com", ["email_verified"] = true,
            ["groups"] = new[] { "staff" },
        };
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        edit?.Invoke(claims);
        return Sign(claims);
    }

    /// <summary>An RFC 9068 access token (<c>typ: at+jwt</c>) for this client.</summary>
    public string AccessToken(string sub, Action<Dictionary<string, object?>>? edit = null, TimeSpan? lifetime = null)
    {
        var claims = new Dictionary<string, object?>
        {
            ["iss"] = Issuer, ["aud"] = Audience, ["sub"] = sub, ["iat"] = Now, ["exp"] = Now + (long)(lifetime ?? TimeSpan.FromMinutes(5)).TotalSeconds,
            ["jti"] = Guid.NewGuid().ToString("N"), ["email"] = sub + "@example.com", ["email_verified"] = true, ["groups"] = new[] { "staff" },
        };
        edit?.Invoke(claims);
        return Sign(claims, typ: "at+jwt");
    }

    /// <summary>A back-channel logout token naming <paramref name="sid"/> and/or <paramref name="sub"/>.</summary>
    public string LogoutToken(string? sid, string? sub, Action<Dictionary<string, object?>>? edit = null)
    {
        var claims = new Dictionary<string, object?>
        {
            ["iss"] = Issuer, ["aud"] = Audience, ["iat"] = Now, ["exp"] = Now + 120, ["jti"] = Guid.NewGuid().ToString("N"),
            ["events"] = new Dictionary<string, object> { [BackchannelEvent] = new Dictionary<string, object>() },
        };
        if (sid is not null)
        {
            claims["sid"] = sid;
        }

        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        edit?.Invoke(claims);
        return Sign(claims, typ: "logout+jwt");
    }

    /// <summary>Signs any claims (RS256) with the published key, or the one given.</summary>
    public string Sign(Dictionary<string, object?> claims, string typ = "JWT", RSA? key = null, string? kid = null)
    {
        var signer = key ?? _published[0].Key;
        var header = new Dictionary<string, string> { ["alg"] = "RS256", ["typ"] = typ, ["kid"] = kid ?? _published[0].Kid };
        return Jwt.Build(header, claims, Jwt.Rs256(signer));
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.Host != new Uri(Issuer).Host)
        {
            throw new HttpRequestException("no such host (fake provider): " + request.RequestUri.Host);
        }

        var path = request.RequestUri.AbsolutePath;
        var form = request.Content is null || path == "/register" ? [] : ParseForm(await request.Content.ReadAsStringAsync(cancellationToken));
        return (request.Method.Method, path) switch
        {
            ("GET", "/.well-known/openid-configuration") => Discovery(),
            ("GET", "/jwks") => Jwks(),
            ("POST", "/token") => Token(form),
            ("POST", "/revoke") => Revoke(form, RevokedTokens),
            ("POST", "/custom/revoke") => Revoke(form, RevokedAtOverride),
            ("GET", "/userinfo") => UserInfoAnswer(request),
            ("POST", "/register") => await RegisterAsync(request, cancellationToken),
            ("POST", "/introspect") => Introspect(form, request),
            ("POST", "/par") => PushedAuthorization(),
            _ => new HttpResponseMessage(HttpStatusCode.NotFound),
        };
    }

    private HttpResponseMessage Discovery()
    {
        Interlocked.Increment(ref _discoveryRequests);
        var document = new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = Issuer + "/authorize",
            ["token_endpoint"] = Issuer + "/token",
            ["jwks_uri"] = Issuer + "/jwks",
            ["revocation_endpoint"] = Issuer + "/revoke",
            ["userinfo_endpoint"] = Issuer + "/userinfo",
            ["end_session_endpoint"] = EndSessionEndpoint,
            ["registration_endpoint"] = Issuer + "/register",
            ["introspection_endpoint"] = Issuer + "/introspect",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        };
        if (NoUserinfoEndpoint)
        {
            document.Remove("userinfo_endpoint");
        }

        if (AdvertisesPushedAuthorization)
        {
            document["pushed_authorization_request_endpoint"] = Issuer + "/par";
        }

        if (NoEndSessionEndpoint)
        {
            document.Remove("end_session_endpoint");
        }

        if (ScopesSupported is not null)
        {
            document["scopes_supported"] = ScopesSupported;
        }

        return Json(HttpStatusCode.OK, document);
    }

    private HttpResponseMessage PushedAuthorization()
    {
        Interlocked.Increment(ref _parRequests);
        return Json(HttpStatusCode.Created, new Dictionary<string, object> { ["request_uri"] = "urn:ietf:params:oauth:request_uri:fast", ["expires_in"] = 60 });
    }

    private HttpResponseMessage Jwks()
    {
        Interlocked.Increment(ref _jwksRequests);
        return Json(HttpStatusCode.OK, new { keys = _published.Select(k => Jwt.PublicJwk(k.Key, k.Kid)).ToArray() });
    }

    private HttpResponseMessage Token(Dictionary<string, string> form)
    {
        TokenRequests.Enqueue(form);
        if (TokenEndpointDown)
        {
            throw new HttpRequestException("connection refused (fake provider)");
        }

        if (TokenAnswer is { } scripted)
        {
            return new HttpResponseMessage(scripted.Status) { Content = new StringContent(scripted.Body, Encoding.UTF8, "application/json") };
        }

        TokenSet? tokens = form.GetValueOrDefault("grant_type") switch
        {
            "authorization_code" => _codes.TryRemove(form.GetValueOrDefault("code") ?? "", out var set) ? set : null,
            "refresh_token" => _refreshGrants.TryRemove(form.GetValueOrDefault("refresh_token") ?? "", out var answer) ? answer() : null,
            _ => null,
        };
        if (tokens is null)
        {
            return Json(HttpStatusCode.BadRequest, new { error = "invalid_grant" });
        }

        var body = new Dictionary<string, object> { ["token_type"] = "Bearer", ["expires_in"] = tokens.ExpiresIn };
        Add(body, "id_token", tokens.IdToken);
        Add(body, "access_token", tokens.AccessToken ?? "opaque-" + Guid.NewGuid().ToString("N"));
        Add(body, "refresh_token", tokens.RefreshToken);
        Add(body, "scope", tokens.Scope);
        return Json(HttpStatusCode.OK, body);
    }

    private async Task<HttpResponseMessage> RegisterAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
        Registrations.Enqueue((request.Headers.Authorization?.Parameter, document.RootElement.Clone()));
        if (RegistrationAnswer is { } scripted)
        {
            return new HttpResponseMessage(scripted.Status) { Content = new StringContent(scripted.Body, Encoding.UTF8, "application/json") };
        }

        Audience = "registered-" + Registrations.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Json(HttpStatusCode.Created, new Dictionary<string, object>
        {
            ["client_id"] = Audience,
            ["client_secret"] = "registered-secret-" + Registrations.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["client_secret_expires_at"] = RegisteredSecretLifetime is { } lifetime ? Now + (long)lifetime.TotalSeconds : 0,
            ["redirect_uris"] = document.RootElement.GetProperty("redirect_uris").Clone(),
        });
    }

    private HttpResponseMessage Introspect(Dictionary<string, string> form, HttpRequestMessage request)
    {
        IntrospectionRequests.Enqueue((form, request.Headers.Authorization?.ToString()));
        if (IntrospectionDown)
        {
            throw new HttpRequestException("connection refused (fake provider)");
        }

        return Introspection.TryGetValue(form.GetValueOrDefault("token") ?? "", out var answer)
            ? Json(HttpStatusCode.OK, answer)
            : Json(HttpStatusCode.OK, new Dictionary<string, object> { ["active"] = false });
    }

    /// <summary>An active introspection answer for <paramref name="sub"/>, as a provider sends it; <paramref name="edit"/> changes it.</summary>
    public string OpaqueToken(string sub, TimeSpan lifetime, Action<Dictionary<string, object?>>? edit = null)
    {
        var token = "opaque-" + Guid.NewGuid().ToString("N");
        var answer = new Dictionary<string, object?>
        {
            ["active"] = true, ["iss"] = Issuer, ["aud"] = Audience, ["client_id"] = Audience, ["sub"] = sub,
            ["exp"] = Now + (long)lifetime.TotalSeconds, ["iat"] = Now, ["token_type"] = "access_token", ["scope"] = "openid email",
            ["email"] = sub + "@example.com", ["groups"] = new[] { "staff" },
        };
        edit?.Invoke(answer);
        Introspection[token] = answer;
        return token;
    }

    private HttpResponseMessage UserInfoAnswer(HttpRequestMessage request)
    {
        var token = request.Headers.Authorization?.Parameter ?? "";
        UserInfoRequests.Enqueue(token);
        if (UserInfoRevoked(token))
        {
            var refused = new HttpResponseMessage(HttpStatusCode.Unauthorized);
            refused.Headers.WwwAuthenticate.ParseAdd("Bearer error=\"invalid_token\"");
            return refused;
        }

        return UserInfo(token) is { } claims ? Json(HttpStatusCode.OK, claims) : new HttpResponseMessage(HttpStatusCode.InternalServerError);
    }

    private static HttpResponseMessage Revoke(Dictionary<string, string> form, ConcurrentQueue<string> revoked)
    {
        if (form.GetValueOrDefault("token") is { } token)
        {
            revoked.Enqueue(token);
        }

        return new HttpResponseMessage(HttpStatusCode.OK);
    }

    private static void Add(Dictionary<string, object> body, string name, string? value)
    {
        if (value is not null)
        {
            body[name] = value;
        }
    }

    private static HttpResponseMessage Json(HttpStatusCode status, object body) =>
        new(status) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };

    private static Dictionary<string, string> ParseForm(string body) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    /// <summary>The state and nonce of an authorize URL this stack built.</summary>
    public static (string State, string Nonce) Parse(string authorizeUrl)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(authorizeUrl).Query);
        return (query["state"].ToString(), query["nonce"].ToString());
    }

    /// <summary>Base64url of a JSON value (for hand-made tokens).</summary>
    public static string Segment(object value) => Base64UrlEncoder.Encode(JsonSerializer.Serialize(value));
}
