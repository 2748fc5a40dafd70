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

    public RedisConnection(RedisOptions options, ILogger<RedisConnection> logger)
    {
        _options = options;
        _logger = logger;
        _multiplexer = new Lazy<Task<ConnectionMultiplexer>>(ConnectAsync);
    }

    public string KeyPrefix => _options.KeyPrefix + ":";

    public Task<ConnectionMultiplexer> GetAsync() => _multiplexer.Value;

    public bool IsConnected => _multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully && _multiplexer.Value.Result.IsConnected;

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

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var config = BuildConfiguration(_options);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
        multiplexer.ConnectionFailed += (_, e) =>
            Log.RedisConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString(), RedisErrors.Hint(e.Exception));
        multiplexer.ConnectionRestored += (_, e) => Log.RedisConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
        Log.RedisCacheInitialized(_logger, _options.Address, _options.CacheMode.ToString().ToLowerInvariant(), _options.KeyPrefix, multiplexer.IsConnected);
        return multiplexer;
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
