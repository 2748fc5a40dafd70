using ForwardAuth.Endpoints;

namespace ForwardAuth.Tests.Endpoints;

public class IdentityHeadersTests
{
    [TestCase("alice\r\nX-Injected: 1", "aliceX-Injected: 1")]
    [TestCase("a\0b\u0007c\u007f", "abc")]
    [TestCase("plain", "plain")]
    [TestCase("José", "José")]
    [TestCase(null, "")]
    public void Clean_ControlCharacters_Removed(string? value, string expected) =>
        Assert.That(IdentityHeaders.Clean(value), Is.EqualTo(expected));
}
