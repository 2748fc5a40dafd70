using System.Net;
using System.Net.Sockets;

namespace ForwardAuth.Tests.Support;

/// <summary>What the fixtures rely on when they choose ports: no port twice, and a held port is really held.</summary>
public class PortsTests
{
    [Test]
    public void Free_ManyCalls_NeverTheSamePortTwice()
    {
        var ports = Enumerable.Range(0, 200).Select(_ => Ports.Free()).ToList();

        Assert.That(ports, Is.Unique);
        Assert.That(ports, Is.All.InRange(1024, 65535));
    }

    [Test]
    public void FreePair_BothPortsGivenOut()
    {
        var port = Ports.FreePair(10_000, 22_000, 10_000);
        var others = Enumerable.Range(0, 200).Select(_ => Ports.Free()).ToList();

        Assert.That(others, Does.Not.Contain(port).And.Not.Contain(port + 10_000));
    }

    [Test]
    public void Reservation_Held_ServersCannotBindItAndConnectionsAreRefused()
    {
        using var reservation = PortReservation.Take();

        // Redis, Caddy, Node and Kestrel all bind with SO_REUSEADDR: even so the held port is not theirs.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        var bind = Assert.Throws<SocketException>(() => server.Bind(new IPEndPoint(IPAddress.Loopback, reservation.Port)))!;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var connect = Assert.Throws<SocketException>(() => client.Connect(IPAddress.Loopback, reservation.Port))!;

        Assert.That(bind.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
        Assert.That(connect.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused), "as by a stopped server");
    }

    [Test]
    public void Reservation_Released_TheServerBindsIt()
    {
        using var reservation = PortReservation.Take();
        reservation.Release();

        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        server.Bind(new IPEndPoint(IPAddress.Loopback, reservation.Port));
        server.Listen();

        Assert.That(((IPEndPoint)server.LocalEndPoint!).Port, Is.EqualTo(reservation.Port));
    }

    [Test]
    public void Reservation_HandedOver_OnlyOnce()
    {
        using var reservation = PortReservation.Take();
        using var socket = reservation.HandOver();

        Assert.That(((IPEndPoint)socket.LocalEndPoint!).Port, Is.EqualTo(reservation.Port));
        Assert.Throws<InvalidOperationException>(() => reservation.HandOver());
    }
}
