using System.Net;
using ForwardAuth.Configuration;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The client's address, for regulation: the peer itself when it is not in <c>trustedProxies</c>; behind trusted
/// proxies, <c>X-Forwarded-For</c> read from the right (each proxy appends the address it received the request from),
/// skipping trusted addresses: the first untrusted one is the client. A value that is not an address ends the walk at
/// the last proxy that vouched for its right-hand neighbour — what a client writes on the left cannot choose its key.
/// </summary>
internal static class ClientAddress
{
    public static string Of(HttpRequest request, IReadOnlyList<IPNetwork> trustedProxies)
    {
        var client = Normalise(request.HttpContext.Connection.RemoteIpAddress);
        if (client is null)
        {
            return "";
        }

        var hops = request.Headers["X-Forwarded-For"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries)).ToArray();
        for (var i = hops.Length - 1; i >= 0 && ForwardedRequest.IsTrusted(client, trustedProxies); i--)
        {
            if (!TryParse(hops[i], out var hop))
            {
                break;
            }

            client = hop;
        }

        return client.ToString();
    }

    private static IPAddress? Normalise(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    // "203.0.113.7", "2001:db8::1", "[2001:db8::1]:443" or "203.0.113.7:443" (some proxies add the port).
    private static bool TryParse(string hop, out IPAddress address)
    {
        var parsed = IPEndPoint.TryParse(hop, out var endpoint);
        address = parsed ? Normalise(endpoint!.Address)! : IPAddress.None;
        return parsed;
    }
}
