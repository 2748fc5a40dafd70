using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// A pending login, sealed into its per-login binding cookie instead of the shared store: a request without
/// credentials writes nothing to the store. The cookie is an AES-256-GCM envelope (<see cref="KeyRing"/>, purpose
/// <c>login-cookie</c>: a login cookie never opens as a session cookie or store record, nor they as it), named after a
/// hash of its <c>state</c>, and holding the state itself so a cookie of one login cannot complete another.
/// </summary>
internal sealed class LoginCookie(ForwardAuthOptions options)
{
    /// <summary>How long a login may stay pending: the cookie's Max-Age and the oldest <see cref="PendingLogin.CreatedAt"/> accepted.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    // 1,000 bytes of payload become at most ~1.4 KB of cookie with the envelope and base64; a longer return URL loses its
    // query, then its path (the login still completes, on the origin's root).
    internal const int MaxPayloadBytes = 1000;
    private static readonly byte[] AssociatedData = "forwardauth-login-cookie"u8.ToArray();
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "login-cookie");

    /// <summary>The prefix of every login cookie's name (<c>&lt;cookiePrefix&gt;login_</c>).</summary>
    public string NamePrefix { get; } = options.CookiePrefix + "login_";

    /// <summary>The name of the cookie of the login with this <c>state</c>.</summary>
    public string NameFor(string state) => NamePrefix + IdOf(state);

    /// <summary>A short, non-secret id of a login for cookie names and logs.</summary>
    public static string IdOf(string state) => StoreKeys.Hash(state)[..16];

    public string Seal(PendingLogin login)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(login, SessionJsonContext.Default.PendingLogin);
        if (json.Length > MaxPayloadBytes && Uri.TryCreate(login.ReturnTo, UriKind.Absolute, out var target))
        {
            json = JsonSerializer.SerializeToUtf8Bytes(login with { ReturnTo = target.GetLeftPart(UriPartial.Path) }, SessionJsonContext.Default.PendingLogin);
            if (json.Length > MaxPayloadBytes)
            {
                json = JsonSerializer.SerializeToUtf8Bytes(login with { ReturnTo = target.GetLeftPart(UriPartial.Authority) + "/" }, SessionJsonContext.Default.PendingLogin);
            }
        }

        return Base64Url.EncodeToString(_keys.Seal(json, AssociatedData));
    }

    /// <summary>Null for anything that is not a login cookie we sealed (tampered, truncated, other key, garbage).</summary>
    public PendingLogin? TryOpen(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 4096 || !Base64Url.IsValid(value)
            || !_keys.TryOpen(Base64Url.DecodeFromChars(value), AssociatedData, out var json, out _))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, SessionJsonContext.Default.PendingLogin) is { State.Length: > 0, Nonce.Length: > 0, CodeVerifier.Length: > 0 } login
                ? login
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when the opened login is the one of <paramref name="state"/> (compared in constant time).</summary>
    public static bool IsFor(PendingLogin login, string state) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(login.State), Encoding.UTF8.GetBytes(state));
}

/// <summary>
/// What the callback needs of one login, sealed in its cookie: the <c>state</c> it was started with, nonce, PKCE
/// verifier, return URL, redirect URI, when it started, whether it is already the one retry after a refused code, and
/// the step-up it asks for (a route's <c>acr</c>/<c>maxAge</c>).
/// </summary>
internal sealed record PendingLogin(
    [property: JsonPropertyName("s")] string State,
    [property: JsonPropertyName("n")] string Nonce,
    [property: JsonPropertyName("v")] string CodeVerifier,
    [property: JsonPropertyName("r")] string ReturnTo,
    [property: JsonPropertyName("u")] string RedirectUri,
    [property: JsonPropertyName("c")] long CreatedAt,
    [property: JsonPropertyName("t")] bool Retried = false,
    [property: JsonPropertyName("a")] IReadOnlyList<string>? StepUpAcr = null,
    [property: JsonPropertyName("m")] long? StepUpMaxAge = null)
{
    /// <summary>A step-up login: started by a route's <c>acr</c>/<c>maxAge</c> rule, with <c>acr_values</c>/<c>max_age</c>.</summary>
    [JsonIgnore]
    public bool IsStepUp => StepUpAcr is { Count: > 0 } || StepUpMaxAge is not null;

    [JsonIgnore]
    public DateTimeOffset StartedAt => DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt);
}
