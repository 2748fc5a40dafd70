using System.Security.Cryptography.X509Certificates;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// The one multiplexer of the process. It is created without waiting for Redis (<c>AbortOnConnectFail=false</c>): the
/// service starts and serves while Redis is down, and StackExchange.Redis keeps reconnecting in the background.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly ILogger<RedisConnection> _logger;
    private readonly Lazy<Task<ConnectionMultiplexer>> _multiplexer;

    public RedisConnection(RedisOptions options, ILogger<RedisConnection> logger, TimeProvider time)
    {
        _options = options;
        _logger = logger;
        FirstConnect = new FirstConnectGate(time, StartupWait(options));
        _multiplexer = new Lazy<Task<ConnectionMultiplexer>>(() =>
        {
            var attempt = ConnectAsync();
            FirstConnect.Started(attempt);
            return attempt;
        });
    }

    public string KeyPrefix => _options.KeyPrefix + ":";

    /// <summary>A Redis Cluster: the health probe checks every slot owner (<see cref="ClusterCoverage"/>).</summary>
    public bool ClusterMode => _options.ClusterMode;

    public Task<ConnectionMultiplexer> GetAsync() => _multiplexer.Value;

    /// <summary>Readiness waits for the first connection attempt (<see cref="FirstConnectGate"/>).</summary>
    public FirstConnectGate FirstConnect { get; }

    /// <summary>
    /// How long readiness waits for the first attempt: twice <c>dialTimeout</c> (through Sentinels the attempt is a
    /// Sentinel connection and then the master's, each bounded by it).
    /// </summary>
    public static TimeSpan StartupWait(RedisOptions options) => options.DialTimeout * 2;

    public bool IsConnected => _multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully && _multiplexer.Value.Result.IsConnected;

    /// <summary>How many known Redis servers are connected and how many are not (the health document's "pool").</summary>
    public (int Connected, int Disconnected) ServerCounts()
    {
        if (!_multiplexer.IsValueCreated || !_multiplexer.Value.IsCompletedSuccessfully)
        {
            return (0, 0);
        }

        var servers = _multiplexer.Value.Result.GetServers();
        var connected = servers.Count(s => s.IsConnected);
        return (connected, servers.Length - connected);
    }

    internal static ConfigurationOptions BuildConfiguration(RedisOptions o)
    {
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ClientName = "forwardauth",
            Password = NullIfEmpty(o.Password),
            User = NullIfEmpty(o.Username),
            DefaultDatabase = o.Db,
            ConnectTimeout = (int)o.DialTimeout.TotalMilliseconds,
            // SE.Redis has one timeout for a command round trip; the longer of read and write bounds it.
            SyncTimeout = (int)Math.Max(o.ReadTimeout.TotalMilliseconds, o.WriteTimeout.TotalMilliseconds),
            AsyncTimeout = (int)Math.Max(o.ReadTimeout.TotalMilliseconds, o.WriteTimeout.TotalMilliseconds),
            ConnectRetry = Math.Max(1, o.MaxRetries),
            ServiceName = NullIfEmpty(o.SentinelMasterName),
            Ssl = o.Tls.Enabled,
            ReconnectRetryPolicy = new ExponentialRetry(250, 5_000),
            // While disconnected, fail at once instead of queueing commands until a timeout: the caller falls back.
            BacklogPolicy = BacklogPolicy.FailFast,
        };

        foreach (var node in o.Address.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            config.EndPoints.Add(node);
        }

        if (o.Tls.Enabled)
        {
            ConfigureTls(config, o.Tls);
        }

        return config;
    }

    private static void ConfigureTls(ConfigurationOptions config, RedisTlsOptions tls)
    {
        if (tls.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // An explicit, documented opt-in (redis.tls.insecureSkipVerify) for test setups.
            config.CertificateValidation += (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (tls.CaFile.Length > 0)
        {
            config.TrustIssuer(tls.CaFile);
        }

        if (tls.CertFile.Length > 0)
        {
            var clientCertificate = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
            config.CertificateSelection += (_, _, _, _, _) => clientCertificate;
        }

        config.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
    }

    /// <summary>
    /// What the latest connection failure points at (<see cref="RedisErrors.Hint"/>), or null once a connection is
    /// restored. More telling than the error of a failed command: StackExchange.Redis fails a command with the error of
    /// whichever connect attempt failed last, often a sibling connection's cancelled attempt that names no cause.
    /// </summary>
    public string? LastFailureHint { get; private set; }

    /// <summary>
    /// Reads the topology again — every server's role, the master elected afresh (StackExchange.Redis's
    /// <c>ConfigureAsync</c>, bounded by <paramref name="timeout"/>) — then runs <paramref name="probe"/> again. For a
    /// view the library keeps from before a failover (see <see cref="RedisCacheBackend.HealthAsync"/> and
    /// <see cref="ClusterCoverage"/>). Logged only when the probe then succeeds: while Redis is really down every health
    /// check comes here, and the breaker's own lines already say so.
    /// </summary>
    public async Task RereadTopologyAsync(ConnectionMultiplexer multiplexer, string reason, Func<Task> probe, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await multiplexer.ConfigureAsync().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        await probe().ConfigureAwait(false);
        Log.RedisTopologyReread(_logger, reason);
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var config = BuildConfiguration(_options);
        // The handlers below can only be attached once ConnectAsync returns, and after a refused handshake (wrong
        // password, untrusted server certificate, missing client certificate) StackExchange.Redis raises no further
        // ConnectionFailed while it retries: the first failure's cause is only in its connect log.
        using var connectLog = new ConnectLog();
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(config, connectLog).ConfigureAwait(false);
        multiplexer.ConnectionFailed += (_, e) =>
        {
            LastFailureHint = RedisErrors.Hint(e.Exception);
            Log.RedisConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString(), LastFailureHint);
        };
        multiplexer.ConnectionRestored += (_, e) =>
        {
            LastFailureHint = null;
            Log.RedisConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
            if (e.ConnectionType == ConnectionType.Interactive && e.EndPoint is { } endpoint)
            {
                LogVersion(multiplexer.GetServer(endpoint));
            }
        };
        if (!multiplexer.IsConnected && RedisErrors.FromConnectLog(connectLog.ToString()) is var (endpoint, failureType, hint))
        {
            LastFailureHint = hint;
            Log.RedisConnectionFailed(_logger, endpoint, failureType, hint);
        }

        Log.RedisCacheInitialized(_logger, _options.Address, _options.CacheMode.ToString().ToLowerInvariant(), _options.KeyPrefix, multiplexer.IsConnected);
        foreach (var server in multiplexer.GetServers().Where(s => s.IsConnected))
        {
            LogVersion(server);
        }

        return multiplexer;
    }

    // The version StackExchange.Redis read (INFO server) when it connected; the service needs Redis 5.0 or later.
    private void LogVersion(IServer server)
    {
        if (!server.IsConnected)
        {
            return;
        }

        var role = server.ServerType == ServerType.Cluster ? "cluster node" : server.IsReplica ? "replica" : "primary";
        Log.RedisServerVersion(_logger, server.EndPoint.ToString() ?? "?", server.Version.ToString(), role, server.Version >= MinimumVersion);
    }

    private static readonly Version MinimumVersion = new(5, 0);

    /// <summary>StackExchange.Redis's connect log, kept (bounded) only to find a failure's cause; never logged as is.</summary>
    private sealed class ConnectLog : TextWriter
    {
        private readonly System.Text.StringBuilder _text = new();

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_text)
            {
                if (_text.Length < 64 * 1024)
                {
                    _text.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            lock (_text)
            {
                if (_text.Length < 64 * 1024)
                {
                    _text.Append(value);
                }
            }
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated)
        {
            try
            {
                await (await _multiplexer.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Shutting down: nothing to report.
            }
        }
    }
}
