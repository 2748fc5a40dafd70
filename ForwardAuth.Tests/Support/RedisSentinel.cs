using System.Diagnostics;
using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A Sentinel-managed Redis on loopback: a master, one replica (<c>--replicaof</c>) and three redis-sentinel processes,
/// each with its own writable conf (Sentinel rewrites it), quorum 2, <c>down-after-milliseconds 1000</c>. Ready when
/// the replica's link is up and every Sentinel names the master, sees the replica and can reach the failover quorum
/// (<c>SENTINEL CKQUORUM</c>: it knows the other two). <see cref="KillMasterAsync"/> crashes the master and waits
/// until every Sentinel names the promoted replica.
/// </summary>
internal sealed class RedisSentinel : IAsyncDisposable
{
    public const string MasterName = "mymaster";

    private readonly string _directory;
    private readonly List<RedisNode> _dataNodes = [];
    private readonly List<RedisNode> _sentinels = [];

    private RedisSentinel(string directory, string? password, bool sentinelsRequirePassword)
    {
        _directory = directory;
        Password = password;
        SentinelsRequirePassword = sentinelsRequirePassword;
    }

    /// <summary><c>requirepass</c> (and <c>masterauth</c>) of master and replica; null: none.</summary>
    public string? Password { get; }

    /// <summary>The Sentinels have the same <c>requirepass</c> as the data nodes (as e.g. the Bitnami chart sets them up).</summary>
    public bool SentinelsRequirePassword { get; }

    /// <summary>The current master (the replica after a failover).</summary>
    public RedisNode Master { get; private set; } = null!;

    /// <summary>The current replica; null after a failover (the old master stays dead).</summary>
    public RedisNode? Replica { get; private set; }

    public IReadOnlyList<RedisNode> Sentinels => _sentinels;

    /// <summary>The three Sentinels, comma-separated: what <c>REDIS_ADDRESS</c> is in Sentinel mode.</summary>
    public string SentinelAddresses => string.Join(',', _sentinels.Select(s => s.Address));

    /// <summary>How long <see cref="StartAsync"/> took, for the log.</summary>
    public TimeSpan StartupTime { get; private set; }

    private string? SentinelPassword => SentinelsRequirePassword ? Password : null;

