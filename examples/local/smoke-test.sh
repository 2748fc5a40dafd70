#!/usr/bin/env bash
# Smoke test of the local demo stack: a real login through Caddy with curl, the way a browser does it
# (cookie jar, redirects followed one by one, the provider's login and consent forms submitted).
#
# It expects the stack to be running (examples/local/up.sh) and leaves it running.
# Exits non-zero on the first failed check.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=$(cd "$HERE/../.." && pwd)/.local-stack
SITE=http://127.0.0.1:9080
OP=http://localhost:9081

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
JAR=$TMP/cookies

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# req CURL-ARGS... URL: one request with the cookie jar, redirects NOT followed.
# Sets STATUS and LOCATION (absolute); the body is in $TMP/body.
req() {
  local out
  out=$(curl -sS -m 10 -b "$JAR" -c "$JAR" -o "$TMP/body" -w '%{http_code} %{redirect_url}' "$@") \
    || fail "request failed: curl $*"
  STATUS=${out%% *}
  LOCATION=${out#* }
}
expect_redirect() { # description, URL prefix the Location must start with
  [[ $STATUS =~ ^30[12378]$ ]] || fail "$1: expected a redirect, got HTTP $STATUS ($(head -c 300 "$TMP/body"))"
  [[ $LOCATION == "$2"* ]] || fail "$1: expected a redirect to $2..., got $LOCATION"
  ok "$1 -> $STATUS ${LOCATION%%\?*}"
}
# follow_provider: follow redirects while they stay on the provider; stop at a page or at a redirect to the site.
follow_provider() {
  local hops=0
  while [[ $STATUS =~ ^30[12378]$ && $LOCATION == "$OP"* ]]; do
    hops=$((hops + 1)); ((hops < 10)) || fail "too many redirects on the provider"
    req "$LOCATION"
  done
}
# submit_form EXTRA-FIELDS...: POST the page's form (its action and hidden inputs, plus the given fields).
submit_form() {
  local action fields=() input name value
  action=$(grep -o '<form[^>]*method="post"[^>]*>' "$TMP/body" | head -1 | grep -o 'action="[^"]*"' | sed 's/^action="//; s/"$//; s/&amp;/\&/g') \
    || fail "no form on the page"
  while IFS= read -r input; do
    name=$(sed -n 's/.*name="\([^"]*\)".*/\1/p' <<<"$input")
    value=$(sed -n 's/.*value="\([^"]*\)".*/\1/p' <<<"$input")
    fields+=(--data-urlencode "$name=$value")
  done < <(grep -o '<input type="hidden"[^>]*>' "$TMP/body" || true)
  for input in "$@"; do fields+=(--data-urlencode "$input"); done
  [[ $action == http* ]] || action=$OP$action
  req "${fields[@]}" "$action"
}
cell() { # id of a table cell on the demo page -> its text
  sed -n "s:.*<td id=\"$1\">\(.*\)</td>.*:\1:p" "$TMP/body"
}
log_lines() { wc -l <"$STATE/forwardauth-$1.log"; }

# --- 0. the stack answers ------------------------------------------------------------------------
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Accept: application/json' "$SITE/" || true)
[ "$code" = 401 ] || fail "the stack does not answer on $SITE (HTTP '$code'); start it with examples/local/up.sh"
ok "anonymous API request to $SITE/ -> 401"
lines_a=$(log_lines a); lines_b=$(log_lines b)

# --- 1. anonymous browser request: off to the provider ------------------------------------------
req -H 'X-Forwarded-User: mallory@example.com' "$SITE/"
expect_redirect "GET $SITE/ (anonymous, forged X-Forwarded-User)" "$OP/auth?"
[[ $LOCATION == *"redirect_uri=http%3A%2F%2F127.0.0.1%3A9080%2Foauth2%2Fcallback"* ]] \
  || fail "redirect_uri is not $SITE/oauth2/callback: $LOCATION"
[[ $LOCATION == *"code_challenge_method=S256"* ]] || fail "no PKCE in $LOCATION"
ok "authorization request carries redirect_uri=$SITE/oauth2/callback and PKCE S256"

# --- 2. the provider's login form ------------------------------------------------------------------
req "$LOCATION"; follow_provider
[ "$STATUS" = 200 ] && grep -q 'name="login"' "$TMP/body" || fail "login form expected (HTTP $STATUS)"
ok "provider shows its login form"
submit_form login=alice password=x
follow_provider

# --- 3. the consent form ---------------------------------------------------------------------------
[ "$STATUS" = 200 ] && grep -q 'value="consent"' "$TMP/body" || fail "consent form expected (HTTP $STATUS)"
ok "provider shows its consent form after login=alice"
submit_form
follow_provider
expect_redirect "consent given: provider redirects to the callback" "$SITE/oauth2/callback?"

# --- 4. the callback sets the session and returns to the page -------------------------------------
req "$LOCATION"
expect_redirect "GET /oauth2/callback" "$SITE/"
[[ $LOCATION == "$SITE/" ]] || fail "callback should return to $SITE/, got $LOCATION"
grep -qP '^#HttpOnly_127\.0\.0\.1\t.*\t_forwardauth_session\t' "$JAR" || fail "no HttpOnly _forwardauth_session cookie for 127.0.0.1 in the jar"
ok "session cookie _forwardauth_session set (HttpOnly, host-only 127.0.0.1)"

# --- 5. the demo page sees alice ---------------------------------------------------------------------
req -H 'X-Forwarded-User: mallory@example.com' -H 'X-Auth-Request-Groups: admins' "$SITE/"
[ "$STATUS" = 200 ] || fail "logged-in GET $SITE/ -> HTTP $STATUS"
for pair in x-forwarded-user=alice@example.com x-auth-request-user=alice@example.com \
  x-auth-request-email=alice@example.com x-auth-request-groups=admins,users x-auth-request-preferred-username=alice; do
  got=$(cell "${pair%%=*}")
  [ "$got" = "${pair#*=}" ] || fail "demo page: ${pair%%=*} is '$got', expected '${pair#*=}'"
done
ok "demo page shows X-Forwarded-User alice@example.com, groups admins,users (forged request headers ignored)"
req "$SITE/some/deep/path?x=1"
[ "$STATUS" = 200 ] && [ "$(cell x-forwarded-user)" = alice@example.com ] || fail "GET /some/deep/path -> HTTP $STATUS"
ok "another page with the same session -> 200 as alice"

# --- 6. both replicas took part (Caddy round robin) --------------------------------------------------
new_a=$(tail -n +"$((lines_a + 1))" "$STATE/forwardauth-a.log")
new_b=$(tail -n +"$((lines_b + 1))" "$STATE/forwardauth-b.log")
# The replicas log compact JSON (CLEF) lines; print their messages.
summary() {
  node -e 'for (const l of require("fs").readFileSync(0, "utf8").split("\n")) {
    if (!l.trim()) continue; try { console.log("    " + JSON.parse(l)["@m"]); } catch { console.log("    " + l); } }' <<<"$1"
}
echo "  replica a logged:"; summary "$new_a"
echo "  replica b logged:"; summary "$new_b"
grep -q 'Login started' <<<"$new_a$new_b" || fail "no 'Login started' in the replicas' logs"
grep -q 'Login completed for \\"alice@example.com\\"' <<<"$new_a$new_b" || fail "no 'Login completed for alice' in the logs"
[ -n "$new_a" ] && [ -n "$new_b" ] || fail "only one replica logged anything: round robin not seen"
ok "both replicas served parts of the login"

