using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Fast.Support;

/// <summary>
/// ForwardAuth's services composed exactly as the host composes them — the production <c>AddForwardAuth</c> over
/// options read by the configuration loader from environment names — with only two replacements: the clock is a
/// <see cref="FakeTimeProvider"/> and the provider's named HttpClient talks to a <see cref="FakeProvider"/> in process.
/// Its hosted services are started as the host would start them. No sockets, no processes.
/// </summary>
internal sealed class FastStack : IAsyncDisposable
{
    /// <summary>The protected host every request of a test comes from.</summary>
    public const string Origin = "https://app.fast.test";

    public const string EncryptionKey = "fast-tier-session-key-0123456789abcdef";

    /// <summary>Where the fake clock starts: far from the real date, so nothing can pass on the machine's clock.</summary>
    public static readonly DateTimeOffset Start = new(2031, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly List<IHostedService> _started = [];

    private FastStack(ForwardAuthOptions options, FakeTimeProvider time, FakeProvider provider, ServiceProvider services)
    {
        Options = options;
        Time = time;
        Provider = provider;
        Services = services;
    }

    public ForwardAuthOptions Options { get; }

    public FakeTimeProvider Time { get; }

    public FakeProvider Provider { get; }

    public ServiceProvider Services { get; }

    /// <summary>What the stack logged.</summary>
    public FastLogs Logs { get; private init; } = new();

    public AuthExchange Exchange => Services.GetRequiredService<AuthExchange>();

    public RequestVerifier Verifier => Services.GetRequiredService<RequestVerifier>();

    public LoginFlow Login => Services.GetRequiredService<LoginFlow>();

    public LogoutFlow Logout => Services.GetRequiredService<LogoutFlow>();

    public SessionStore Sessions => Services.GetRequiredService<SessionStore>();

    /// <summary>The stored record of a session cookie with its tokens (a decision reads none), or null when it has none.</summary>
    public async Task<SessionRecord?> StoredAsync(string cookie) =>
        await Sessions.ResolveAsync(cookie, CancellationToken.None) is { } session
            ? await Sessions.WithTokensAsync(StoreKeys.Hash(session.Handle), session.Record, CancellationToken.None)
            : null;

    public SessionRefresher Refresher => Services.GetRequiredService<SessionRefresher>();

    public TokenValidator Tokens => Services.GetRequiredService<TokenValidator>();

    /// <summary>The store as composed (metered, over memory / resilient Redis / hybrid).</summary>
    public ICacheBackend Cache => Services.GetRequiredService<ICacheBackend>();

    public string SessionCookieName => Sessions.CookieName;

    /// <summary>The environment a fast stack starts from (memory store, the fake provider); tests add or override keys.</summary>
    public static Dictionary<string, string> DefaultSettings() => new(StringComparer.Ordinal)
    {
        ["PROVIDER_URL"] = FakeProvider.Issuer,
        ["CLIENT_ID"] = FakeProvider.ClientId,
        ["CLIENT_SECRET"] = FakeProvider.ClientSecret,
        ["SESSION_ENCRYPTION_KEY"] = EncryptionKey,
        ["SCOPES"] = "openid,profile,email,groups",
        ["REDIS_ENABLED"] = "false",
    };

    public static Task<FastStack> StartAsync(params (string Key, string Value)[] settings)
    {
        var all = DefaultSettings();
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return StartAsync(all);
    }

    /// <param name="provider">Sets up the fake provider before anything reads its discovery document.</param>
    public static async Task<FastStack> StartAsync(IReadOnlyDictionary<string, string> settings, Action<FakeProvider>? provider = null)
    {
        var options = ConfigurationLoader.Load([], settings.GetValueOrDefault);
        var time = new FakeTimeProvider(Start);
        var fake = new FakeProvider(time);
        provider?.Invoke(fake);
        var logs = new FastLogs();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddForwardAuth(options);
        services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
        services.AddHttpClient(ProviderHttp.ClientName).ConfigurePrimaryHttpMessageHandler(() => fake);
        var stack = new FastStack(options, time, fake, services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true })) { Logs = logs };
        foreach (var hosted in stack.Services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
            stack._started.Add(hosted);
        }

        return stack;
    }

    /// <summary>A login started as a browser would start it, answered by the provider with <paramref name="tokens"/>.</summary>
    public async Task<LoginAttempt> StartLoginAsync(string returnPath = "/")
    {
        var outcome = await Login.StartAsync(Origin, ReturnUrl.For(Origin, returnPath), seeOther: false, challenged: false, CancellationToken.None);
        var redirect = (AuthOutcome.LoginRedirect)outcome;
        var (state, nonce) = FakeProvider.Parse(redirect.AuthorizeUrl);
        return new LoginAttempt(redirect, state, nonce, redirect.BindingCookieName + "=" + redirect.BindingValue);
    }

    /// <summary>The callback of <paramref name="login"/> with a code, through the exchange as the proxy sends it.</summary>
    public Task<AuthOutcome> CallbackAsync(LoginAttempt login, string? code, string? cookie = null, string? error = null)
    {
        var query = "?state=" + Uri.EscapeDataString(login.State)
            + (code is null ? "" : "&code=" + Uri.EscapeDataString(code))
            + (error is null ? "" : "&error=" + Uri.EscapeDataString(error));
        return Exchange.HandleAsync(Requests.Navigation(Options.CallbackPath + query, cookie ?? login.BindingCookie), PolicyRules.None, CancellationToken.None);
    }

    /// <summary>
    /// A complete login of <paramref name="sub"/> (provider tokens as given, or an ID token with the login's nonce and an
    /// access token, no refresh token); returns the session cookie's value.
    /// </summary>
    public async Task<string> SignInAsync(string sub = "alice", Func<LoginAttempt, TokenSet>? tokens = null)
    {
        var login = await StartLoginAsync();
        var set = tokens?.Invoke(login) ?? new TokenSet(Provider.IdToken(sub, login.Nonce), Provider.AccessToken(sub));
        var outcome = await CallbackAsync(login, Provider.IssueCode(set));
        return outcome is AuthOutcome.SignedIn signedIn
            ? signedIn.SessionCookie
            : throw new InvalidOperationException("login did not complete: " + outcome);
    }

    /// <summary>The cookie header a browser with this session cookie sends.</summary>
    public string CookieHeader(string sessionCookie) => SessionCookieName + "=" + sessionCookie;

    /// <summary>A browser navigation to <paramref name="pathAndQuery"/> with a session cookie, through the exchange.</summary>
    public Task<AuthOutcome> NavigateAsync(string pathAndQuery, string? sessionCookie = null, PolicyRules? route = null) =>
        Exchange.HandleAsync(Requests.Navigation(pathAndQuery, sessionCookie is null ? null : CookieHeader(sessionCookie)), route ?? PolicyRules.None, CancellationToken.None);

    /// <summary>An API call with a bearer token, through the exchange.</summary>
    public Task<AuthOutcome> BearerAsync(string token, string path = "/api", PolicyRules? route = null) =>
        Exchange.HandleAsync(Requests.Api(path, authorization: "Bearer " + token), route ?? PolicyRules.None, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in _started)
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await Services.DisposeAsync();
        Provider.Dispose();
    }
}

/// <summary>A started login: its redirect, the state and nonce of its authorize URL, and the binding cookie header.</summary>
internal sealed record LoginAttempt(AuthOutcome.LoginRedirect Redirect, string State, string Nonce, string BindingCookie);
