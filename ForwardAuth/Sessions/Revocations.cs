using ForwardAuth.Cache;

namespace ForwardAuth.Sessions;

/// <summary>
/// Revocation markers: a handle's marker outlives the cookie it revokes, so a logged-out cookie is never adopted again;
/// an access token's marker lasts until the token expires, so a bearer token of an ended session is refused.
/// </summary>
internal sealed class Revocations(ICacheBackend cache, TimeProvider time)
{
    // A revocation marker outlives what it revokes by this margin (clock differences between replicas).
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);
    private static readonly byte[] Marker = "1"u8.ToArray();

    public Task RevokeHandleAsync(string handleHash, DateTimeOffset cookieExpiresAt, CancellationToken cancellationToken) =>
        cache.SetAsync(StoreKeys.ForHash(StoreKeys.Revoked, handleHash), Marker, Remaining(cookieExpiresAt), cancellationToken);

    public Task<bool> IsHandleRevokedAsync(string handle, CancellationToken cancellationToken) =>
        cache.ExistsAsync(StoreKeys.For(StoreKeys.Revoked, handle), cancellationToken);

    /// <summary><see cref="IsHandleRevokedAsync"/> for a handle known only by its hash (a member of a session index).</summary>
    public Task<bool> IsHandleHashRevokedAsync(string handleHash, CancellationToken cancellationToken) =>
        cache.ExistsAsync(StoreKeys.ForHash(StoreKeys.Revoked, handleHash), cancellationToken);

    public Task RevokeAccessTokenAsync(string accessToken, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        cache.SetAsync(AccessTokenKey(accessToken), Marker, Remaining(expiresAt), cancellationToken);

    /// <summary>True when the access token was revoked by a logout (a bearer token from an ended session).</summary>
    public Task<bool> IsAccessTokenRevokedAsync(string accessToken, CancellationToken cancellationToken) =>
        cache.ExistsAsync(AccessTokenKey(accessToken), cancellationToken);

    // A JWT is revoked by its jti (what the issuer made unique), anything else by the token itself; both hashed.
    private static string AccessTokenKey(string accessToken) =>
        StoreKeys.For(StoreKeys.Revoked, "access_token:" + (TokenIds.JtiOf(accessToken) ?? accessToken));

    private TimeSpan Remaining(DateTimeOffset until)
    {
        var ttl = until - time.GetUtcNow() + Margin;
        return ttl > TimeSpan.Zero ? ttl : TimeSpan.FromSeconds(1);
    }
}
