#!/usr/bin/env bash
# Smoke test for the development OIDC provider: walks the real flows with curl.
# Needs bash, curl and node; runs `npm ci` if node_modules is missing. Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund >/dev/null

TMP=$(mktemp -d)
PID=""; BC_PID=""
cleanup() { for p in $PID $BC_PID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$TMP/op.err" ] && sed 's/^/  provider stderr: /' "$TMP/op.err" >&2; exit 1; }
ok() { echo "ok - $*"; }
# js EXPR ARGS...: evaluate a JS expression; helpers: a = argv, jwt(t) = decoded payload, hdr(t) = header.
js() {
  local expr=$1; shift
  node -e "const a=process.argv.slice(1);const dec=(s)=>JSON.parse(Buffer.from(s,'base64url'));
    const jwt=(t)=>dec(t.split('.')[1]);const hdr=(t)=>dec(t.split('.')[0]);
    const r=($expr);if(r!==undefined)console.log(typeof r==='string'?r:JSON.stringify(r));" -- "$@"
}
check() { local desc=$1; shift; [ "$(js "$@")" = "true" ] || fail "$desc"; ok "$desc"; }

PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
OP="http://localhost:$PORT"
RP="http://127.0.0.1:8080"          # the (not running) client; we only look at redirects to it
REDIRECT_URI="$RP/oauth2/callback"
LOGOUT_URI="$RP/logged-out"
CLIENT=forwardauth; SECRET=forwardauth-dev-secret
RESOURCE=https://api.example.test

start_provider() { # extra env as args
  : >"$TMP/op.out"; : >"$TMP/op.err"
  env PORT="$PORT" REDIRECT_URIS="$REDIRECT_URI" POST_LOGOUT_REDIRECT_URIS="$LOGOUT_URI" \
    JWKS_FILE="$TMP/jwks.json" "$@" node provider.mjs >"$TMP/op.out" 2>"$TMP/op.err" &
  PID=$!
  for _ in $(seq 100); do
    grep -q "^oidc-provider listening on $OP\$" "$TMP/op.out" && return 0
    kill -0 "$PID" 2>/dev/null || fail "provider exited"; sleep 0.1
  done
  fail "provider did not start"
}
stop_provider() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# GET url with the cookie jar; print the redirect target (empty if none).
next_hop() { curl -sS -o "$TMP/body" -b "$TMP/jar" -c "$TMP/jar" -w '%{redirect_url}' "$@"; }
# Start an authorization request; sets VERIFIER, STATE, NONCE, AUTH_URL.
new_auth() {
  VERIFIER=$(js "require('crypto').randomBytes(32).toString('base64url')")
  local challenge; challenge=$(js "require('crypto').createHash('sha256').update(a[0]).digest('base64url')" "$VERIFIER")
  STATE=st-$RANDOM; NONCE=n-$RANDOM
  AUTH_URL="$OP/auth?$(js "new URLSearchParams({client_id:'$CLIENT',response_type:'code',redirect_uri:'$REDIRECT_URI',
    scope:'openid email profile groups',state:'$STATE',nonce:'$NONCE',code_challenge:a[0],code_challenge_method:'S256'${1:+,login_hint:'$1'}}).toString()" "$challenge")"
}
# Follow redirects until the client's redirect_uri; sets CODE.
follow_to_callback() {
  local url=$1 hops=0
  while [[ "$url" != "$REDIRECT_URI"* ]]; do
    [ -n "$url" ] || fail "redirect chain stopped before the redirect_uri (body: $(head -c 300 "$TMP/body"))"
    hops=$((hops + 1)); [ $hops -lt 15 ] || fail "too many redirects"
    url=$(next_hop "$url")
  done
  check "redirect to redirect_uri carries code and state ($hops hops)" "(u=>u.searchParams.get('code')&&u.searchParams.get('state')==='$STATE')(new URL(a[0]))" "$url"
  CODE=$(js "new URL(a[0]).searchParams.get('code')" "$url")
}
token() { # form params...; client_secret_basic unless POST_AUTH=1
  local auth=(-u "$CLIENT:$SECRET"); [ "${POST_AUTH:-0}" = 1 ] && auth=(-d "client_id=$CLIENT" -d "client_secret=$SECRET")
  curl -sS "${auth[@]}" "$@" "$OP/token"
}

echo "# 1: AUTO_LOGIN=alice, opaque access tokens, client_secret_basic"
rm -f "$TMP/jar"; start_provider AUTO_LOGIN=alice
[ "$(wc -l <"$TMP/op.out")" = 1 ] || fail "stdout should be exactly the listening line"
check "JWKS_FILE was created with a private RS256 key" "(k=>k.d&&k.kid&&k.alg==='RS256')(JSON.parse(require('fs').readFileSync(a[0])).keys[0])" "$TMP/jwks.json"
new_auth; follow_to_callback "$AUTH_URL"
token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER" >"$TMP/tok1"
TOK1=$(cat "$TMP/tok1")
check "token response has id_token, opaque access_token and a refresh_token without offline_access" \
  "(t=>t.id_token&&t.refresh_token&&t.access_token.split('.').length===1&&t.token_type==='Bearer')(JSON.parse(a[0]))" "$TOK1"
ID1=$(js "JSON.parse(a[0]).id_token" "$TOK1"); RT1=$(js "JSON.parse(a[0]).refresh_token" "$TOK1"); AT1=$(js "JSON.parse(a[0]).access_token" "$TOK1")
echo "  id_token payload: $(js "jwt(a[0])" "$ID1")"
check "id_token carries sub/email/email_verified/preferred_username/name/groups/nonce" \
  "(p=>p.iss==='$OP'&&p.aud==='$CLIENT'&&p.sub==='alice'&&p.email==='alice@example.com'&&p.email_verified===true&&p.preferred_username==='alice'&&p.name==='Alice'&&p.groups.join()==='admins,users'&&p.nonce==='$NONCE')(jwt(a[0]))" "$ID1"
check "userinfo returns groups" "JSON.parse(a[0]).groups.join()==='admins,users'" "$(curl -sS -H "Authorization: Bearer $AT1" "$OP/me")"
check "introspection: active, with extra claims" "(j=>j.active&&j.sub==='alice'&&j.groups.join()==='admins,users'&&j.email==='alice@example.com')(JSON.parse(a[0]))" \
  "$(curl -sS -u "$CLIENT:$SECRET" -d "token=$AT1" "$OP/token/introspection")"
TOK2=$(token -d grant_type=refresh_token -d "refresh_token=$RT1")
check "refresh_token grant works; no rotation by default" "(t=>t.access_token&&t.id_token&&t.refresh_token===a[1])(JSON.parse(a[0]))" "$TOK2" "$RT1"
check "revocation returns 200" "a[0]==='200'" "$(curl -sS -o /dev/null -w '%{http_code}' -u "$CLIENT:$SECRET" -d "token=$RT1" -d token_type_hint=refresh_token "$OP/token/revocation")"
check "revoked refresh token is rejected" "JSON.parse(a[0]).error==='invalid_grant'" "$(token -d grant_type=refresh_token -d "refresh_token=$RT1")"
STATS=$(curl -sS "$OP/__stats"); echo "  /__stats: $STATS"
check "/__stats counts token requests by grant_type and revocations" \
  "(s=>s.token.authorization_code===1&&s.token.refresh_token===2&&s.revocation===1&&s.introspection===1)(JSON.parse(a[0]))" "$STATS"
LOGOUT=$(next_hop "$OP/session/end?id_token_hint=$ID1&post_logout_redirect_uri=$LOGOUT_URI&state=bye")
check "end_session without confirmation page -> $LOGOUT" "a[0]==='$LOGOUT_URI?state=bye'" "$LOGOUT"
check "/__stats counts end_session" "JSON.parse(a[0]).end_session===1" "$(curl -sS "$OP/__stats")"
new_auth; follow_to_callback "$AUTH_URL"   # session is gone: auto-login runs again
KID1=$(js "hdr(a[0]).kid" "$ID1")
stop_provider

echo "# 2: AUTO_LOGIN=hint, JWT access tokens for ACCESS_TOKEN_RESOURCE, rotation, client_secret_post, backchannel logout"
# A stand-in RP backchannel_logout_uri that records the logout tokens it receives.
BC_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
node -e "require('http').createServer((q,r)=>{let b='';q.on('data',c=>b+=c).on('end',()=>{require('fs').appendFileSync(process.argv[1],b+'\n');r.end()})}).listen(+process.argv[2],'127.0.0.1')" \
  "$TMP/backchannel" "$BC_PORT" & BC_PID=$!
rm -f "$TMP/jar"; start_provider AUTO_LOGIN=hint ACCESS_TOKEN_RESOURCE="$RESOURCE" ROTATE_REFRESH_TOKENS=true TOKEN_AUTH_METHOD=client_secret_post \
  BACKCHANNEL_LOGOUT_URI="http://127.0.0.1:$BC_PORT/backchannel-logout"
new_auth bob; follow_to_callback "$AUTH_URL"
export POST_AUTH=1
TOK1=$(token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER")
ID1=$(js "JSON.parse(a[0]).id_token" "$TOK1"); RT1=$(js "JSON.parse(a[0]).refresh_token" "$TOK1"); AT1=$(js "JSON.parse(a[0]).access_token" "$TOK1")
check "signing key (kid) is stable across restarts via JWKS_FILE" "hdr(a[0]).kid==='$KID1'" "$ID1"
check "id_token is for login_hint user bob, with sid (backchannel_logout_session_required)" \
  "(p=>p.sub==='bob'&&p.groups.join()==='users'&&p.email==='bob@example.com'&&!!p.sid)(jwt(a[0]))" "$ID1"
echo "  access token header: $(js "hdr(a[0])" "$AT1")"
echo "  access token payload: $(js "jwt(a[0])" "$AT1")"
check "access token is an at+jwt for the resource with sub/email/groups" \
  "(h=>(p=>h.typ==='at+jwt'&&h.alg==='RS256'&&p.aud==='$RESOURCE'&&p.iss==='$OP'&&p.sub==='bob'&&p.client_id==='$CLIENT'&&p.email==='bob@example.com'&&p.preferred_username==='bob'&&p.groups.join()==='users')(jwt(a[0])))(hdr(a[0]))" "$AT1"
check "access token signature verifies with the JWKS_FILE key" \
  "(([h,p,s],k)=>require('crypto').verify('sha256',Buffer.from(h+'.'+p),require('crypto').createPublicKey({key:k,format:'jwk'}),Buffer.from(s,'base64url')))(a[0].split('.'),JSON.parse(require('fs').readFileSync(a[1])).keys[0])" "$AT1" "$TMP/jwks.json"
TOK2=$(token -d grant_type=refresh_token -d "refresh_token=$RT1")
RT2=$(js "JSON.parse(a[0]).refresh_token" "$TOK2")
check "refresh rotates the refresh token and keeps the JWT audience" \
  "(t=>t.refresh_token&&t.refresh_token!==a[1]&&jwt(t.access_token).aud==='$RESOURCE')(JSON.parse(a[0]))" "$TOK2" "$RT1"
check "client_secret_basic is refused for a client_secret_post client" "JSON.parse(a[0]).error==='invalid_client'" \
  "$(POST_AUTH=0 token -d grant_type=refresh_token -d "refresh_token=$RT2")"
check "/__stats: refused client auth is counted apart from grants" \
  "(s=>s.client_auth_rejected===1&&s.token.refresh_token===1&&s.token.authorization_code===1)(JSON.parse(a[0]))" "$(curl -sS "$OP/__stats")"
LOGOUT=$(next_hop "$OP/session/end?id_token_hint=$ID1&post_logout_redirect_uri=$LOGOUT_URI")
check "end_session (auto-confirmed) -> $LOGOUT" "a[0]==='$LOGOUT_URI'" "$LOGOUT"
[ -s "$TMP/backchannel" ] || fail "no backchannel logout request received"
LT=$(js "new URLSearchParams(require('fs').readFileSync(a[0],'utf8').trim()).get('logout_token')" "$TMP/backchannel")
echo "  logout_token payload: $(js "jwt(a[0])" "$LT")"
check "backchannel logout token sent with sub, sid and the logout event" \
  "(p=>p.sub==='bob'&&p.sid===jwt(a[1]).sid&&p.aud==='$CLIENT'&&'http://schemas.openid.net/event/backchannel-logout' in p.events)(jwt(a[0]))" "$LT" "$ID1"
check "refresh token is dead after logout" "JSON.parse(a[0]).error==='invalid_grant'" "$(token -d grant_type=refresh_token -d "refresh_token=$RT2")"
new_auth bob; follow_to_callback "$AUTH_URL"
RT1=$(token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER" | js "JSON.parse(require('fs').readFileSync(0)).refresh_token")
RT2=$(token -d grant_type=refresh_token -d "refresh_token=$RT1" | js "JSON.parse(require('fs').readFileSync(0)).refresh_token")
check "replaying a rotated-away refresh token is rejected" "JSON.parse(a[0]).error==='invalid_grant'" "$(token -d grant_type=refresh_token -d "refresh_token=$RT1")"
check "... and (reuse detection) also kills its successor" "JSON.parse(a[0]).error==='invalid_grant'" "$(token -d grant_type=refresh_token -d "refresh_token=$RT2")"
unset POST_AUTH
stop_provider; kill "$BC_PID"; BC_PID=""

echo "# 3: no AUTO_LOGIN: devInteractions login + consent pages over plain http, USERS_FILE"
echo '{"carol": {"groups": ["ops"], "email": "carol@corp.test", "department": "qa"}}' >"$TMP/users.json"
rm -f "$TMP/jar"; start_provider USERS_FILE="$TMP/users.json"
new_auth
URL=$(next_hop "$AUTH_URL")
[[ "$URL" == "$OP/interaction/"* ]] || fail "expected redirect to the interaction page, got $URL"
[ -z "$(next_hop "$URL")" ] && grep -q 'name="login"' "$TMP/body" || fail "login form not shown"
ok "login form shown at ${URL#$OP}"
URL=$(next_hop -d prompt=login -d login=carol -d password=x "$URL")   # the form posts to its own URL
URL=$(next_hop "$URL")   # resume at /auth -> consent interaction
[[ "$URL" == "$OP/interaction/"* ]] || fail "expected the consent interaction, got $URL"
[ -z "$(next_hop "$URL")" ] && grep -q 'value="consent"' "$TMP/body" || fail "consent form not shown"
ok "consent form shown"
follow_to_callback "$(next_hop -d prompt=consent "$URL")"
TOK1=$(token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER")
ID1=$(js "JSON.parse(a[0]).id_token" "$TOK1")
echo "  id_token payload: $(js "jwt(a[0])" "$ID1")"
check "id_token after manual login has carol's USERS_FILE claims" \
  "(p=>p.sub==='carol'&&p.email==='carol@corp.test'&&p.preferred_username==='carol'&&p.groups.join()==='ops'&&p.department==='qa'&&p.nonce==='$NONCE')(jwt(a[0]))" "$ID1"
check "code is single-use" "JSON.parse(a[0]).error==='invalid_grant'" "$(token -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT_URI" -d "code_verifier=$VERIFIER")"
new_auth; URL=$(next_hop "$(js "(u=>{u.searchParams.delete('code_challenge');u.searchParams.delete('code_challenge_method');return u.href})(new URL(a[0]))" "$AUTH_URL")")
check "authorization request without PKCE is rejected" "(u=>u.searchParams.get('error')==='invalid_request'&&/PKCE/.test(u.searchParams.get('error_description')))(new URL(a[0]))" "$URL"
[ -z "$(next_hop "$OP/session/end?id_token_hint=$ID1&post_logout_redirect_uri=$LOGOUT_URI")" ] && grep -q 'op.logoutForm' "$TMP/body" \
  || fail "logout confirmation page expected without AUTO_LOGIN"
XSRF=$(js "a[0].match(/name=\"xsrf\" value=\"([^\"]+)\"/)[1]" "$(cat "$TMP/body")")
ok "logout confirmation page shown"
check "confirming logout redirects to post_logout_redirect_uri" "a[0]==='$LOGOUT_URI'" "$(next_hop -d "xsrf=$XSRF" -d logout=yes "$OP/session/end/confirm")"
stop_provider
echo "smoke test passed"
