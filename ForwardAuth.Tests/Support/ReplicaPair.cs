namespace ForwardAuth.Tests.Support;

/// <summary>
/// Two ForwardAuth replicas sharing one real Redis, with the real provider (auto-login as the <c>login_hint</c>, JWT
/// access tokens for <see cref="ApiAudience"/>). Started once per fixture.
/// </summary>
public abstract class ReplicaPair
{
    public const string ApiAudience = "https://api.app.test";

    internal RedisServer Redis { get; private set; } = null!;
    internal OidcProvider Provider { get; private set; } = null!;
    internal ForwardAuthInstance A { get; private set; } = null!;
    internal ForwardAuthInstance B { get; private set; } = null!;

    /// <summary>Extra settings of both replicas.</summary>
    protected virtual Dictionary<string, string> ExtraSettings => new()
    {
        ["AUDIENCE"] = ApiAudience,
        ["EXCLUDED_URLS"] = "/public",
        ["PASS_AUTHORIZATION_HEADER"] = "true",
    };

    [OneTimeSetUp]
    public async Task StartReplicas()
    {
        Redis = await RedisServer.StartAsync();
        Provider = await OidcProvider.StartAsync(new OidcProvider.Settings
        {
            AutoLogin = "hint",
            AccessTokenResource = ApiAudience,
            RedirectUris = ["http://app.test/oauth2/callback", "https://app.test/oauth2/callback", "http://other.test/oauth2/callback"],
            PostLogoutRedirectUris = ["http://app.test/", "https://app.test/"],
        });
        var settings = ForwardAuthSettings.For(Provider, Redis);
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }

        A = await ForwardAuthInstance.StartInProcessAsync(settings);
        B = await ForwardAuthInstance.StartInProcessAsync(settings);
    }

    [OneTimeTearDown]
    public async Task StopReplicas()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Provider.DisposeAsync();
        await Redis.DisposeAsync();
    }

    internal async Task<ForwardAuthInstance> StartReplicaAsync(Dictionary<string, string> overrides)
    {
        var settings = ForwardAuthSettings.For(Provider, Redis);
        foreach (var (key, value) in ExtraSettings.Concat(overrides))
        {
            settings[key] = value;
        }

        return await ForwardAuthInstance.StartInProcessAsync(settings);
    }
}
