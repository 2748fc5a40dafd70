namespace ForwardAuth.Tests; public class Smoke { [Test] public void T() => Assert.That(1, Is.EqualTo(1)); }
