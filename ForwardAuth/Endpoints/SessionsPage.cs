using System.Globalization;
using System.Net;
using System.Text;
using ForwardAuth.Auth;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The My sessions page: plain server-rendered HTML, inline CSS only, no script, no external asset. Every value is
/// HTML-encoded (the browser description comes from a User-Agent). The CSRF token travels in each form's action URL
/// (the parameters are in the query so the form works however the proxy forwards a body).
/// </summary>
internal static class SessionsPage
{
    /// <summary>Headers of every My sessions page: never cached, no script, not framed, no referrer.</summary>
    public static void Secure(HttpResponse response)
    {
        Responses.NoStore(response);
        response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
    }

    public static string Render(AuthOutcome.SessionsListed listed, string path, string logoutPath, int? ended)
    {
        var html = new StringBuilder(4096);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>My sessions</title><style>").Append(Style).Append("</style></head><body><main>")
            .Append("<h1>My sessions</h1><p class=\"who\">Signed in as <strong>").Append(E(listed.Identity.Identifier))
            .Append("</strong> · <a href=\"").Append(E(logoutPath)).Append("\">Sign out</a></p>");
        if (ended is { } count)
        {
            html.Append("<p class=\"notice\" role=\"status\">").Append(count == 1 ? "1 session ended." : count.ToString(CultureInfo.InvariantCulture) + " sessions ended.").Append("</p>");
        }

        html.Append("<ul class=\"sessions\">");
        foreach (var session in listed.Sessions)
        {
            html.Append(session.Current ? "<li class=\"card current\">" : "<li class=\"card\">")
                .Append("<div class=\"head\"><span class=\"browser\">").Append(E(session.Browser ?? "Unknown browser")).Append("</span>");
            if (session.Current)
            {
                html.Append("<span class=\"badge\">This session</span>");
            }

            html.Append("</div><dl>")
                .Append("<dt>Signed in</dt><dd>").Append(Time(session.CreatedAt)).Append("</dd>")
                .Append("<dt>Last seen</dt><dd>").Append(session.LastSeenAt is { } seen ? Time(seen) : "unknown").Append("</dd>")
                .Append("<dt>IP address</dt><dd>").Append(E(session.Address ?? "unknown")).Append("</dd>")
                .Append("</dl>");
            if (!session.Current)
            {
                html.Append(Form(path, session.Id, listed.CsrfToken, "End this session", "end"));
            }

            html.Append("</li>");
        }

        html.Append("</ul>");
        if (listed.Sessions.Count > 1)
        {
            html.Append(Form(path, MySessions.All, listed.CsrfToken, "End all other sessions", "end-all"));
        }

        return html.Append("</main></body></html>").ToString();
    }

    private static string Form(string path, string id, string csrf, string label, string cssClass) =>
        "<form method=\"post\" action=\"" + E(path + "?revoke=" + Uri.EscapeDataString(id) + "&csrf=" + Uri.EscapeDataString(csrf)) + "\">"
        + "<button type=\"submit\" class=\"" + cssClass + "\">" + E(label) + "</button></form>";

    private static string Time(DateTimeOffset at) =>
        E(at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC");

    private static string E(string value) => WebUtility.HtmlEncode(value);

    private const string Style =
        "body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f5f7;color:#1f2328}"
        + "main{max-width:42rem;margin:0 auto;padding:1.25rem 1rem}"
        + "h1{font-size:1.5rem;margin:.25rem 0 .25rem}"
        + ".who{margin:0 0 1rem;color:#57606a}.who a{color:#0969da}"
        + ".notice{background:#dafbe1;border:1px solid #aceebb;border-radius:6px;padding:.6rem .8rem}"
        + ".sessions{list-style:none;padding:0;margin:0}"
        + ".card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.9rem 1rem;margin:0 0 .75rem}"
        + ".card.current{border-color:#0969da;box-shadow:0 0 0 1px #0969da}"
        + ".head{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}"
        + ".browser{font-weight:600;overflow-wrap:anywhere}"
        + ".badge{background:#0969da;color:#fff;border-radius:999px;padding:.1rem .6rem;font-size:.8rem}"
        + "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .9rem;margin:.6rem 0 0}"
        + "dt{color:#57606a}dd{margin:0;overflow-wrap:anywhere}"
        + "form{margin:.75rem 0 0}"
        + "button{font:inherit;border-radius:6px;padding:.4rem .9rem;cursor:pointer;border:1px solid #cf222e;background:#fff;color:#cf222e}"
        + "button.end-all{background:#cf222e;color:#fff}";
}
