using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ForwardAuth.Configuration;

namespace ForwardAuth.Oidc;

/// <summary>The HTTP client used for every call to the provider: bounded timeout, optional extra CA (<c>caCertPath</c>).</summary>
internal static class ProviderHttp
{
    public const string ClientName = "oidc-provider";

    public static IServiceCollection AddProviderHttpClient(this IServiceCollection services, ForwardAuthOptions options)
    {
        services.AddHttpClient(ClientName, c => c.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => CreateHandler(options.CaCertPath));
        return services;
    }

    private static SocketsHttpHandler CreateHandler(string caCertPath)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (caCertPath.Length == 0)
        {
            return handler;
        }

        var extraRoots = new X509Certificate2Collection();
        extraRoots.ImportFromPemFile(caCertPath);
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