# --- 7. logout: ForwardAuth sends the browser to the provider's end-session page ---------------------
req "$SITE/oauth2/logout"
expect_redirect "GET /oauth2/logout" "$OP/session/end?"
[[ $LOCATION == *"post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9080%2F"* ]] \
  || fail "post_logout_redirect_uri is not $SITE/: $LOCATION"
ok "end-session request carries post_logout_redirect_uri=$SITE/"
end_session=$LOCATION
req "$SITE/"
expect_redirect "GET $SITE/ after logout (session gone)" "$OP/auth?"
req "$end_session"
[ "$STATUS" = 200 ] && grep -q 'name="xsrf"' "$TMP/body" || fail "provider's sign-out confirmation expected (HTTP $STATUS)"
ok "provider asks to confirm the sign-out"
submit_form logout=yes
expect_redirect "sign-out confirmed: provider returns to the site" "$SITE/"
grep -q 'Logout of' <<<"$(tail -n +"$((lines_a + 1))" "$STATE/forwardauth-a.log")$(tail -n +"$((lines_b + 1))" "$STATE/forwardauth-b.log")" \
  || fail "no 'Logout of' line in the replicas' logs"
ok "a replica logged the logout"

# --- 8. logged out at the provider too: the next visit shows the login form again -------------------
req "$SITE/"; expect_redirect "GET $SITE/" "$OP/auth?"
req "$LOCATION"; follow_provider
[ "$STATUS" = 200 ] && grep -q 'name="login"' "$TMP/body" || fail "login form expected after logout (HTTP $STATUS)"
ok "provider session ended: login form shown again"

# --- 9. the other spelling of the host gets its own callback ---------------------------------------
req http://localhost:9080/
expect_redirect "GET http://localhost:9080/" "$OP/auth?"
[[ $LOCATION == *"redirect_uri=http%3A%2F%2Flocalhost%3A9080%2Foauth2%2Fcallback"* ]] || fail "redirect_uri for localhost: $LOCATION"
ok "http://localhost:9080 uses redirect_uri=http://localhost:9080/oauth2/callback"

echo "smoke test passed"
