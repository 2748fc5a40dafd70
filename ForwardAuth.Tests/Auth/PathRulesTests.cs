using ForwardAuth.Auth;

namespace ForwardAuth.Tests.Auth;

public class PathRulesTests
{
    private static readonly string[] Excluded = ["/public", "/health"];

    [TestCase("/public", true)]
    [TestCase("/public/", true)]
    [TestCase("/public/css/site.css", true)]
    [TestCase("/health", true)]
    [TestCase("//public/x", true)]
    [TestCase("/./public/x", true)]
    [TestCase("/publicity", false)]
    [TestCase("/publ", false)]
    [TestCase("/admin", false)]
    [TestCase("/admin/public", false)]
    [TestCase("/public/../admin", false)]
    [TestCase("/public/%2e%2e/admin", false)]
    [TestCase("/public/%2E%2E/admin", false)]
    [TestCase("/public/..%2fadmin", false)]
    [TestCase("/public/%252e%252e/admin", false)]
    [TestCase("/public/..;/admin", false)]
    [TestCase("/public;x=1", false)]
    [TestCase("/public\\..\\admin", false)]
    [TestCase("/PUBLIC", false)]
    [TestCase("/%70ublic/x", true)]
    [TestCase("/admin?/public", false)]
    public void IsExcluded_Path_MatchesOnNormalisedSegments(string path, bool expected) =>
        Assert.That(PathRules.IsExcluded(path, Excluded), Is.EqualTo(expected));

    [Test]
    public void IsExcluded_NoExclusions_NeverExcluded() =>
        Assert.That(PathRules.IsExcluded("/public", []), Is.False);

    [TestCase("/a/./b/../c", "/a/c")]
    [TestCase("/../../etc", "/etc")]
    [TestCase("/a//b/", "/a/b")]
    [TestCase("/", "/")]
    public void Normalize_DotSegmentsAndSlashes_Resolved(string raw, string expected) =>
        Assert.That(PathRules.Normalize(raw), Is.EqualTo(expected));
}
