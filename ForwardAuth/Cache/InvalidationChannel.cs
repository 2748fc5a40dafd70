using StackExchange.Redis;

namespace ForwardAuth.Cache;

/// <summary>
/// The pub/sub channel <c>&lt;keyPrefix&gt;:invalidate</c> of hybrid mode: every write or delete that reaches Redis
/// announces its key there, so every other replica drops its L1 copy. Messages carry this replica's id so that it can
/// ignore its own.
/// </summary>
internal sealed class InvalidationChannel(RedisConnection connection)
{
    public const string Everything = "*";

    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public RedisChannel Channel { get; } = RedisChannel.Literal(connection.KeyPrefix + "invalidate");

    /// <summary>Publishes alongside the write (pipelined on the same multiplexer, awaited with it).</summary>
    public Task PublishAsync(IDatabase db, string key) => db.PublishAsync(Channel, InstanceId + "\n" + key);

    /// <summary>The key of a message from another replica, or null for our own or a malformed one.</summary>
    public string? KeyFromOthers(RedisValue message)
    {
        var text = (string?)message ?? "";
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0 || text.AsSpan(0, newline).SequenceEqual(InstanceId))
        {
            return null;
        }

        return text[(newline + 1)..];
    }
}
