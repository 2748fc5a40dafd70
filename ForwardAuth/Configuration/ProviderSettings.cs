using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ForwardAuth.Configuration;

/// <summary>The provider's address, the endpoints that override discovery's, and the extra CA certificates of its TLS.</summary>
internal static class ProviderSettings
{
    public static Uri ProviderUrl(SettingReader r)
    {
        var text = r.Text("providerURL");
        if (text.Length == 0)
        {
            r.Fail("providerURL", "is required");
            return new Uri("https://invalid.invalid");
        }

        if (!ConfigurationLoader.TryAbsoluteUri(text, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.UserInfo))
        {
            r.Fail("providerURL", $"'{text}' is not an absolute https URL");
            return new Uri("https://invalid.invalid");
        }

        if (uri.Scheme == "http" && !r.Boolean("allowHTTPProvider"))
        {
            r.Fail("providerURL", "must use https (set allowHTTPProvider: true for a development provider)");
        }

        return uri;
    }

    /// <summary>
    /// <c>revocationURL</c> / <c>oidcEndSessionURL</c>: empty (discovery's endpoint is used) or an absolute https URL
    /// (http only with <c>allowHTTPProvider</c>), as the plugin requires.
    /// </summary>
    public static string EndpointUrl(SettingReader r, string path)
    {
        var text = r.Text(path);
        if (text.Length == 0)
        {
            return text;
        }

        if (!ConfigurationLoader.TryAbsoluteUri(text, out var uri) || uri.Scheme is not ("https" or "http")
            || !string.IsNullOrEmpty(uri.UserInfo) || uri.Fragment.Length > 0)
        {
            r.Fail(path, $"'{text}' is not an absolute https URL");
        }
        else if (uri.Scheme == "http" && !r.Boolean("allowHTTPProvider"))
        {
            r.Fail(path, "must use https (set allowHTTPProvider: true for a development provider)");
        }

        return text;
    }

    /// <summary><c>caCertPEM</c>: empty, or PEM text with at least one certificate (the plugin's check too).</summary>
    public static string CaCertPem(SettingReader r)
    {
        var text = r.Text("caCertPEM");
        if (text.Length > 0 && Certificates(text).Count == 0)
        {
            r.Fail("caCertPEM", "contains no valid PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return text;
    }

    /// <summary>The certificates of PEM text; none when it has none or does not parse.</summary>
    public static X509Certificate2Collection Certificates(string pem)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            collection.Clear();
        }

        return collection;
    }
}
