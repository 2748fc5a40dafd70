namespace ForwardAuth.Auth;

/// <summary>
/// A short description of a <c>User-Agent</c> for My sessions: "Firefox on Linux", "Chrome on Android", "curl". Built
/// only from fixed names and, for a tool, its product name restricted to letters, digits and <c>.-_</c> (at most 32
/// characters): the header is attacker-controlled, and nothing else of it is kept. Null when nothing is recognised.
/// </summary>
internal static class UserAgents
{
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari, Android also says Linux.
    private static readonly (string Token, string Name)[] Browsers =
    [
        ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
        ("Vivaldi/", "Vivaldi"), ("YaBrowser/", "Yandex Browser"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"), ("CriOS/", "Chrome"), ("Chromium/", "Chromium"), ("Chrome/", "Chrome"),
        ("Safari/", "Safari"), ("Trident/", "Internet Explorer"), ("MSIE ", "Internet Explorer"),
    ];

    private static readonly (string Token, string Name)[] Systems =
    [
        ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("iPod", "iOS"), ("Windows", "Windows"), ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("FreeBSD", "FreeBSD"), ("OpenBSD", "OpenBSD"), ("Linux", "Linux"), ("X11", "Unix"),
    ];

    public static string? Describe(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return null;
        }

        var text = userAgent.Length > 512 ? userAgent[..512] : userAgent;
        var browser = Browsers.FirstOrDefault(b => text.Contains(b.Token, StringComparison.Ordinal)).Name;
        var system = Systems.FirstOrDefault(s => text.Contains(s.Token, StringComparison.Ordinal)).Name;
        if (browser is null && !text.StartsWith("Mozilla/", StringComparison.Ordinal))
        {
            // A tool (curl/8.5.0, python-requests/2.31, Go-http-client/1.1): its product name.
            browser = ProductName(text);
        }

        return (browser, system) switch
        {
            (null, null) => null,
            (null, { } s) => "Browser on " + s,
            ({ } b, null) => b,
            var (b, s) => b + " on " + s,
        };
    }

    private static string? ProductName(string text)
    {
        var end = text.IndexOfAny(['/', ' ', '(']);
        var name = new string((end < 0 ? text : text[..end]).Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_').Take(32).ToArray());
        return name.Length > 0 ? name : null;
    }
}
