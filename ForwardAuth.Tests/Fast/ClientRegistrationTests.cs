using System.Net;
using ForwardAuth.Auth;
using ForwardAuth.Oidc;
using ForwardAuth.Tests.Fast.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// <c>dynamicClientRegistration</c> (RFC 7591) in process: what is sent, that the registered client is the one every
/// protocol message and token check uses, that a stored registration is reused, that an expiring secret leads to a
/// new registration, and that a refusal is a provider failure with the provider's reason logged.
/// </summary>
[Category("Fast")]
public class ClientRegistrationTests
{
    private const string Token = "fast-initial-access-token";

    private static Task<FastStack> StartAsync(Action<FakeProvider>? provider = null, params (string Key, string Value)[] extra)
    {
        var settings = FastStack.DefaultSettings();
        settings.Remove("CLIENT_ID");
        settings.Remove("CLIENT_SECRET");
        settings["DYNAMIC_CLIENT_REGISTRATION_ENABLED"] = "true";
        settings["DYNAMIC_CLIENT_REGISTRATION_INITIAL_ACCESS_TOKEN"] = Token;
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_REDIRECT_URIS"] = FastStack.Origin + "/oauth2/callback";
        settings["DYNAMIC_CLIENT_REGISTRATION_CLIENT_METADATA_CONTACTS"] = "ops@example.com";
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return FastStack.StartAsync(settings, provider);
    }

