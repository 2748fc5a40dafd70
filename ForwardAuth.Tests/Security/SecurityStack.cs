using System.Globalization;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// Started once for every class of the security suite: real Redis, the real provider (auto-login by
/// <c>login_hint</c>, JWT access tokens for <see cref="ReplicaPair.ApiAudience"/>), two replicas sharing them, a
/// replica that trusts no local proxy, and Caddy in front of A and B with the echo backend behind — so a case that
/// depends on what the proxy does goes through the real proxy.
/// </summary>
[SetUpFixture]
public sealed class SecurityStack
{
    public const string SessionCookieName = "_forwardauth_session";
    public const string TenantHeader = "X-Auth-Request-Tenant";

    internal static RedisServer Redis { get; private set; } = null!;
    internal static OidcProvider Provider { get; private set; } = null!;
    internal static ForwardAuthInstance A { get; private set; } = null!;
    internal static ForwardAuthInstance B { get; private set; } = null!;

    /// <summary>Trusts only 10.9.9.9: the tests' own loopback connections are an untrusted peer to it.</summary>
    internal static ForwardAuthInstance Untrusting { get; private set; } = null!;

    internal static EchoBackend Backend { get; private set; } = null!;
    internal static CaddyProxy Caddy { get; private set; } = null!;

    internal static string SiteUrl => Caddy.BaseUrl;

    /// <summary>The settings of A and B: excluded paths, a claim header, nested roles and the session's access token passed on.</summary>
    internal static Dictionary<string, string> Settings(IReadOnlyDictionary<string, string>? overrides = null)
    {
        var settings = ForwardAuthSettings.For(Provider, Redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["EXCLUDED_URLS"] = "/public,/static/assets";
        settings["PASS_AUTHORIZATION_HEADER"] = "true";
        settings["CLAIM_HEADERS"] = TenantHeader + "=tenant";
        settings["ROLE_CLAIM_NAME"] = "realm_access.roles";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Another in-process replica on the same Redis and provider (dispose it in the class that starts it).</summary>
    internal static Task<ForwardAuthInstance> StartReplicaAsync(
        IReadOnlyDictionary<string, string> overrides, Action<IServiceCollection>? configureServices = null) =>
        ForwardAuthInstance.StartInProcessAsync(Settings(overrides), configureServices);

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Redis = await RedisServer.StartAsync();
        Backend = await EchoBackend.StartAsync();
        // Caddy forwards to A and B, and its address is one of the provider's redirect URIs: A's and B's ports are held
        // (handed to their Kestrel later), so that Caddy can start first, on another port if its first one is taken.
        using var portA = PortReservation.Take();
        using var portB = PortReservation.Take();
        var a = "127.0.0.1:" + portA.Port.ToString(CultureInfo.InvariantCulture);
        var b = "127.0.0.1:" + portB.Port.ToString(CultureInfo.InvariantCulture);
        var backend = "127.0.0.1:" + Backend.Port.ToString(CultureInfo.InvariantCulture);
        // /admin-only/* carries its own rule in the forwardAuth address, as a second Traefik Middleware would.
        Caddy = await CaddyProxy.StartAsync($$"""
                    @admins path /admin-only /admin-only/*
                    @callback path /oauth2/callback
                    @rest {
                        not path /admin-only /admin-only/*
                        not path /oauth2/callback
                    }
                    forward_auth @admins {{a}} {
                        uri /auth?allowedRolesAndGroups=admins
                        copy_headers {{CaddyProxy.CopiedHeaders}} {{TenantHeader}}
                    }
                    forward_auth @callback {{b}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}} {{TenantHeader}}
                    }
                    forward_auth @rest {{a}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}} {{TenantHeader}}
                    }
                    reverse_proxy {{backend}}
            """);
        var site = Caddy.BaseUrl;
        Provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ReplicaPair.ApiAudience,
            RedirectUris = ["http://app.test/oauth2/callback", "https://app.test/oauth2/callback", site + "/oauth2/callback"],
            PostLogoutRedirectUris = ["http://app.test/", "https://app.test/", site + "/"],
        });
        A = await ForwardAuthInstance.StartInProcessAsync(Settings(), listenOn: portA);
        B = await ForwardAuthInstance.StartInProcessAsync(Settings(), listenOn: portB);
        Untrusting = await StartReplicaAsync(new Dictionary<string, string> { ["TRUSTED_PROXIES"] = "10.9.9.9/32" });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await Caddy.DisposeAsync();
        await Backend.DisposeAsync();
        await Untrusting.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Provider.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
