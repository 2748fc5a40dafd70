using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>
/// The HTTP client used for every call to the provider (discovery, JWKS, token, userinfo, revocation): bounded timeout,
/// optional extra CAs (<c>caCertPath</c> and <c>caCertPEM</c>, combined), or no certificate check at all
/// (<c>insecureSkipVerify</c>, development only).
/// </summary>
internal static class ProviderHttp
{
    public const string ClientName = "oidc-provider";

    /// <summary>How long one provider call may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static IServiceCollection AddProviderHttpClient(this IServiceCollection services, ForwardAuthOptions options)
    {
        services.AddHttpClient(ClientName, c => c.Timeout = Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => CreateHandler(options));
        return services;
    }

    internal static SocketsHttpHandler CreateHandler(ForwardAuthOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (options.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // An explicit, documented opt-in (insecureSkipVerify) for development, logged as a Warning at start.
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true };
#pragma warning restore CA5359
            return handler;
        }

        if (options.CaCertPath.Length == 0 && options.CaCertPem.Length == 0)
        {
            return handler;
        }

        var extraRoots = new X509Certificate2Collection();
        if (options.CaCertPath.Length > 0)
        {
            extraRoots.ImportFromPemFile(options.CaCertPath);
        }

        extraRoots.AddRange(ProviderSettings.Certificates(options.CaCertPem));
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            },
        };
        return handler;
    }
}
