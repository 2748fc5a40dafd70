namespace ForwardAuth.Configuration;

internal static class RedisOptionsBinder
{
    public static RedisOptions Bind(SettingReader r)
    {
        var enabled = r.Boolean("redis.enabled");
        var mode = r.Text("redis.cacheMode").Length == 0
            ? (enabled ? CacheMode.Hybrid : CacheMode.Memory)
            : r.Choice("redis.cacheMode", ("memory", CacheMode.Memory), ("redis", CacheMode.Redis), ("hybrid", CacheMode.Hybrid));

        var address = r.Text("redis.address");
        if (enabled && mode != CacheMode.Memory)
        {
            ValidateAddress(r, address);
        }

        var tls = new RedisTlsOptions(
            r.Boolean("redis.tls.enabled"),
            ConfigurationLoader.ExistingFile(r, "redis.tls.certFile"),
            ConfigurationLoader.ExistingFile(r, "redis.tls.keyFile"),
            ConfigurationLoader.ExistingFile(r, "redis.tls.caFile"),
            r.Boolean("redis.tls.insecureSkipVerify"));
        if (tls.CertFile.Length > 0 != tls.KeyFile.Length > 0)
        {
            r.Fail(tls.CertFile.Length > 0 ? "redis.tls.keyFile" : "redis.tls.certFile", "certFile and keyFile go together");
        }

        var prefix = r.Text("redis.keyPrefix");
        if (prefix.Length == 0 || prefix.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '*' or '?' or '[' or ']'))
        {
            r.Fail("redis.keyPrefix", $"'{prefix}' must be non-empty without spaces or glob characters");
        }

        var options = new RedisOptions
        {
            Enabled = enabled,
            Address = address,
            Password = r.Text("redis.password"),
            Username = r.Text("redis.username"),
            Db = r.Int32("redis.db"),
            KeyPrefix = prefix.TrimEnd(':'),
            CacheMode = mode,
            MaxRetries = r.Int32("redis.maxRetries"),
            PoolSize = r.Int32("redis.poolSize"),
            MinIdleConns = r.Int32("redis.minIdleConns"),
            MaxConnAge = r.Seconds("redis.maxConnAge"),
            PoolTimeout = r.Seconds("redis.poolTimeout"),
            IdleTimeout = r.Seconds("redis.idleTimeout"),
            DialTimeout = r.Seconds("redis.dialTimeout"),
            ReadTimeout = r.Seconds("redis.readTimeout"),
            WriteTimeout = r.Seconds("redis.writeTimeout"),
            CircuitBreakerThreshold = r.Int32("redis.circuitBreakerThreshold"),
            CircuitBreakerTimeout = r.Seconds("redis.circuitBreakerTimeout"),
            Tls = tls,
            ClusterMode = r.Boolean("redis.clusterMode"),
            MaxRedirects = r.Int32("redis.maxRedirects"),
            ReadOnly = r.Boolean("redis.readOnly"),
            RouteByLatency = r.Boolean("redis.routeByLatency"),
            RouteRandomly = r.Boolean("redis.routeRandomly"),
            SentinelMasterName = r.Text("redis.sentinelMasterName"),
            HealthCheckInterval = r.Seconds("redis.healthCheckInterval"),
            LocalCacheMaxEntries = r.Int32("redis.localCacheMaxEntries"),
            LocalCacheTtl = r.Seconds("redis.localCacheTTL"),
            OutageJournalSize = r.Int32("redis.outageJournalSize"),
        };

        if (options.MinIdleConns > options.PoolSize)
        {
            r.Fail("redis.minIdleConns", $"{options.MinIdleConns} exceeds poolSize {options.PoolSize}");
        }

        if (options.ClusterMode && options.SentinelMasterName.Length > 0)
        {
            r.Fail("redis.sentinelMasterName", "cannot be combined with clusterMode");
        }

        if (options.ClusterMode && options.Db != 0)
        {
            r.Fail("redis.db", "Redis Cluster has only database 0");
        }

        return options;
    }

    private static void ValidateAddress(SettingReader r, string address)
    {
        var nodes = address.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (nodes.Length == 0)
        {
            r.Fail("redis.address", "is required when Redis is enabled");
        }

        foreach (var node in nodes)
        {
            var colon = node.LastIndexOf(':');
            var host = colon > 0 ? node[..colon].Trim('[', ']') : node;
            var portOk = colon < 0 || (int.TryParse(node[(colon + 1)..], out var port) && port is > 0 and < 65536);
            if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown || !portOk)
            {
                r.Fail("redis.address", $"'{node}' is not host:port");
            }
        }
    }
}
