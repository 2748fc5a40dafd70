using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;

namespace ForwardAuth.Sessions;

/// <summary>
/// Single sign-on tickets: 256 random bits handed to the browser, the record kept in the shared store under a hash of
/// the ticket (encrypted, the store key as associated data) for <see cref="Lifetime"/>, and taken with get-and-delete
/// so that of all replicas exactly one redeems it.
/// </summary>
internal sealed class SsoTickets(ICacheBackend cache, ForwardAuthOptions options)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private readonly KeyRing _keys = new(options.SessionEncryptionKeys, "sso-ticket");

    /// <summary>Stores the record and returns its new ticket.</summary>
    public async Task<string> CreateAsync(SsoTicketRecord record, CancellationToken cancellationToken)
    {
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var key = StoreKeys.For(StoreKeys.Ticket, ticket);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, SessionJsonContext.Default.SsoTicketRecord);
        await cache.SetAsync(key, _keys.Seal(json, Encoding.ASCII.GetBytes(key)), Lifetime, cancellationToken).ConfigureAwait(false);
        return ticket;
    }

    /// <summary>Reads without redeeming (its origin and browser are checked before anyone can burn it).</summary>
    public async Task<SsoTicketRecord?> PeekAsync(string ticket, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Ticket, ticket);
        return Open(key, await cache.GetAsync(key, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Takes the record atomically; null when it is gone, expired or already taken on another replica.</summary>
    public async Task<SsoTicketRecord?> ConsumeAsync(string ticket, CancellationToken cancellationToken)
    {
        var key = StoreKeys.For(StoreKeys.Ticket, ticket);
        return Open(key, await cache.GetAndDeleteAsync(key, cancellationToken).ConfigureAwait(false));
    }

    private SsoTicketRecord? Open(string key, byte[]? sealedRecord) =>
        sealedRecord is not null && _keys.TryOpen(sealedRecord, Encoding.ASCII.GetBytes(key), out var json, out _)
            ? JsonSerializer.Deserialize(json, SessionJsonContext.Default.SsoTicketRecord)
            : null;
}
