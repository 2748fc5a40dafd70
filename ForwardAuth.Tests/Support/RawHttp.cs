using System.Net.Sockets;
using System.Text;

namespace ForwardAuth.Tests.Support;

/// <summary>Sends bytes no HTTP client library would send (NUL, bare CR/LF in header values) and reads the status.</summary>
internal static class RawHttp
{
    public static async Task<int> StatusAsync(int port, string rawRequest)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(rawRequest));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer);
        var statusLine = Encoding.Latin1.GetString(buffer, 0, read).Split("\r\n")[0];
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
