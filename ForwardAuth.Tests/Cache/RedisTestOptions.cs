using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// Redis options built the way an operator sets them: through the configuration loader from environment names
/// (<c>REDIS_TLS_CA_FILE</c>, <c>REDIS_SENTINEL_MASTER_NAME</c>, ...), so a renamed or mis-bound key breaks these tests.
/// Redis is enabled in <c>redis</c> mode unless the names given say otherwise.
/// </summary>
internal static class RedisTestOptions
{
    public static RedisOptions FromEnvironment(IReadOnlyDictionary<string, string> redis) => ConfigurationLoader.Load([], n => redis.GetValueOrDefault(n) ?? n switch
    {
        "PROVIDER_URL" => "https://id.example.com",
        "CLIENT_ID" => "c",
        "CLIENT_SECRET" => "s",
        "SESSION_ENCRYPTION_KEY" => "0123456789abcdef0123456789abcdef",
        "REDIS_ENABLED" => "true",
        "REDIS_CACHE_MODE" => "redis",
        _ => null,
    }).Redis;

    /// <summary>Memory mode (Redis disabled).</summary>
    public static RedisOptions Memory() => FromEnvironment(new Dictionary<string, string> { ["REDIS_ENABLED"] = "false" });

    /// <summary>
    /// Composed stores (<see cref="StoreStack"/>) on a topology, disposed together in a fixture's teardown: the whole
    /// stack for the contract, or a layer of it (the Redis layer, the connection) for what only that layer promises.
    /// </summary>
    internal sealed class Connections : IAsyncDisposable
    {
        private readonly List<StoreStack> _stacks = [];

        public async Task<StoreStack> StackAsync(RedisOptions options)
        {
            var stack = await StoreStack.StartAsync(options);
            lock (_stacks)
            {
                _stacks.Add(stack);
            }

            return stack;
        }

        /// <summary>The connection of a composed stack in <c>redis</c> mode.</summary>
        public async Task<RedisConnection> OpenAsync(RedisOptions options) => (await StackAsync(options)).Get<RedisConnection>();

        /// <summary>The store as the service uses it in <c>redis</c> mode: metered → breaker and fallback → Redis.</summary>
        public async Task<ICacheBackend> StoreAsync(RedisOptions options) => (await StackAsync(options)).Store;

        /// <summary>The Redis layer of a composed stack (it throws <see cref="CacheUnavailableException"/> in an outage).</summary>
        public async Task<ICacheBackend> RedisLayerAsync(RedisOptions options) => (await StackAsync(options)).Shared;

        /// <summary>The store in <c>hybrid</c> mode (L1 + invalidation over pub/sub) on this topology, once L1 is in use.</summary>
        public async Task<ICacheBackend> HybridAsync(RedisOptions options)
        {
            var stack = await StackAsync(options with { CacheMode = CacheMode.Hybrid });
            await stack.ReadyAsync();
            return stack.Store;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var stack in _stacks)
            {
                await stack.DisposeAsync();
            }

            _stacks.Clear();
        }
    }
}
