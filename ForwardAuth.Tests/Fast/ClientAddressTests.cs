using System.Net;
using ForwardAuth.Endpoints;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Tests.Fast;

/// <summary>Regulation's client address: the peer, or behind trusted proxies the right-most untrusted X-Forwarded-For entry.</summary>
[TestFixture]
[Category("Fast")]
public class ClientAddressTests
{
    private static readonly IReadOnlyList<IPNetwork> Trusted = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8")];

    [TestCase("127.0.0.1", null, "127.0.0.1")]
    [TestCase("127.0.0.1", "203.0.113.7", "203.0.113.7")]
    [TestCase("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7")]
    [TestCase("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7")]
    [TestCase("127.0.0.1", "10.9.9.9, 10.1.2.3", "10.9.9.9")]
    [TestCase("127.0.0.1", "203.0.113.7:4711", "203.0.113.7")]
    [TestCase("127.0.0.1", "[2001:db8::7]:443", "2001:db8::7")]
    [TestCase("127.0.0.1", "2001:db8::7", "2001:db8::7")]
    [TestCase("127.0.0.1", "203.0.113.7, unknown", "127.0.0.1")]
    [TestCase("127.0.0.1", "unknown, 203.0.113.7", "203.0.113.7")]
    [TestCase("198.51.100.9", "203.0.113.7", "198.51.100.9")]
    [TestCase("::ffff:198.51.100.9", null, "198.51.100.9")]
    [TestCase("::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7")]
    public void Of_WalksForwardedForFromTheRightWhileTheHopIsTrusted(string peer, string? forwardedFor, string expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        Assert.That(ClientAddress.Of(context.Request, Trusted), Is.EqualTo(expected));
    }

    [Test]
    public void Of_RepeatedHeaders_ReadAsOneList()
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        context.Request.Headers["X-Forwarded-For"] = new Microsoft.Extensions.Primitives.StringValues(["198.51.100.1", "203.0.113.7"]);

        Assert.That(ClientAddress.Of(context.Request, Trusted), Is.EqualTo("203.0.113.7"));
    }

    [Test]
    public void Of_NoPeer_Unknown() => Assert.That(ClientAddress.Of(new DefaultHttpContext().Request, Trusted), Is.Empty);
}
