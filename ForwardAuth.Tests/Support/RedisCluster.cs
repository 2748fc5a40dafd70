using System.Diagnostics;
using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A Redis Cluster on loopback: six redis-server nodes (<c>--cluster-enabled yes</c>, each with its own
/// <c>nodes.conf</c>, node timeout 2 s, <c>--cluster-replica-validity-factor 0</c> so a replica always may take over),
/// joined by <c>redis-cli --cluster create … --cluster-replicas 1</c>: three primaries with one replica each. Ports P
/// are chosen with P+10000 (the cluster bus) free too. Ready when every node reports <c>cluster_state:ok</c> and knows
/// all six, and every replica's link is up. <see cref="KillPrimaryOfAsync"/> crashes the primary owning a key's slot
/// (after its replica has synced) and waits for the replica to take the slot over.
/// </summary>
internal sealed class RedisCluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly List<RedisNode> _nodes = [];
    private readonly HashSet<int> _taken = [];

    private RedisCluster(string directory, string? password)
    {
        _directory = directory;
        Password = password;
    }

    public string? Password { get; }

    public IReadOnlyList<RedisNode> Nodes => _nodes;

    /// <summary>The nodes still running.</summary>
    public IEnumerable<RedisNode> LiveNodes => _nodes.Where(n => !n.HasExited && !n.IsPaused);

    /// <summary>Every node, comma-separated: what <c>REDIS_ADDRESS</c> is in cluster mode.</summary>
    public string Addresses => string.Join(',', _nodes.Select(n => n.Address));

    public TimeSpan StartupTime { get; private set; }

    public static async Task<RedisCluster> StartAsync(string? password = null)
    {
        var started = Stopwatch.GetTimestamp();
        var cluster = new RedisCluster(TestPaths.NewTempDirectory("redis-cluster"), password);
        try
        {
            await cluster.StartNodesAsync();
            cluster.StartupTime = Stopwatch.GetElapsedTime(started);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartNodesAsync()
    {
        var starting = Enumerable.Range(1, 6).Select(i => StartNodeAsync("node-" + i.ToString(CultureInfo.InvariantCulture))).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            // Every node that did start is stopped by DisposeAsync, even when another one failed.
            _nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }

        var create = new List<string> { "--cluster", "create" };
        create.AddRange(_nodes.Select(n => n.Address));
        create.AddRange(["--cluster-replicas", "1", "--cluster-yes"]);
        if (Password is not null)
        {
            create.AddRange(["-a", Password, "--no-auth-warning"]);
        }

        await using (var cli = ExternalProcess.Start(TestPaths.RequireExecutable("redis-cli"), create))
        {
            int exit;
            try
            {
                exit = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));
            }
            catch (OperationCanceledException)
            {
                exit = -1;
            }

            if (exit != 0)
            {
                throw new InvalidOperationException(
                    $"redis-cli --cluster create failed (exit {exit}):\n{string.Join('\n', cli.Output.TakeLast(20))}\n{RedisNode.Tails(_nodes)}");
            }
        }

        await WaitAsync(WholeAsync, TimeSpan.FromSeconds(30), "cluster_state:ok on all six nodes and every replica's link up");
    }

    /// <summary>The cluster whole: all six nodes know each other with <c>cluster_state:ok</c>, three primaries own slots, three replicas' links are up.</summary>
    private async Task<bool> WholeAsync()
    {
        foreach (var node in _nodes)
        {
            var info = await ClusterInfoAsync(node);
            if (info.GetValueOrDefault("cluster_state") != "ok" || info.GetValueOrDefault("cluster_known_nodes") != "6")
            {
                return false;
            }
        }

        // Every node's own view (gossip) must show the final shape too, not only the replicas themselves.
        foreach (var node in _nodes)
        {
            var view = await NodesAsync(node);
            if (view.Count != 6 || view.Any(n => n.Flags.Any(f => f is "fail" or "fail?" or "handshake" or "noaddr"))
                || view.Count(n => n.Flags.Contains("master") && n.Slots.Count > 0) != 3
                || view.Count(n => n.Flags.Contains("slave") && n.MasterId != "-") != 3)
            {
                return false;
            }
        }

        var roles = await Task.WhenAll(_nodes.Select(n => InfoAsync(n, "replication")));
        return roles.Count(r => r.GetValueOrDefault("role") == "master") == 3
            && roles.Where(r => r.GetValueOrDefault("role") == "slave").Count(r => r.GetValueOrDefault("master_link_status") == "up") == 3;
    }

    private Task<RedisNode> StartNodeAsync(string name)
    {
        var dir = Path.Combine(_directory, name);
        Directory.CreateDirectory(dir);
        return RedisNode.StartAsync(
            name,
            port =>
            {
                var args = new List<string>
                {
                    "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", dir, "--daemonize", "no", "--loglevel", "notice",
                    "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(dir, "nodes.conf"),
                    "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0", "--cluster-replica-validity-factor", "0",
                };
                if (Password is not null)
                {
                    args.AddRange(["--requirepass", Password, "--masterauth", Password]);
                }

                return args;
            },
            pickPort: () =>
            {
                lock (_taken)
                {
                    int port;
                    do
                    {
                        port = RedisNode.FreePortWithBus();
                    }
                    while (!_taken.Add(port));

                    return port;
                }
            });
    }

    /// <summary>The node (primary) that serves <paramref name="key"/>'s slot, and its replica.</summary>
    public async Task<(RedisNode Primary, RedisNode? Replica)> OwnersOfAsync(string key)
    {
        var any = LiveNodes.First();
        var slot = (long)(await CommandAsync(any, "CLUSTER", "KEYSLOT", key))!;
        var nodes = await NodesAsync(any);
        var primary = nodes.Single(n => n.Flags.Contains("master") && !n.Flags.Contains("fail") && n.Slots.Any(r => slot >= r.From && slot <= r.To));

        var owner = ByPort(primary.Port);
        return (owner, await FindReplicaOfAsync(owner));
    }

    /// <summary>Waits until <paramref name="replica"/> has every write <paramref name="primary"/> has (offsets equal).</summary>
    public Task WaitForReplicaSyncAsync(RedisNode primary, RedisNode replica) =>
        WaitAsync(
            async () =>
            {
                var p = await InfoAsync(primary, "replication");
                var r = await InfoAsync(replica, "replication");
                return r.GetValueOrDefault("master_link_status") == "up"
                    && long.TryParse(p.GetValueOrDefault("master_repl_offset"), CultureInfo.InvariantCulture, out var po)
                    && long.TryParse(r.GetValueOrDefault("slave_repl_offset"), CultureInfo.InvariantCulture, out var ro)
                    && ro >= po;
            },
            TimeSpan.FromSeconds(10),
            $"replica {replica.Address} to catch up with primary {primary.Address}");

    /// <summary>
    /// SIGKILLs the primary serving <paramref name="key"/> once its replica has synced, then waits until the replica
    /// is a primary owning the slot and every surviving node reports <c>cluster_state:ok</c>. Returns the promoted
    /// node and how long it took from the kill.
    /// </summary>
    public async Task<(RedisNode Promoted, TimeSpan Took)> KillPrimaryOfAsync(string key)
    {
        var (_, promoted, took) = await FailOverAsync(key, n => n.KillAsync(), "killed");
        return (promoted, took);
    }

    /// <summary>
    /// SIGSTOPs the primary serving <paramref name="key"/> once its replica has synced (the process hangs: connections
    /// stay open, nothing answers), then waits until the replica is a primary owning the slot and every other node
    /// reports <c>cluster_state:ok</c>. Returns the hung node, the promoted one and how long the failover took.
    /// </summary>
    public Task<(RedisNode Hung, RedisNode Promoted, TimeSpan Took)> PausePrimaryOfAsync(string key) => FailOverAsync(key, n =>
    {
        n.Pause();
        return Task.CompletedTask;
    }, "hung");

    private async Task<(RedisNode Old, RedisNode Promoted, TimeSpan Took)> FailOverAsync(string key, Func<RedisNode, Task> stop, string what)
    {
        var (primary, replica) = await OwnersOfAsync(key);
        if (replica is null)
        {
            throw new InvalidOperationException($"the primary {primary.Address} of '{key}' has no replica");
        }

        var took = await FailOverAsync(primary, replica, stop, what, async () => (await OwnersOfAsync(key)).Primary == replica);
        return (primary, replica, took);
    }

    /// <summary>
    /// Stops <paramref name="primary"/> by <paramref name="stop"/> once <paramref name="replica"/> has synced, and waits
    /// until the replica is a primary (<paramref name="owns"/> says it serves what it should) and every live node
    /// reports <c>cluster_state:ok</c>. Returns how long that took from the stop.
    /// </summary>
    private async Task<TimeSpan> FailOverAsync(RedisNode primary, RedisNode replica, Func<RedisNode, Task> stop, string what, Func<Task<bool>> owns)
    {
        await WaitForReplicaSyncAsync(primary, replica);
        await stop(primary);
        var stopped = Stopwatch.GetTimestamp();
        await WaitAsync(
            async () =>
            {
                foreach (var node in LiveNodes)
                {
                    if ((await ClusterInfoAsync(node)).GetValueOrDefault("cluster_state") != "ok")
                    {
                        return false;
                    }
                }

                return (await InfoAsync(replica, "replication")).GetValueOrDefault("role") == "master" && await owns();
            },
            TimeSpan.FromSeconds(30),
            $"replica {replica.Address} to take over from the {what} primary {primary.Address}");
        return Stopwatch.GetElapsedTime(stopped);
    }

    /// <summary>Resumes a node hung by <see cref="PausePrimaryOfAsync"/> and waits until it has rejoined as a replica of <paramref name="primary"/>.</summary>
    public async Task<TimeSpan> RejoinAsReplicaAsync(RedisNode hung, RedisNode primary)
    {
        hung.Resume();
        var resumed = Stopwatch.GetTimestamp();
        await WaitForReplicaOfAsync(hung, primary, "resumed");
        return Stopwatch.GetElapsedTime(resumed);
    }

    private Task WaitForReplicaOfAsync(RedisNode node, RedisNode primary, string what) => WaitAsync(
        async () =>
        {
            var info = await InfoAsync(node, "replication");
            return info.GetValueOrDefault("role") == "slave"
                && info.GetValueOrDefault("master_port") == primary.Port.ToString(CultureInfo.InvariantCulture)
                && info.GetValueOrDefault("master_link_status") == "up"
                && (await ClusterInfoAsync(node)).GetValueOrDefault("cluster_state") == "ok";
        },
        TimeSpan.FromSeconds(30),
        $"the {what} node {node.Address} to rejoin as a replica of {primary.Address}");

    /// <summary>
    /// A rolling restart of every node, one by one, as an operator (or a StatefulSet update) does it without persistence:
    /// a replica is stopped (SIGTERM) and started again on its port with its <c>nodes.conf</c>; a primary is stopped, its
    /// replica takes over (a failover: it must not come back as an empty primary), and it is started again and rejoins
    /// as the new primary's replica. After each node the cluster is whole again before the next one is touched.
    /// Returns one line per node (role, failover time, time until whole again).
    /// </summary>
    public async Task<IReadOnlyList<string>> RollingRestartAsync()
    {
        var steps = new List<string>();
        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[i];
            var began = Stopwatch.GetTimestamp();
            var replication = await InfoAsync(node, "replication");
            RedisNode primary;
            string step;
            if (replication.GetValueOrDefault("role") == "master")
            {
                var replica = await ReplicaOfAsync(node);
                var took = await FailOverAsync(node, replica, n => n.TerminateAsync(), "stopped", () => Task.FromResult(true));
                primary = replica;
                step = $"{node.Name} (primary; {replica.Name} took over in {took.TotalMilliseconds:F0} ms)";
            }
            else
            {
                primary = ByPort(int.Parse(replication["master_port"], CultureInfo.InvariantCulture));
                await node.TerminateAsync();
                step = $"{node.Name} (replica of {primary.Name})";
            }

            var restarted = await node.StartAgainAsync();
            _nodes[i] = restarted;
            await WaitForReplicaOfAsync(restarted, primary, "restarted");
            await WaitAsync(WholeAsync, TimeSpan.FromSeconds(30), $"the cluster whole again after restarting {node.Name}");
            steps.Add($"{step} restarted, whole again after {Stopwatch.GetElapsedTime(began).TotalMilliseconds:F0} ms");
        }

        return steps;
    }

    private async Task<RedisNode> ReplicaOfAsync(RedisNode primary) =>
        await FindReplicaOfAsync(primary) ?? throw new InvalidOperationException($"the primary {primary.Address} has no replica");

    /// <summary>The replica as the replicas themselves say (gossip may lag behind): a live node replicating from the primary.</summary>
    private async Task<RedisNode?> FindReplicaOfAsync(RedisNode primary)
    {
        RedisNode? replica = null;
        foreach (var node in LiveNodes)
        {
            var info = await InfoAsync(node, "replication");
            if (info.GetValueOrDefault("role") == "slave" && info.GetValueOrDefault("master_port") == primary.Port.ToString(CultureInfo.InvariantCulture))
            {
                replica = node;
            }
        }

        return replica;
    }

    /// <summary>Keys matching <paramref name="pattern"/> on every live primary, by SCAN (what a node really holds).</summary>
    public async Task<IReadOnlyDictionary<RedisNode, IReadOnlyList<string>>> KeysByPrimaryAsync(string pattern)
    {
        var result = new Dictionary<RedisNode, IReadOnlyList<string>>();
        foreach (var node in LiveNodes)
        {
            if ((await InfoAsync(node, "replication")).GetValueOrDefault("role") != "master")
            {
                continue;
            }

            var keys = new List<string>();
            var cursor = "0";
            do
            {
                var reply = (object?[])(await CommandAsync(node, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))!;
                cursor = (string)reply[0]!;
                keys.AddRange(((object?[])reply[1]!).Cast<string>());
            }
            while (cursor != "0");
            result[node] = keys;
        }

        return result;
    }

    public Task<object?> CommandAsync(RedisNode node, params string[] args) => Resp.CommandAsync(node.Port, args, Password);

    private RedisNode ByPort(int port) => _nodes.Single(n => n.Port == port);

    private sealed record ClusterNode(string Id, int Port, string[] Flags, string MasterId, IReadOnlyList<(long From, long To)> Slots);

    private async Task<IReadOnlyList<ClusterNode>> NodesAsync(RedisNode node)
    {
        // <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
        var text = (string)(await CommandAsync(node, "CLUSTER", "NODES"))!;
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var f = line.Split(' ');
            var address = f[1].Split('@')[0];
            var slots = f.Skip(8).Where(s => !s.StartsWith('[')).Select(s =>
            {
                var range = s.Split('-');
                var from = long.Parse(range[0], CultureInfo.InvariantCulture);
                return (from, range.Length > 1 ? long.Parse(range[1], CultureInfo.InvariantCulture) : from);
            }).ToList();
            return new ClusterNode(f[0], int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture), f[2].Split(','), f[3], slots);
        }).ToList();
    }

    private async Task<IReadOnlyDictionary<string, string>> ClusterInfoAsync(RedisNode node)
    {
        var reply = await Resp.TryCommandAsync(node.Port, ["CLUSTER", "INFO"], Password);
        return reply is string text
            ? text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1])
            : new Dictionary<string, string>();
    }

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

    private Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Topology.WaitAsync(condition, timeout, what, () => RedisNode.Tails(_nodes));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Topology.DeleteDirectory(_directory);
    }
}
