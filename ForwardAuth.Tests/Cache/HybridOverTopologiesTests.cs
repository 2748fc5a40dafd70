using ForwardAuth.Cache;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Cache;

/// <summary>The contract suite over the hybrid backend on each real topology: TLS + ACL, Sentinel, Cluster.</summary>
[TestFixture]
public class HybridOverTlsTests : CacheBackendContract
{
    private RedisTls _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisTls.StartAsync(RedisTlsCacheBackendTests.Prefix, requireClientCertificate: true);

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        await _redis.DisposeAsync();
    }

    internal override Task<ICacheBackend> CreateAsync() => _connections.HybridAsync(RedisTlsCacheBackendTests.Options(_redis, mutualTls: true));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);
}

[TestFixture]
public class HybridOverSentinelTests : CacheBackendContract
{
    private RedisSentinel _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisSentinel.StartAsync(RedisSentinelCacheBackendTests.Password);

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        await _redis.DisposeAsync();
    }

    internal override Task<ICacheBackend> CreateAsync() => _connections.HybridAsync(RedisSentinelCacheBackendTests.Options(_redis, "hybridsentinel", 1));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);
}

[TestFixture]
public class HybridOverClusterTests : CacheBackendContract
{
    private RedisCluster _redis = null!;
    private readonly RedisTestOptions.Connections _connections = new();

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisCluster.StartAsync(RedisClusterCacheBackendTests.Password);

    [OneTimeTearDown]
    public async Task StopRedis()
    {
        await _connections.DisposeAsync();
        await _redis.DisposeAsync();
    }

    internal override Task<ICacheBackend> CreateAsync() => _connections.HybridAsync(RedisClusterCacheBackendTests.Options(_redis, "hybridcluster"));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);
}