    public static async Task<RedisSentinel> StartAsync(string? password = null, bool sentinelsRequirePassword = false)
    {
        var started = Stopwatch.GetTimestamp();
        var topology = new RedisSentinel(TestPaths.NewTempDirectory("redis-sentinel"), password, sentinelsRequirePassword);
        try
        {
            await topology.StartNodesAsync();
            topology.StartupTime = Stopwatch.GetElapsedTime(started);
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    private async Task StartNodesAsync()
    {
        Master = await StartDataNodeAsync("master", replicaOf: null);
        Replica = await StartDataNodeAsync("replica", replicaOf: Master.Port);
        await WaitAsync(
            async () => (await InfoAsync(Replica, "replication")).GetValueOrDefault("master_link_status") == "up",
            TimeSpan.FromSeconds(15),
            "the replica's link to the master");

        for (var i = 1; i <= 3; i++)
        {
            var dir = Path.Combine(_directory, "sentinel-" + i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            _sentinels.Add(await RedisNode.StartAsync(
                "sentinel-" + i.ToString(CultureInfo.InvariantCulture),
                port => [WriteSentinelConf(dir, port)],
                executable: "redis-sentinel"));
        }

        await WaitAsync(
            async () =>
            {
                foreach (var sentinel in _sentinels)
                {
                    if (await MasterPortSeenByAsync(sentinel) != Master.Port
                        || await SentinelAsync(sentinel, "CKQUORUM", MasterName) is not string quorum || !quorum.StartsWith("OK 3 ", StringComparison.Ordinal)
                        || await SentinelAsync(sentinel, "REPLICAS", MasterName) is not object?[] { Length: 1 })
                    {
                        return false;
                    }
                }

                return true;
            },
            TimeSpan.FromSeconds(20),
            "the three Sentinels to agree on the master, see the replica and reach the quorum");
    }

    /// <summary>
    /// Waits until the replica has every write the master has (offsets equal), so that a failover loses nothing.
    /// </summary>
    public Task WaitForReplicaSyncAsync() =>
        WaitAsync(
            async () =>
            {
                var master = await InfoAsync(Master, "replication");
                var replica = await InfoAsync(Replica!, "replication");
                return replica.GetValueOrDefault("master_link_status") == "up"
                    && long.TryParse(master.GetValueOrDefault("master_repl_offset"), CultureInfo.InvariantCulture, out var m)
                    && long.TryParse(replica.GetValueOrDefault("slave_repl_offset"), CultureInfo.InvariantCulture, out var r)
                    && r >= m;
            },
            TimeSpan.FromSeconds(10),
            "the replica to catch up with the master's replication offset");

    /// <summary>
    /// SIGKILLs the master and waits until every Sentinel names the replica as the new master and the replica says
    /// it is one. Returns how long the failover took from the kill.
    /// </summary>
    public async Task<TimeSpan> KillMasterAsync() => (await FailOverAsync(n => n.KillAsync(), "was killed")).Took;

    /// <summary>
    /// SIGSTOPs the master (it hangs: connections stay open, nothing answers) and waits until every Sentinel names the
    /// replica as the new master and the replica says it is one. Returns the hung node and how long the failover took.
    /// </summary>
    public Task<(RedisNode Hung, TimeSpan Took)> PauseMasterAsync() => FailOverAsync(n =>
    {
        n.Pause();
        return Task.CompletedTask;
    }, "hung");

    private async Task<(RedisNode Old, TimeSpan Took)> FailOverAsync(Func<RedisNode, Task> stop, string what)
    {
        var promoted = Replica ?? throw new InvalidOperationException("no replica left to promote");
        var old = Master;
        await stop(old);
        var stopped = Stopwatch.GetTimestamp();
        await WaitAsync(
            async () =>
            {
                foreach (var sentinel in _sentinels)
                {
                    if (await MasterPortSeenByAsync(sentinel) != promoted.Port)
                    {
                        return false;
                    }
                }

                return (await InfoAsync(promoted, "replication")).GetValueOrDefault("role") == "master";
            },
            TimeSpan.FromSeconds(30),
            $"the Sentinels to promote the replica {promoted.Address} after the master {old.Address} {what}");
        var took = Stopwatch.GetElapsedTime(stopped);
        Master = promoted;
        Replica = null;
        return (old, took);
    }

    /// <summary>
    /// Resumes the old master hung by <see cref="PauseMasterAsync"/> and waits until the Sentinels have turned it into a
    /// replica of the new master, in sync. Returns how long that took.
    /// </summary>
    public async Task<TimeSpan> RejoinAsReplicaAsync(RedisNode hung)
    {
        hung.Resume();
        var resumed = Stopwatch.GetTimestamp();
        await WaitAsync(
            async () =>
            {
                var info = await InfoAsync(hung, "replication");
                return info.GetValueOrDefault("role") == "slave"
                    && info.GetValueOrDefault("master_port") == Master.Port.ToString(CultureInfo.InvariantCulture)
                    && info.GetValueOrDefault("master_link_status") == "up";
            },
            TimeSpan.FromSeconds(30),
            $"the Sentinels to turn the resumed old master {hung.Address} into a replica of {Master.Address}");
        Replica = hung;
        return Stopwatch.GetElapsedTime(resumed);
    }

    /// <summary>A command on the current master (as the default user).</summary>
    public Task<object?> MasterCommandAsync(params string[] args) => Resp.CommandAsync(Master.Port, args, Password);

    public Task<object?> ReplicaCommandAsync(params string[] args) => Resp.CommandAsync(Replica!.Port, args, Password);

    private async Task<int?> MasterPortSeenByAsync(RedisNode sentinel) =>
        await SentinelAsync(sentinel, "GET-MASTER-ADDR-BY-NAME", MasterName) is object?[] { Length: 2 } address
        && int.TryParse(address[1] as string, CultureInfo.InvariantCulture, out var port)
            ? port
            : null;

    private Task<object?> SentinelAsync(RedisNode sentinel, params string[] args) =>
        Resp.TryCommandAsync(sentinel.Port, ["SENTINEL", .. args], SentinelPassword);

    private async Task<IReadOnlyDictionary<string, string>> InfoAsync(RedisNode node, string section)
    {
        try
        {
            return await Resp.InfoAsync(node.Port, section, Password);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
        {
            return new Dictionary<string, string>();
        }
    }

    private async Task<RedisNode> StartDataNodeAsync(string name, int? replicaOf)
    {
        var dir = Path.Combine(_directory, name);
        Directory.CreateDirectory(dir);
        var node = await RedisNode.StartAsync(name, port =>
        {
            var args = new List<string>
            {
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", dir, "--daemonize", "no", "--loglevel", "notice", "--repl-diskless-sync-delay", "0",
            };
            if (Password is not null)
            {
                args.AddRange(["--requirepass", Password, "--masterauth", Password]);
            }

            if (replicaOf is int masterPort)
            {
                args.AddRange(["--replicaof", "127.0.0.1", masterPort.ToString(CultureInfo.InvariantCulture)]);
            }

            return args;
        });
        _dataNodes.Add(node);
        return node;
    }

    private string WriteSentinelConf(string dir, int port)
    {
        var conf = Path.Combine(dir, "sentinel.conf");
        var lines = new List<string>
        {
            "port " + port.ToString(CultureInfo.InvariantCulture),
            "bind 127.0.0.1",
            "daemonize no",
            "loglevel notice",
            "dir " + dir,
            $"sentinel monitor {MasterName} 127.0.0.1 {Master.Port.ToString(CultureInfo.InvariantCulture)} 2",
            $"sentinel down-after-milliseconds {MasterName} 1000",
            $"sentinel failover-timeout {MasterName} 5000",
            $"sentinel parallel-syncs {MasterName} 1",
        };
        if (Password is not null)
        {
            lines.Add($"sentinel auth-pass {MasterName} {Password}");
        }

        if (SentinelPassword is not null)
        {
            lines.Add("requirepass " + SentinelPassword);
            // Sentinels authenticate to each other with their own password: without it they never see each other.
            lines.Add("sentinel sentinel-pass " + SentinelPassword);
        }

        File.WriteAllLines(conf, lines);
        return conf;
    }

    private Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Topology.WaitAsync(condition, timeout, what, () => RedisNode.Tails(_dataNodes.Concat(_sentinels)));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _sentinels.Concat(_dataNodes))
        {
            await node.DisposeAsync();
        }

        Topology.DeleteDirectory(_directory);
    }
}
