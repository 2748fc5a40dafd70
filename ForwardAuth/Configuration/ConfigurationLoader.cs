using System.Net;
using ForwardAuth.Configuration.HeaderTemplates;

namespace ForwardAuth.Configuration;

/// <summary>Thrown at start when the configuration is invalid; the message names every bad key, never a secret.</summary>
internal sealed class ConfigurationException(IReadOnlyList<string> problems)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Sources, later wins: built-in defaults → YAML file → environment → command line.</summary>
internal static class ConfigurationLoader
{
    private static readonly string[] DefaultScopes = ["openid", "profile", "email"];

    public static ForwardAuthOptions Load(IReadOnlyList<string> args, Func<string, string?> getVariable) => Load(args, getVariable, out _);

    public static ForwardAuthOptions Load(
        IReadOnlyList<string> args, Func<string, string?> getVariable, out IReadOnlyList<string> unknownKeys) =>
        Load(args, getVariable, out unknownKeys, out _);

    /// <summary>Also returns the traefikoidc plugin keys that were set and are not implemented, with what to use instead.</summary>
    public static ForwardAuthOptions Load(
        IReadOnlyList<string> args, Func<string, string?> getVariable, out IReadOnlyList<string> unknownKeys,
        out IReadOnlyList<PluginKeyNotice> pluginKeys)
    {
        var raw = new RawSettings();
        if (RawSettings.ConfigFileFrom(args, getVariable) is { } file)
        {
            raw.AddYamlFile(file);
        }

        raw.AddEnvironment(getVariable);
        raw.AddCommandLine(args);
        unknownKeys = raw.UnknownKeys;
        pluginKeys = raw.PluginKeys;
        return Bind(new SettingReader(raw));
    }

    private static ForwardAuthOptions Bind(SettingReader r)
    {
        var options = new ForwardAuthOptions
        {
            ProviderUrl = ProviderSettings.ProviderUrl(r),
            ClientId = ClientSetting(r, "clientID"),
            ClientSecret = ClientSetting(r, "clientSecret"),
            TokenEndpointAuth = r.Choice("tokenEndpointAuthMethod",
                ("client_secret_basic", TokenEndpointAuth.ClientSecretBasic),
                ("client_secret_post", TokenEndpointAuth.ClientSecretPost)),
            // The plugin's meaning: added to openid, profile and email, or with overrideScopes the list itself (openid leads).
            Scopes = (r.Boolean("overrideScopes") ? ["openid"] : DefaultScopes).Concat(r.List("scopes")).Distinct(StringComparer.Ordinal).ToList(),
            AuthorizeParams = AuthorizeParams.Read(r),
            EnablePkce = r.Boolean("enablePKCE"),
            Audience = r.Text("audience"),
            StrictAudienceValidation = r.Boolean("strictAudienceValidation"),
            AllowOpaqueTokens = r.Boolean("allowOpaqueTokens") || r.Boolean("requireTokenIntrospection"),
            RequireTokenIntrospection = r.Boolean("requireTokenIntrospection"),
            CaCertPath = ExistingFile(r, "caCertPath"),
            CaCertPem = ProviderSettings.CaCertPem(r),
            InsecureSkipVerify = r.Boolean("insecureSkipVerify"),
            RevocationUrl = ProviderSettings.EndpointUrl(r, "revocationURL"),
            EndSessionUrl = ProviderSettings.EndpointUrl(r, "oidcEndSessionURL"),
            AllowHttpProvider = r.Boolean("allowHTTPProvider"),
            CallbackUrl = CallbackUrl(r),
            LogoutPath = LocalPath(r, "logoutURL"),
            LoginPath = LocalPath(r, "loginURL"),
            PostLogoutRedirectUri = r.Text("postLogoutRedirectURI"),
            BackchannelLogoutPath = LocalPath(r, "backchannelLogoutURL"),
            EnableFrontchannelLogout = r.Boolean("enableFrontchannelLogout"),
            FrontchannelLogoutPath = LocalPath(r, "frontchannelLogoutURL"),
            Sso = SsoOptions.Read(r),
            SessionEncryptionKeys = EncryptionKeys(r),
            CookieDomain = r.Text("cookieDomain").TrimStart('.'),
            CookiePrefix = CookiePrefix(r),
            SessionMaxAge = SessionMaxAge(r),
            SessionIdleTimeout = r.Seconds("sessionIdleTimeout"),
            SessionActivityInterval = r.Seconds("sessionActivityInterval"),
            ForceHttps = r.Boolean("forceHTTPS"),
            RefreshGracePeriod = r.Seconds("refreshGracePeriodSeconds"),
            RefreshLeaseTtl = r.Seconds("refreshLeaseTTL"),
            RefreshWait = r.Seconds("refreshWaitSeconds"),
            StripAuthCookies = r.Boolean("stripAuthCookies"),
            SessionCheckInterval = r.Seconds("sessionCheckInterval"),
            UserIdentifierClaim = NonEmpty(r, "userIdentifierClaim"),
            RoleClaimName = NonEmpty(r, "roleClaimName"),
            GroupClaimName = NonEmpty(r, "groupClaimName"),
            ClaimSeparator = r.Text("claimSeparator"),
            ClaimsFromUserinfo = r.Boolean("claimsFromUserinfo"),
            AllowedUsers = r.List("allowedUsers"),
            AllowedUserDomains = r.List("allowedUserDomains").Select(d => d.TrimStart('@')).ToList(),
            AllowedRolesAndGroups = r.List("allowedRolesAndGroups"),
            ExcludedUrls = ListSettings.ExcludedUrls(r),
            PassAuthorizationHeader = r.Boolean("passAuthorizationHeader"),
            ClaimHeaders = ListSettings.ClaimHeaders(r),
            MinimalHeaders = r.Boolean("minimalHeaders"),
            AllowCorsPreflight = r.Boolean("allowCorsPreflight"),
            DisableReplayDetection = r.Boolean("disableReplayDetection"),
            ReplayProtection = r.Choice("replayProtection", ("local", ReplayProtection.Local), ("closed", ReplayProtection.Closed)),
            JtiCacheTtl = r.Seconds("jtiCacheTTL"),
            TokenMetadataTtl = r.Seconds("tokenMetadataTTL"),
            TrustedProxies = ListSettings.TrustedProxies(r),
            MinWorkerThreads = r.Int32("minWorkerThreads"),
            LogLevel = r.Choice("logLevel", ("info", "info"), ("debug", "debug"), ("warn", "warn"), ("warning", "warn"), ("error", "error")),
            Redis = RedisOptionsBinder.Bind(r),
            Regulation = new RegulationOptions(r.Int32("regulation.maxRetries"), r.Seconds("regulation.findTime"), r.Seconds("regulation.banTime")),
            PluginRateLimit = r.IsSet("rateLimit") ? r.Integer("rateLimit") : null,
        };

        options = options with
        {
            ClientRegistration = ClientRegistrationSettings.Read(r, options.CallbackUrl, options.PostLogoutRedirectUri, r.Text("tokenEndpointAuthMethod")),
        };
        if (options.RegistersClient && options.ClientRegistration.Metadata.TokenEndpointAuthMethod == "client_secret_post")
        {
            options = options with { TokenEndpointAuth = TokenEndpointAuth.ClientSecretPost }; // authenticate as registered
        }

        // The templates are compiled once, here; a header they name must not be written by another option too.
        options = options with
        {
            HeaderTemplates = HeaderTemplateSettings.Read(r, options.ClaimHeaders, options.PassAuthorizationHeader, options.StripAuthCookies),
        };

        if (r.Errors.Count > 0)
        {
            throw new ConfigurationException(r.Errors);
        }

        return options;
    }

