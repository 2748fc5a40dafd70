using System.Diagnostics;
using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// The shared store on StackExchange.Redis. Every key is <c>&lt;keyPrefix&gt;:&lt;kind&gt;:&lt;id&gt;</c>. Outages
/// surface as <see cref="CacheUnavailableException"/>; everything else is a bug and propagates. In hybrid mode every
/// change is also announced on the <see cref="InvalidationChannel"/>.
/// </summary>
internal sealed class RedisCacheBackend(
    RedisConnection connection,
    TimeSpan? commandTimeout = null,
    InvalidationChannel? invalidations = null,
    bool readFromReplicas = false,
    ForwardAuth.Observability.ForwardAuthMetrics? metrics = null) : ICacheBackend
{
    // readOnly/routeByLatency/routeRandomly: plain reads may be served by a replica; atomic operations never are.
    private readonly CommandFlags _readFlags = readFromReplicas ? CommandFlags.PreferReplica : CommandFlags.None;

    // StackExchange.Redis notices async timeouts on a heartbeat (about once a second); our own bound keeps a hung
    // Redis from holding a request longer than the configured read/write timeout.
    private readonly TimeSpan _commandTimeout = commandTimeout ?? TimeSpan.FromSeconds(3);

    public string Name => "redis";

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Run("get", async db => (byte[]?)await db.StringGetAsync(Full(key), _readFlags).ConfigureAwait(false), cancellationToken);

    public Task SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run("set", db => Announced(db, key, db.StringSetAsync(Full(key), value, ttl)), cancellationToken);

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Run("delete", db => Announced(db, key, db.KeyDeleteAsync(Full(key))), cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        Run("exists", db => db.KeyExistsAsync(Full(key), _readFlags), cancellationToken);

    // Redis decides for every replica: the guarantee always holds here.
    public Task<AddResult> AddIfAbsentAsync(string key, byte[] value, TimeSpan ttl, Guarantee guarantee, CancellationToken cancellationToken = default) =>
        Run("add_if_absent", async db =>
            await Announced(db, key, db.StringSetAsync(Full(key), value, ttl, When.NotExists)).ConfigureAwait(false) ? AddResult.Added : AddResult.AlreadyPresent, cancellationToken);

    public Task<byte[]?> GetAndDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        Run("get_and_delete", async db =>
            (byte[]?)await Announced(db, key, db.ScriptEvaluateAsync(GetAndDeleteScript, [Full(key)])).ConfigureAwait(false), cancellationToken);

    // Every command below exists since Redis 2.6 (EVAL, SET NX PX, PEXPIRE): the floor is Redis 5.0 (no GETDEL, which
    // is 6.2+). Each script touches one key, so it stays in one Cluster slot.
    private const string GetAndDeleteScript =
        "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";

    // Compare-and-act on one key, atomically (only the holder of a value may renew or release it).
    private const string RenewIfValueScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

    private const string DeleteIfValueScript =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

    // INCR, and PEXPIRE on the count that created the key (or on a key that somehow has no TTL): a fixed window.
    private const string IncrementScript =
        "local n = redis.call('INCR', KEYS[1]) if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

    public Task<long> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) =>
        Run("increment", async db =>
            (long)await db.ScriptEvaluateAsync(IncrementScript, [Full(key)], [(long)window.TotalMilliseconds]).ConfigureAwait(false), cancellationToken);

    public Task<bool> RenewIfValueAsync(string key, byte[] expected, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run("renew_if_value", async db =>
            (long)await db.ScriptEvaluateAsync(RenewIfValueScript, [Full(key)], [expected, (long)ttl.TotalMilliseconds]).ConfigureAwait(false) == 1, cancellationToken);

    public Task<bool> DeleteIfValueAsync(string key, byte[] expected, CancellationToken cancellationToken = default) =>
        Run("delete_if_value", async db =>
            (long)await Announced(db, key, db.ScriptEvaluateAsync(DeleteIfValueScript, [Full(key)], [expected])).ConfigureAwait(false) == 1, cancellationToken);

    public Task SetAddAsync(string key, string member, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Run("set_add", async db =>
        {
            var add = db.SetAddAsync(Full(key), member);
            var expire = db.KeyExpireAsync(Full(key), ttl);
            await Task.WhenAll(add, expire).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyCollection<string>> SetMembersAsync(string key, CancellationToken cancellationToken = default) =>
        Run("set_members", async db =>
            (IReadOnlyCollection<string>)(await db.SetMembersAsync(Full(key)).ConfigureAwait(false)).Select(m => m.ToString()).ToList(), cancellationToken);

    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        var multiplexer = await connection.GetAsync().ConfigureAwait(false);
        var db = multiplexer.GetDatabase();
        try
        {
            // SCAN each primary for our prefix only: never FLUSHDB, other applications may share the database.
            foreach (var server in multiplexer.GetServers().Where(s => s.IsConnected && !s.IsReplica))
            {
                var batch = new List<Task>();
                await foreach (var key in server.KeysAsync(db.Database, connection.KeyPrefix + "*", pageSize: 500).WithCancellation(cancellationToken))
                {
                    batch.Add(db.KeyDeleteAsync(key));
                    if (batch.Count >= 500)
                    {
                        await Task.WhenAll(batch).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                await Task.WhenAll(batch).ConfigureAwait(false);
            }

            if (invalidations is not null)
            {
                await invalidations.PublishAsync(db, InvalidationChannel.Everything).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (RedisErrors.IsOutage(e))
        {
            throw new CacheUnavailableException("Redis unavailable: " + RedisErrors.Hint(e), e);
        }
    }

    public async Task<CacheHealth> HealthAsync(CancellationToken cancellationToken = default)
    {
        var connecting = connection.GetAsync();
        try
        {
            var multiplexer = await connecting.WaitAsync(_commandTimeout, cancellationToken).ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            if (connection.ClusterMode)
            {
                await ClusterCoverage.PingEverySlotOwnerAsync(connection, multiplexer, _commandTimeout, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PingMasterAsync(multiplexer, cancellationToken).ConfigureAwait(false);
            }

            return new CacheHealth(true, Stopwatch.GetElapsedTime(started), null);
        }
        catch (TimeoutException) when (!connecting.IsCompleted)
        {
            return new CacheHealth(false, null, FirstConnectPendingProblem, FirstConnectPending: true);
        }
        catch (Exception e) when (RedisErrors.IsOutage(e))
        {
            return new CacheHealth(false, null, RedisErrors.Hint(e));
        }
    }

    /// <summary>
    /// The master must answer: a replica answering while the master is gone (during a Sentinel failover) would close
    /// the breaker for reads that work and writes that fail. When none answers and the connection knows more than one
    /// server (Sentinel: the master and its replicas), the topology is read again and the master asked once more. After
    /// a Sentinel failover StackExchange.Redis can keep the dead master elected and mark the promoted replica a
    /// redundant master that no command is sent to — every command then fails with "No connection is active/available",
    /// until something makes it elect again (the Sentinel failover tests met it in 3 of 51 runs: one replica's commands
    /// failed while the other replica's worked, for as long as the test watched). Each health check
    /// re-reads at most once, so a Redis that is really down costs one extra connect attempt per check.
    /// </summary>
    private async Task PingMasterAsync(ConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        Task Ping() => multiplexer.GetDatabase().PingAsync(CommandFlags.DemandMaster).WaitAsync(_commandTimeout, cancellationToken);
        try
        {
            await Ping().ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsOutage(e) && multiplexer.GetServers().Length > 1)
        {
            await connection.RereadTopologyAsync(multiplexer, "no master had answered the health PING (" + RedisErrors.Hint(e) + ")", Ping, _commandTimeout, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private const string FirstConnectPendingProblem = "the first connection to Redis is still being made";

    private string Full(string key) => connection.KeyPrefix + key;

    // The write and its announcement are pipelined, so every other replica drops its L1 copy (or L1 absence) of the key.
    private async Task<T> Announced<T>(IDatabase db, string key, Task<T> write)
    {
        if (invalidations is null)
        {
            return await write.ConfigureAwait(false);
        }

        var announce = invalidations.PublishAsync(db, key);
        var result = await write.ConfigureAwait(false);
        await announce.ConfigureAwait(false);
        return result;
    }

    // StackExchange.Redis takes no per-call token: a cancelled request stops waiting (the command itself completes or
    // times out in the multiplexer). A cancellation is the caller's, not an outage: it propagates as is.
    private async Task<T> Run<T>(string operation, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        var connecting = connection.GetAsync();
        try
        {
            var multiplexer = await connecting.WaitAsync(_commandTimeout, cancellationToken).ConfigureAwait(false);
            var result = await command(multiplexer.GetDatabase()).WaitAsync(_commandTimeout, cancellationToken).ConfigureAwait(false);
            outcome = "success";
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = "cancelled";
            throw;
        }
        catch (TimeoutException e) when (!connecting.IsCompleted)
        {
            // Waiting for the process's first connection (a slow Sentinel at start-up) is not an outage.
            outcome = "unavailable";
            throw new CacheUnavailableException(FirstConnectPendingProblem, e, firstConnectPending: true);
        }
        catch (Exception e) when (RedisErrors.IsOutage(e))
        {
            outcome = "unavailable";
            metrics?.RedisFailures.Inc();
            throw new CacheUnavailableException("Redis unavailable: " + RedisErrors.Hint(e), e);
        }
        finally
        {
            metrics?.ObserveRedisOperation(operation, outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
