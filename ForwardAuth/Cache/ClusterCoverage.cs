using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// The health PING of a Redis Cluster: Redis answers only when every slot does. A plain PING reaches one node, so with
/// one primary dead (before or during its failover) it would report a Cluster healthy while a third of the keys cannot
/// be read — and the breaker, which closes as soon as the health probe answers, would flap. Instead a PING goes to every
/// server the connection routes some hash slot to (its own slot map: where requests would really go), bounded by the
/// command timeout. When one does not answer, the connection reads the topology again and the probe is judged by the
/// fresh map, so that once the failover is done the probe sees the promoted replica instead of the dead primary.
/// </summary>
internal static class ClusterCoverage
{
    public static async Task PingEverySlotOwnerAsync(RedisConnection connection, ConnectionMultiplexer multiplexer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await PingOwnersAsync(multiplexer, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsOutage(e))
        {
            // The view may be from before a failover: read the topology again, then judge by the fresh view.
            await connection.RereadTopologyAsync(
                multiplexer,
                "a node the connection routed hash slots to did not answer the health PING",
                () => PingOwnersAsync(multiplexer, timeout, cancellationToken),
                timeout,
                cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task PingOwnersAsync(ConnectionMultiplexer multiplexer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The servers the connection would send each slot's commands to now: what requests will really meet.
        var owners = SlotKeys(multiplexer).Select(k => multiplexer.GetServer(k)).DistinctBy(s => s.EndPoint).ToList();
        await Task.WhenAll(owners.Select(s => s.PingAsync())).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    private static RedisKey[]? _slotKeys;

    /// <summary>One key per hash slot (16384), found once: the slot map is then read through the connection's own routing.</summary>
    private static RedisKey[] SlotKeys(ConnectionMultiplexer multiplexer)
    {
        if (Volatile.Read(ref _slotKeys) is { } known)
        {
            return known;
        }

        const int slots = 16384;
        var keys = new RedisKey[slots];
        var seen = new bool[slots];
        var found = 0;
        for (var i = 0; found < slots; i++)
        {
            RedisKey key = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var slot = multiplexer.HashSlot(key);
            if (!seen[slot])
            {
                seen[slot] = true;
                keys[slot] = key;
                found++;
            }
        }

        Volatile.Write(ref _slotKeys, keys);
        return keys;
    }
}
