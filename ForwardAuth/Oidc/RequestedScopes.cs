using ForwardAuth.Configuration;
using ForwardAuth.Observability;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace ForwardAuth.Oidc;

/// <summary>
/// The scopes a login asks for: the configured ones that the provider's discovery lists in <c>scopes_supported</c>
/// (as the traefikoidc plugin does), <c>openid</c> always. A provider that publishes no list gets them all. A dropped
/// scope is logged once each time the metadata (re)loads with a different answer, not per login.
/// </summary>
internal sealed class RequestedScopes(ForwardAuthOptions options, ILogger<RequestedScopes> logger)
{
    private readonly Lock _gate = new();
    private volatile FilteredScopes? _last;

    /// <summary>What the last authorization request asked for (the configured scopes before any metadata).</summary>
    public IReadOnlyList<string> Current => _last?.Scopes ?? options.Scopes;

    public IReadOnlyList<string> For(OpenIdConnectConfiguration configuration)
    {
        if (_last is { } last && ReferenceEquals(last.Configuration, configuration))
        {
            return last.Scopes;
        }

        lock (_gate)
        {
            return Compute(configuration);
        }
    }

    private IReadOnlyList<string> Compute(OpenIdConnectConfiguration configuration)
    {
        if (_last is { } last && ReferenceEquals(last.Configuration, configuration))
        {
            return last.Scopes;
        }

        var supported = configuration.ScopesSupported;
        var scopes = supported is { Count: > 0 }
            ? options.Scopes.Where(s => s == "openid" || supported.Contains(s)).ToList()
            : options.Scopes.ToList();
        if (!scopes.Contains("openid"))
        {
            scopes.Insert(0, "openid");
        }

        var dropped = options.Scopes.Except(scopes, StringComparer.Ordinal).ToList();
        if (dropped.Count > 0 && (_last is null || !_last.Scopes.SequenceEqual(scopes)))
        {
            Log.ScopesNotSupported(logger, string.Join(' ', dropped), string.Join(' ', supported!));
        }

        _last = new FilteredScopes(configuration, scopes);
        return scopes;
    }

    private sealed record FilteredScopes(OpenIdConnectConfiguration Configuration, IReadOnlyList<string> Scopes);
}
