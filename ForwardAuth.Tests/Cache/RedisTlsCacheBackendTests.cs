using System.Text;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The contract over TLS, as an ACL user confined to its prefix, with <c>requirepass</c> on the default user and
/// database 3 — once with mutual TLS required (<c>tls-auth-clients yes</c>, client certificate from
/// <c>REDIS_TLS_CERT_FILE</c>/<c>REDIS_TLS_KEY_FILE</c>) and once with server-only TLS. Plus the failures an operator
/// meets first: a wrong password and a missing CA, each named by its setting.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public class RedisTlsCacheBackendTests(bool mutualTls) : CacheBackendContract
{
    internal const string Prefix = "tlscontract";
    private const int Db = 3;
    private RedisTls _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis()
    {
        _redis = await RedisTls.StartAsync(Prefix, requireClientCertificate: mutualTls);
        TestContext.Progress.WriteLine($"Redis TLS (client certificate required: {mutualTls}) ready in {_redis.StartupTime.TotalMilliseconds:F0} ms");
    }

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    private RedisOptions Options(Action<Dictionary<string, string>>? change = null) => Options(_redis, mutualTls, change);

    internal static RedisOptions Options(RedisTls redis, bool mutualTls, Action<Dictionary<string, string>>? change = null)
    {
        var env = new Dictionary<string, string>
        {
            ["REDIS_ADDRESS"] = redis.Address,
            ["REDIS_KEY_PREFIX"] = Prefix,
            ["REDIS_USERNAME"] = RedisTls.User,
            ["REDIS_PASSWORD"] = RedisTls.UserPassword,
            ["REDIS_DB"] = Db.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_TLS_ENABLED"] = "true",
            ["REDIS_TLS_CA_FILE"] = redis.CaFile,
            ["REDIS_DIAL_TIMEOUT"] = "2",
        };
        if (mutualTls)
        {
            env["REDIS_TLS_CERT_FILE"] = redis.ClientCertFile;
            env["REDIS_TLS_KEY_FILE"] = redis.ClientKeyFile;
        }

        change?.Invoke(env);
        return RedisTestOptions.FromEnvironment(env);
    }

    internal override Task<ICacheBackend> CreateAsync() => _connections.StoreAsync(Options());

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    [Test]
    public async Task Set_LandsInTheConfiguredDatabaseUnderThePrefix()
    {
        var cache = await CreateAsync();
        await cache.SetAsync("session:tls1", Encoding.UTF8.GetBytes("v"), TimeSpan.FromMinutes(1));

        Assert.Multiple(async () =>
        {
            Assert.That(await _redis.AdminAsync(Db, "GET", Prefix + ":session:tls1"), Is.EqualTo("v"));
            Assert.That(await _redis.AdminAsync(0, "EXISTS", Prefix + ":session:tls1"), Is.EqualTo(0L));
        });
    }

    [Test]
    public async Task Clear_UnderTheAcl_RemovesOwnKeysOnly()
    {
        Assert.That(await _redis.AdminAsync(Db, "SET", "someone-else:key", "keep"), Is.EqualTo("OK"));
        var cache = await CreateAsync();
        await cache.SetAsync("x:1", [1], TimeSpan.FromMinutes(1));

        await cache.ClearAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await _redis.AdminAsync(Db, "GET", "someone-else:key"), Is.EqualTo("keep"));
            Assert.That(await _redis.AdminAsync(Db, "EXISTS", Prefix + ":x:1"), Is.EqualTo(0L));
        });
    }

    [Test]
    public async Task PubSub_OnAChannelUnderThePrefix_IsAllowedByTheAcl()
    {
        var multiplexer = await (await _connections.OpenAsync(Options())).GetAsync();
        var channel = RedisChannel.Literal(Prefix + ":invalidate");
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Right after connect the subscription connection may still be on its way: with BacklogPolicy.FailFast the
        // SUBSCRIBE then fails at once ("No connection is active/available"), so a subscriber retries (as the hybrid does).
        await TestPaths.WaitUntilAsync(
            async () =>
            {
                try
                {
                    await multiplexer.GetSubscriber().SubscribeAsync(channel, (_, message) => received.TrySetResult(message!));
                    return true;
                }
                catch (RedisConnectionException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "the subscription");

        var receivers = await multiplexer.GetSubscriber().PublishAsync(channel, "session:abc");

        Assert.Multiple(async () =>
        {
            Assert.That(receivers, Is.EqualTo(1));
            Assert.That(await received.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo("session:abc"));
        });
    }

    [Test]
    public async Task DefaultUser_WithRequirepassOnly_Works()
    {
        var cache = await _connections.RedisLayerAsync(Options(env =>
        {
            env.Remove("REDIS_USERNAME");
            env["REDIS_PASSWORD"] = RedisTls.DefaultPassword;
        }));

        await cache.SetAsync("k:default-user", [7], TimeSpan.FromMinutes(1));

        Assert.That(await cache.GetAsync("k:default-user"), Is.EqualTo(new byte[] { 7 }));
    }

    [Test]
    public async Task Acl_DeniesNothingTheServiceUses()
    {
        Assert.That(await _redis.AdminAsync(0, "ACL", "LOG", "RESET"), Is.EqualTo("OK"));
        // The Redis layer of a hybrid stack: every command the service sends, invalidation announcements included.
        // Disposed with the test: its subscription must not count as a receiver in the pub/sub test.
        await using var stack = await StoreStack.StartAsync(Options() with { CacheMode = CacheMode.Hybrid });
        await stack.ReadyAsync();
        var connection = stack.Get<RedisConnection>();
        var cache = stack.Shared;
        await cache.SetAsync("acl:1", [1], TimeSpan.FromMinutes(1));
        await cache.AddIfAbsentAsync("acl:2", [1], TimeSpan.FromMinutes(1), Guarantee.AcrossReplicas);
        await cache.ExistsAsync("acl:1");
        await cache.GetAndDeleteAsync("acl:2");
        await cache.AddIfAbsentAsync("acl:3", [1], TimeSpan.FromMinutes(1), Guarantee.BestEffort);
        await cache.RenewIfValueAsync("acl:3", [1], TimeSpan.FromMinutes(1));
        await cache.DeleteIfValueAsync("acl:3", [1]);
        await cache.SetAddAsync("acl:4", "m", TimeSpan.FromMinutes(1));
        await cache.SetMembersAsync("acl:4");
        await cache.DeleteAsync("acl:1");
        await cache.ClearAsync();
        Assert.That((await cache.HealthAsync()).Healthy, Is.True);
        await (await connection.GetAsync()).GetSubscriber().PublishAsync(RedisChannel.Literal(Prefix + ":invalidate"), "x");

        var log = (object?[])(await _redis.AdminAsync(0, "ACL", "LOG"))!;
        var denied = log.Cast<object?[]>()
            .Select(entry => entry.Chunk(2).ToDictionary(p => (string)p[0]!, p => p[1]))
            .Where(entry => (string?)entry["username"] == RedisTls.User && (string?)entry["reason"] != "auth")
            .Select(entry => $"{entry["reason"]} {entry["object"]}")
            .ToList();

        // StackExchange.Redis's own probes are refused and it copes: INFO and CONFIG GET (@dangerous), the tie-breaker
        // key and the configuration channel (outside the prefix). Nothing the service itself sends may be refused.
        Assert.That(
            denied.Where(d => d is not ("command info" or "command config|get" or "key __Booksleeve_TieBreak" or "channel __Booksleeve_MasterChanged")),
            Is.Empty);
    }

    [Test]
    public Task WrongPassword_ThrowsUnavailable_HintNamesThePassword() =>
        AssertFailureHintAsync(env => env["REDIS_PASSWORD"] = "not-the-password", expected: "redis.password", misleading: "TLS handshake failed");

    [Test]
    public Task WithoutTheCa_ThrowsUnavailable_HintNamesTls() =>
        AssertFailureHintAsync(env => env.Remove("REDIS_TLS_CA_FILE"), expected: "redis.tls", misleading: "authentication failed: check redis.password");

    [Test]
    public async Task WithoutTls_AgainstATlsPort_ThrowsUnavailable()
    {
        var cache = await _connections.RedisLayerAsync(Options(env => env["REDIS_TLS_ENABLED"] = "false"));

        Assert.ThrowsAsync<CacheUnavailableException>(() => cache.GetAsync("k"));
        Assert.That((await cache.HealthAsync()).Healthy, Is.False);
    }

    [Test]
    public async Task WithoutClientCertificate_WhenRequired_ThrowsUnavailable_HintNamesTls()
    {
        if (!mutualTls)
        {
            // Server-only TLS: connecting without a client certificate is the contract run itself.
            Assert.That((await (await CreateAsync()).HealthAsync()).Healthy, Is.True);
            return;
        }

        await AssertFailureHintAsync(
            env =>
            {
                env.Remove("REDIS_TLS_CERT_FILE");
                env.Remove("REDIS_TLS_KEY_FILE");
            },
            expected: "redis.tls",
            misleading: "authentication failed: check redis.password");
    }

    /// <summary>
    /// A misconfigured connection: every operation throws <see cref="CacheUnavailableException"/>; neither its message,
    /// the health problem, the connection's <see cref="RedisConnection.LastFailureHint"/> nor the log ever names the
    /// other setting or the secret; and the connection's hint and its warning log line name <paramref name="expected"/>.
    /// <para>
    /// Why not the command's own message alone: StackExchange.Redis fails a command with the error of whichever connect
    /// attempt failed last — often the subscription connection's, or an attempt it cancelled itself ("Operation
    /// canceled", "connection was closed before the command could be written") — which names no cause, so the message
    /// falls back to "check redis.address" (measured: a quarter to three quarters of failed TLS connects). The connect
    /// log that RedisConnection reads at start keeps the cause, except when the library cancels even the first
    /// attempt (1-3% of connects under load): up to five fresh connections get the chance.
    /// </para>
    /// </summary>
    private async Task AssertFailureHintAsync(Action<Dictionary<string, string>> misconfigure, string expected, string misleading)
    {
        var seen = new List<string>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var log = new CapturingLogger();
            var stack = await StoreStack.StartAsync(Options(misconfigure), s => s.AddSingleton<ILogger<RedisConnection>>(log));
            await using (stack)
            {
                var connection = stack.Get<RedisConnection>();
                var cache = stack.Shared;
                var e = Assert.ThrowsAsync<CacheUnavailableException>(() => cache.GetAsync("k"))!;
                var health = await cache.HealthAsync();
                var warnings = string.Join(" / ", log.Lines);
                seen.Add($"command: {e.Message} | health: {health.Problem} | connection: {connection.LastFailureHint} | log: {warnings}");

                var everything = e + " " + health.Problem + " " + connection.LastFailureHint + " " + warnings;
                Assert.Multiple(() =>
                {
                    Assert.That(health.Healthy, Is.False);
                    Assert.That(everything, Does.Not.Contain(misleading));
                    Assert.That(everything, Does.Not.Contain("not-the-password"));
                });
                if (connection.LastFailureHint?.Contains(expected, StringComparison.Ordinal) == true
                    && log.Lines.Any(l => l.Contains(expected, StringComparison.Ordinal)))
                {
                    TestContext.Out.WriteLine($"attempt {attempt + 1}: " + seen[^1]);
                    return;
                }
            }
        }

        Assert.Fail($"no connection named {expected} in 5 attempts:\n" + string.Join('\n', seen));
    }

    private sealed class CapturingLogger : ILogger<RedisConnection>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}
