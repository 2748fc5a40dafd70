using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForwardAuth.Tests.Support;

/// <summary>A <see cref="SessionStore"/> over a given store, composed as the host composes it.</summary>
internal static class SessionStores
{
    public static SessionStore Over(ICacheBackend cache, ForwardAuthOptions options, TimeProvider time, SessionCookie? cookie = null) =>
        new(new SessionRecords(cache, options, time), new Revocations(cache, time), new SessionIndexes(cache),
            cookie ?? new SessionCookie(options), options, time, NullLogger<SessionStore>.Instance);
}
