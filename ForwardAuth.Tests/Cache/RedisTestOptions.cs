using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// Redis options built the way an operator sets them: through the configuration loader from environment names
/// (<c>REDIS_TLS_CA_FILE</c>, <c>REDIS_SENTINEL_MASTER_NAME</c>, ...), so a renamed or mis-bound key breaks these tests.
/// </summary>
internal static class RedisTestOptions
{
    public static RedisOptions FromEnvironment(IReadOnlyDictionary<string, string> redis) => ConfigurationLoader.Load([], n => n switch
    {
        "PROVIDER_URL" => "https://id.example.com",
        "CLIENT_ID" => "c",
        "CLIENT_SECRET" => "s",
        "SESSION_ENCRYPTION_KEY" => "0123456789abcdef0123456789abcdef",
        "REDIS_ENABLED" => "true",
        "REDIS_CACHE_MODE" => "redis",
        _ => redis.GetValueOrDefault(n),
    }).Redis;

    /// <summary>Backends and their connections, disposed together in a fixture's teardown.</summary>
    internal sealed class Connections : IAsyncDisposable
    {
        private readonly List<RedisConnection> _all = [];
        private readonly List<HybridCacheBackend> _hybrids = [];

        public RedisConnection Open(RedisOptions options)
        {
            var connection = new RedisConnection(options, NullLogger<RedisConnection>.Instance);
            _all.Add(connection);
            return connection;
        }

        public RedisCacheBackend Backend(RedisOptions options) => new(Open(options));

        /// <summary>The hybrid backend (L1 + invalidation over pub/sub) on this topology.</summary>
        public async Task<HybridCacheBackend> HybridAsync(RedisOptions options)
        {
            var connection = Open(options);
            var channel = new InvalidationChannel(connection);
            var hybrid = new HybridCacheBackend(
                new RedisCacheBackend(connection, invalidations: channel), connection, channel, new MemoryCacheBackend(TimeProvider.System, 1000),
                TimeSpan.FromMinutes(1), breaker: null, NullLogger<HybridCacheBackend>.Instance);
            _hybrids.Add(hybrid);
            await hybrid.Ready.WaitAsync(TimeSpan.FromSeconds(20));
            return hybrid;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var hybrid in _hybrids)
            {
                await hybrid.DisposeAsync();
            }

            foreach (var connection in _all)
            {
                await connection.DisposeAsync();
            }

            _all.Clear();
        }
    }
}
