using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ForwardAuth.Tests.Cache;

/// <summary>
/// The store exactly as the host composes it (<see cref="StoreServiceCollectionExtensions.AddForwardAuthStore"/>), in a
/// container of its own, with its hosted services started (the Redis connection, pub/sub, the breaker's monitor).
/// <paramref name="configure"/> runs first: a test may register its clock, or a fake shared store under
/// <see cref="StoreServiceCollectionExtensions.SharedStoreKey"/>.
/// </summary>
internal sealed class StoreStack : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];

    private StoreStack(ServiceProvider services) => _services = services;

    public static async Task<StoreStack> StartAsync(RedisOptions redis, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        configure?.Invoke(services);
        services.AddForwardAuthStore(redis);
        var stack = new StoreStack(services.BuildServiceProvider());
        foreach (var hosted in stack._services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
            stack._started.Add(hosted);
        }

        return stack;
    }

    /// <summary>A stack whose shared store is <paramref name="shared"/> (a fake), on <paramref name="time"/>.</summary>
    public static Task<StoreStack> OverAsync(ICacheBackend shared, TimeProvider time, RedisOptions redis) =>
        StartAsync(redis, s =>
        {
            s.AddSingleton(time);
            s.AddKeyedSingleton(StoreServiceCollectionExtensions.SharedStoreKey, shared);
        });

    /// <summary>The store the service talks to (the outermost layer).</summary>
    public ICacheBackend Store => Get<ICacheBackend>();

    /// <summary>The shared store below the breaker (Redis, or the test's fake).</summary>
    public ICacheBackend Shared => _services.GetRequiredKeyedService<ICacheBackend>(StoreServiceCollectionExtensions.SharedStoreKey);

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Hybrid mode: waits until L1 is in use (the invalidation channel subscribed).</summary>
    public Task ReadyAsync() => Get<HybridCacheBackend>().Ready.WaitAsync(TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in _started)
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
    }
}
