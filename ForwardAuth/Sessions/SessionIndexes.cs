using ForwardAuth.Cache;

namespace ForwardAuth.Sessions;

/// <summary>
/// Each session indexed by its provider session id (<c>sid</c>) and its subject, so that a back-channel logout can find
/// every session it ends. Members are handle hashes; an index lives as long as its newest session.
/// </summary>
internal sealed class SessionIndexes(ICacheBackend cache)
{
    public async Task AddAsync(string handleHash, string? sid, string subject, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (sid is { Length: > 0 })
        {
            await cache.SetAddAsync(KeyOf("sid", sid), handleHash, ttl, cancellationToken).ConfigureAwait(false);
        }

        await cache.SetAddAsync(KeyOf("sub", subject), handleHash, ttl, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The handle hashes indexed under a user (<paramref name="subject"/>): possibly ended or expired sessions among them.</summary>
    public Task<IReadOnlyCollection<string>> OfSubjectAsync(string subject, CancellationToken cancellationToken) =>
        cache.SetMembersAsync(KeyOf("sub", subject), cancellationToken);

    /// <summary>Adds a session to its login's index (single sign-on: every session made from one login).</summary>
    public Task AddToLoginAsync(string handleHash, string loginId, TimeSpan ttl, CancellationToken cancellationToken) =>
        cache.SetAddAsync(KeyOf("login", loginId), handleHash, ttl, cancellationToken);

    /// <summary>Ends (<paramref name="end"/>) every session of a login, then drops its index. Returns how many.</summary>
    public Task<int> EndLoginAsync(string loginId, Func<string, Task> end, CancellationToken cancellationToken) =>
        EndMembersAsync(KeyOf("login", loginId), end, cancellationToken);

    /// <summary>
    /// Ends (<paramref name="end"/>) every session of a provider session (<paramref name="sid"/>) or, without one, of a
    /// user (<paramref name="subject"/>), then drops the index. Returns how many were ended.
    /// </summary>
    public Task<int> EndAllAsync(string? sid, string? subject, Func<string, Task> end, CancellationToken cancellationToken)
    {
        var key = !string.IsNullOrEmpty(sid) ? KeyOf("sid", sid) : !string.IsNullOrEmpty(subject) ? KeyOf("sub", subject) : null;
        return key is null ? Task.FromResult(0) : EndMembersAsync(key, end, cancellationToken);
    }

    private async Task<int> EndMembersAsync(string key, Func<string, Task> end, CancellationToken cancellationToken)
    {
        var members = await cache.SetMembersAsync(key, cancellationToken).ConfigureAwait(false);
        foreach (var handleHash in members)
        {
            await end(handleHash).ConfigureAwait(false);
        }

        await cache.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        return members.Count;
    }

    private static string KeyOf(string by, string value) => StoreKeys.For(StoreKeys.Index, by + ":" + value);
}
