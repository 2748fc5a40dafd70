using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// The whole deployment: Caddy (the forward-auth proxy) → two ForwardAuth processes sharing real Redis → the echo
/// backend, with the real provider. Requests go to replica A, except the login callback and requests marked
/// <c>X-Replica: b</c>, which go to replica B — so a test can choose where each step lands.
/// </summary>
public abstract class ProxiedStack
{
    internal RedisServer Redis { get; private set; } = null!;
    internal OidcProvider Provider { get; private set; } = null!;
    internal ForwardAuthInstance A { get; private set; } = null!;
    internal ForwardAuthInstance B { get; private set; } = null!;
    internal EchoBackend Backend { get; private set; } = null!;
    internal CaddyProxy Caddy { get; private set; } = null!;

    internal string SiteUrl => Caddy.BaseUrl;

    [OneTimeSetUp]
    public async Task StartStack()
    {
        // Caddy's address goes into the provider's redirect URIs, and Caddy forwards to the replica processes started
        // with them: its port is held until Caddy starts (a child process cannot be handed a bound socket).
        using var caddyPort = PortReservation.Take();
        var site = $"http://127.0.0.1:{caddyPort.Port.ToString(CultureInfo.InvariantCulture)}";
        Redis = await RedisServer.StartAsync();
        Provider = await OidcProvider.StartAsync(ProviderSettings(site));
        var settings = ForwardAuthSettings.For(Provider, Redis);
        settings["AUDIENCE"] = ReplicaPair.ApiAudience;
        settings["EXCLUDED_URLS"] = "/public";
        ConfigureReplicas(settings, site);
        var starting = new[] { ForwardAuthInstance.StartProcessAsync(settings), ForwardAuthInstance.StartProcessAsync(settings) };
        A = await starting[0];
        B = await starting[1];
        Backend = await EchoBackend.StartAsync();
        Caddy = await CaddyProxy.StartAsync(caddyPort, SiteBody(A.Port, B.Port, Backend.Port));
    }

    /// <summary>
    /// Caddy's site: the login callback and requests marked <c>X-Replica: b</c> to replica B's <c>/auth</c>, the rest to
    /// A's, then the backend. A fixture with routes of its own overrides it.
    /// </summary>
    private protected virtual string SiteBody(int a, int b, int backend) => $$"""
                    @toB path /oauth2/callback
                    @markedB header X-Replica b
                    @toA {
                        not path /oauth2/callback
                        not header X-Replica b
                    }
                    forward_auth @toB 127.0.0.1:{{b}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }
                    forward_auth @markedB 127.0.0.1:{{b}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }
                    forward_auth @toA 127.0.0.1:{{a}} {
                        uri /auth
                        copy_headers {{CaddyProxy.CopiedHeaders}}
                    }
                    reverse_proxy 127.0.0.1:{{backend}}
            """;

    /// <summary>The provider of the stack; <paramref name="site"/> is Caddy's address.</summary>
    private protected virtual OidcProvider.Settings ProviderSettings(string site) => new()
    {
        AutoLogin = "hint",
        AccessTokenResource = ReplicaPair.ApiAudience,
        RedirectUris = [site + "/oauth2/callback"],
        PostLogoutRedirectUris = [site + "/"],
    };

    /// <summary>A fixture's own settings of both replicas, on top of the stack's.</summary>
    private protected virtual void ConfigureReplicas(Dictionary<string, string> settings, string site)
    {
    }

    [OneTimeTearDown]
    public async Task StopStack()
    {
        await Caddy.DisposeAsync();
        await Backend.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Provider.DisposeAsync();
        await Redis.DisposeAsync();
    }

    /// <summary>A login through Caddy as a plain HTTP client (the provider auto-logs in the <c>login_hint</c> user).</summary>
    internal async Task<HttpClient> LoggedInClientAsync(string login, string path = "/")
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new System.Net.CookieContainer() };
        var http = new HttpClient(handler);
        var url = SiteUrl + path;
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await http.GetAsync(url);
            if (response.Headers.Location is null)
            {
                return http;
            }

            url = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location.AbsoluteUri : new Uri(new Uri(url), response.Headers.Location).AbsoluteUri;
            if (url.StartsWith(Provider.Issuer + "/auth?", StringComparison.Ordinal))
            {
                url += "&login_hint=" + Uri.EscapeDataString(login);
            }
        }

        throw new InvalidOperationException("login through Caddy did not settle");
    }
}