    // Required unless the client registers itself (dynamicClientRegistration.enabled with an empty clientID).
    private static string ClientSetting(SettingReader r, string path) =>
        r.Boolean("dynamicClientRegistration.enabled") && r.Text("clientID").Length == 0 ? r.Text(path) : Required(r, path);

    private static string Required(SettingReader r, string path)
    {
        var text = r.Text(path);
        if (text.Length == 0)
        {
            r.Fail(path, "is required");
        }

        return text;
    }

    private static string NonEmpty(SettingReader r, string path)
    {
        var text = r.Text(path);
        if (text.Length == 0)
        {
            r.Fail(path, "must not be empty");
        }

        return text;
    }

    private static IReadOnlyList<string> EncryptionKeys(SettingReader r)
    {
        var keys = r.List("sessionEncryptionKey");
        if (keys.Count == 0)
        {
            r.Fail("sessionEncryptionKey", "is required (at least 32 characters)");
        }

        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Length < 32)
            {
                var which = keys.Count > 1 ? $"key #{i + 1}" : "the key";
                r.Fail("sessionEncryptionKey", $"{which} has {keys[i].Length} characters; at least 32 are required");
            }
        }

        return keys;
    }

    private static string CallbackUrl(SettingReader r)
    {
        var text = r.Text("callbackURL");
        if (TryAbsoluteUri(text, out var abs) && abs.Scheme is "https" or "http")
        {
            return text;
        }

        return LocalPath(r, "callbackURL");
    }

    private static string LocalPath(SettingReader r, string path)
    {
        var text = r.Text(path);
        if (!text.StartsWith('/') || text.StartsWith("//", StringComparison.Ordinal) || text.Any(c => char.IsControl(c) || c is '?' or '#' or '\\' or ' '))
        {
            r.Fail(path, $"'{text}' must be a path starting with a single '/' (no query, fragment or spaces)");
        }

        return text.Length > 1 ? text.TrimEnd('/') : text;
    }

    private static string CookiePrefix(SettingReader r)
    {
        var text = r.Text("cookiePrefix");
        // Cookie names are RFC 6265 tokens.
        if (text.Length == 0 || text.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
        {
            r.Fail("cookiePrefix", $"'{text}' is not a valid cookie name prefix");
        }

        return text;
    }

    private static TimeSpan SessionMaxAge(SettingReader r)
    {
        var maxAge = r.Seconds("sessionMaxAge");
        if (!r.IsSet("sessionTTL"))
        {
            return maxAge;
        }

        var ttl = r.Seconds("sessionTTL");
        if (r.IsSet("sessionMaxAge") && ttl != maxAge)
        {
            r.Fail("sessionTTL", "differs from sessionMaxAge; set only one of them");
        }

        return ttl;
    }

    /// <summary>
    /// Uri.TryCreate, except that it never throws: on some inputs ("//" followed by a Unicode format character) it throws
    /// IndexOutOfRangeException (.NET 10), which would stop the process with a stack trace instead of exit code 2.
    /// </summary>
    internal static bool TryAbsoluteUri(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? uri)
    {
        try
        {
            return Uri.TryCreate(text, UriKind.Absolute, out uri);
        }
        catch (IndexOutOfRangeException)
        {
            uri = null;
            return false;
        }
    }

    internal static string ExistingFile(SettingReader r, string path)
    {
        var text = r.Text(path);
        if (text.Length > 0 && !File.Exists(text))
        {
            r.Fail(path, $"file '{text}' does not exist");
        }

        return text;
    }
}