    [Test]
    public async Task Login_UsesTheRegisteredClient_RegisteredOnceWithTheConfiguredMetadata()
    {
        await using var stack = await StartAsync();

        var cookie = await stack.SignInAsync("alice");
        var login = await stack.StartLoginAsync();

        Assert.That(stack.Provider.Registrations, Has.Count.EqualTo(1));
        var (token, document) = stack.Provider.Registrations.Single();
        Assert.Multiple(() =>
        {
            Assert.That(token, Is.EqualTo(Token), "the initial access token is the registration's bearer token");
            Assert.That(document.GetProperty("redirect_uris")[0].GetString(), Is.EqualTo(FastStack.Origin + "/oauth2/callback"), "the configured redirect URI");
            Assert.That(document.GetProperty("client_name").GetString(), Is.EqualTo("ForwardAuth"));
            Assert.That(document.GetProperty("grant_types").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "authorization_code", "refresh_token" }));
            Assert.That(document.GetProperty("token_endpoint_auth_method").GetString(), Is.EqualTo("client_secret_basic"));
            Assert.That(document.GetProperty("contacts")[0].GetString(), Is.EqualTo("ops@example.com"));
            Assert.That(login.Redirect.AuthorizeUrl, Does.Contain("client_id=registered-1"), "the authorize request names the registered client");
            Assert.That(cookie, Is.Not.Empty, "the ID token, issued to the registered client, was accepted");
            Assert.That(stack.Logs.Lines.Select(l => l.Message), Has.None.Contains("registered-secret-1"), "the client secret is never logged");
        });
    }

    [Test]
    public async Task AnotherRegistrarOverTheSameStore_ReadsTheRegistration_RegistersNothing()
    {
        await using var stack = await StartAsync();
        var first = await stack.Services.GetRequiredService<ClientCredentials>().GetAsync(CancellationToken.None);

        using var second = ActivatorUtilities.CreateInstance<ClientRegistrar>(stack.Services);
        var read = await second.GetAsync(CancellationToken.None);

        Assert.That(read, Is.EqualTo(first));
        Assert.That(stack.Provider.Registrations, Has.Count.EqualTo(1));
        Assert.That(stack.Logs.Lines.Select(l => l.EventId), Does.Contain(221));
    }

    /// <summary>
    /// Two replicas started together (CI met it: the provider counted two registrations): the second read the store
    /// before the first saved its registration, and claimed the lease after the first had released it. Under the lease
    /// the store is read again, so the first one's registration is used.
    /// </summary>
    [Test]
    public async Task AnotherReplicaRegisteredBetweenOurReadAndOurClaim_ItsRegistrationUsed_RegistersNothing()
    {
        await using var stack = await StartAsync();
        var first = await stack.Services.GetRequiredService<ClientCredentials>().GetAsync(CancellationToken.None);
        var late = new FirstReadMisses(stack.Services.GetRequiredService<IClientRegistrationStore>());

        using var second = ActivatorUtilities.CreateInstance<ClientRegistrar>(stack.Services, late);
        var read = await second.GetAsync(CancellationToken.None);

        Assert.That(late.Loads, Is.EqualTo(2), "read, (nothing yet), claimed, read again");
        Assert.That(read, Is.EqualTo(first));
        Assert.That(stack.Provider.Registrations, Has.Count.EqualTo(1), "one client for every replica");
    }

    /// <summary>A store whose first read comes before another replica's registration was saved.</summary>
    private sealed class FirstReadMisses(IClientRegistrationStore inner) : IClientRegistrationStore
    {
        private int _loads;

        public int Loads => _loads;

        public Task<StoredRegistration?> LoadAsync(string fingerprint, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _loads) == 1 ? Task.FromResult<StoredRegistration?>(null) : inner.LoadAsync(fingerprint, cancellationToken);

        public Task<bool> TryClaimAsync(string fingerprint, TimeSpan ttl, CancellationToken cancellationToken) => inner.TryClaimAsync(fingerprint, ttl, cancellationToken);

        public Task SaveAsync(string fingerprint, StoredRegistration registration, CancellationToken cancellationToken) => inner.SaveAsync(fingerprint, registration, cancellationToken);

        public Task ReleaseAsync(string fingerprint, CancellationToken cancellationToken) => inner.ReleaseAsync(fingerprint, cancellationToken);
    }

    [Test]
    public async Task SecretAboutToExpire_RegisteredAgain_TheNewClientSignsIn()
    {
        await using var stack = await StartAsync(p => p.RegisteredSecretLifetime = TimeSpan.FromHours(1));
        var credentials = stack.Services.GetRequiredService<ClientCredentials>();
        var first = await credentials.GetAsync(CancellationToken.None);

        stack.Time.Advance(TimeSpan.FromMinutes(54));
        Assert.That(await credentials.GetAsync(CancellationToken.None), Is.EqualTo(first), "still more than 5 minutes left");
        stack.Time.Advance(TimeSpan.FromMinutes(2));
        var renewed = await credentials.GetAsync(CancellationToken.None);

        Assert.That(renewed.ClientId, Is.EqualTo("registered-2"));
        Assert.That(stack.Provider.Registrations, Has.Count.EqualTo(2));
        Assert.That(await stack.SignInAsync("bob"), Is.Not.Empty);
    }

    [Test]
    public async Task RegistrationRefused_LoginIsAProviderFailure_TheProvidersReasonLogged()
    {
        await using var stack = await StartAsync(p => p.RegistrationAnswer = (HttpStatusCode.Unauthorized, """{"error":"invalid_token","error_description":"the initial access token is not valid"}"""));

        Assert.ThrowsAsync<HttpRequestException>(() => stack.NavigateAsync("/"));

        var refusal = stack.Logs.Lines.Last(l => l.EventId == 222).Message;
        Assert.That(refusal, Does.Contain("401 invalid_token: the initial access token is not valid"));
        Assert.That(stack.Logs.Lines.Select(l => l.Message), Has.None.Contains(Token));
    }

    [Test]
    public async Task ClientIdConfigured_NothingRegistered_TheConfiguredClientIsUsed()
    {
        await using var stack = await StartAsync(null, ("CLIENT_ID", FakeProvider.ClientId), ("CLIENT_SECRET", FakeProvider.ClientSecret));

        var login = await stack.StartLoginAsync();

        Assert.That(login.Redirect.AuthorizeUrl, Does.Contain("client_id=" + FakeProvider.ClientId));
        Assert.That(stack.Provider.Registrations, Is.Empty);
    }

    [Test]
    public async Task BearerToken_HeldToTheRegisteredClientAsAudience()
    {
        await using var stack = await StartAsync();
        await stack.Services.GetRequiredService<ClientCredentials>().GetAsync(CancellationToken.None);

        var ours = await stack.BearerAsync(stack.Provider.AccessToken("alice"));
        var other = await stack.BearerAsync(stack.Provider.AccessToken("alice", c => c["aud"] = FakeProvider.ClientId));

        Assert.That(ours, Is.InstanceOf<AuthOutcome.Allow>());
        Assert.That(other, Is.Not.InstanceOf<AuthOutcome.Allow>());
    }
}
