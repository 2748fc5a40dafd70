#!/usr/bin/env bash
# One-command local demo of ForwardAuth (see README.md next to this script):
#
#   Caddy 127.0.0.1:9080 --forward_auth--> ForwardAuth replicas 127.0.0.1:4181 + 127.0.0.1:4182
#        |                                   (sharing Redis 127.0.0.1:6390, cache mode "redis")
#        +--reverse_proxy--> demo backend 127.0.0.1:9090
#   development OpenID provider http://localhost:9081 (login pages accept any login/password)
#
#   examples/local/up.sh          install what is missing, build, (re)start everything, wait until ready
#   examples/local/up.sh stop     stop everything up.sh started (by recorded pid)
#   examples/local/up.sh status   show what is running
#
# State (build output, pids, logs, Redis dir, provider keys, session key) lives in .local-stack/ at the
# repository root. Delete that folder (after `stop`) to start from scratch.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE=$ROOT/.local-stack
PIDS=$STATE/pids

SITE_PORT=9080        # Caddy: the protected site (fixed in Caddyfile)
BACKEND_PORT=9090     # Caddy: the demo backend (fixed in Caddyfile)
PROVIDER_PORT=9081    # development OpenID provider
FA_A_PORT=4181        # ForwardAuth replica a
FA_B_PORT=4182        # ForwardAuth replica b
REDIS_PORT=6390       # Redis shared by the replicas
ISSUER=http://localhost:$PROVIDER_PORT
CLIENT_ID=forwardauth
CLIENT_SECRET=forwardauth-dev-secret   # the provider's fixed development secret
START_TIMEOUT=${START_TIMEOUT:-60}     # seconds each service gets to become ready

# Services in start order; each is recognised by its recorded pid *and* a fragment of its command line,
# so a pid reused by an unrelated process after a reboot is never signalled.
SERVICES=(redis oidc-provider forwardauth-a forwardauth-b caddy)
declare -A CMD_MATCH=(
  [redis]="redis-server 127.0.0.1:$REDIS_PORT" [oidc-provider]=provider.mjs
  [forwardauth-a]=ForwardAuth.dll [forwardauth-b]=ForwardAuth.dll [caddy]="$HERE/Caddyfile"
)

say() { printf '%s\n' "$*"; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }
log_of() { printf '%s/%s.log' "$STATE" "$1"; }

# recorded_pid NAME: the pid up.sh recorded for a service (whatever runs under it now).
recorded_pid() {
  local file=$PIDS/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  printf '%s' "$pid"
}
# alive PID: the process exists and is not a zombie.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}
# pid_of NAME: the recorded pid, if it still runs that service (checked against its command line).
pid_of() {
  local pid cmdline
  pid=$(recorded_pid "$1") && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"${CMD_MATCH[$1]}"* ]] || return 1
  printf '%s' "$pid"
}

# stop_service NAME [own]: SIGTERM, then SIGKILL after 10s. "own": a child of this very run, stopped by
# its pid even before it got to exec its program (its command line cannot be checked yet).
stop_service() {
  local name=$1 pid
  if [ "${2:-}" = own ]; then
    pid=$(recorded_pid "$name") && alive "$pid" || pid=""
  else
    pid=$(pid_of "$name") || pid=""
  fi
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
      say "  $name (pid $pid) ignored SIGTERM for 10s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true   # reap it if it is a child of this run
    say "  stopped $name (pid $pid)"
  fi
  rm -f "$PIDS/$name.pid"
}

stop_all() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_service "${SERVICES[i]}"; done
}

status() {
  local name pid any=1
  for name in "${SERVICES[@]}"; do
    if pid=$(pid_of "$name"); then say "  $name: running (pid $pid), log $(log_of "$name")"; any=0
    else say "  $name: not running"; fi
  done
  return $any
}

case "${1:-up}" in
  up | start | restart) ;;
  stop | down)
    say "stopping the local ForwardAuth stack"
    stop_all
    say "stopped"
    exit 0 ;;
  status)
    status || true
    exit 0 ;;
  -h | --help | help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *) die "unknown command '$1' (use: up.sh, up.sh stop, up.sh status)" ;;
esac

# ---------------------------------------------------------------------------------------------------
# 1. Prerequisites: Debian packages, node modules of the provider.

command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is required: https://dotnet.microsoft.com/download"
command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20+ with npm is required"

missing=()
for pair in redis-server:redis-server redis-cli:redis-tools caddy:caddy curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
    sudo_cmd=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # On a machine with systemd the packages also start their own services (Redis on 6379, Caddy on 80);
  # they use other ports than this stack and are left alone.
  for pair in redis-server:redis-server redis-cli:redis-tools caddy:caddy curl:curl; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || die "${pair%%:*} is still missing after installing ${pair#*:}"
  done
fi

provider_dir=$HERE/oidc-provider
if [ ! -d "$provider_dir/node_modules/oidc-provider" ]; then
  say "installing the development OpenID provider (npm ci)"
  npm ci --prefix "$provider_dir" --no-audit --no-fund --loglevel=error
fi

# ---------------------------------------------------------------------------------------------------
# 2. Stop a running stack, check the ports, build.

mkdir -p "$STATE" "$PIDS" "$STATE/redis" "$STATE/caddy"
if status >/dev/null; then
  say "the stack is already running: restarting it"
  stop_all
fi
rm -f "$PIDS"/*.pid

busy=()
for pair in "$SITE_PORT:Caddy site" "$BACKEND_PORT:demo backend" "$PROVIDER_PORT:OpenID provider" \
  "$FA_A_PORT:ForwardAuth replica a" "$FA_B_PORT:ForwardAuth replica b" "$REDIS_PORT:Redis"; do
  port=${pair%%:*}
  if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    holder=""
    command -v ss >/dev/null && holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -1 || true)
    busy+=("  127.0.0.1:$port (for the ${pair#*:}) is already in use${holder:+ by $holder}")
  fi
done
if ((${#busy[@]})); then
  printf '%s\n' "up.sh: cannot start, ports taken by processes this script did not start:" "${busy[@]}" \
    "Stop them and try again. (If it is this stack started from another checkout, stop it there with up.sh stop.)" >&2
  exit 1
fi

say "building ForwardAuth (Release) into .local-stack/forwardauth"
# --artifacts-path keeps obj/ and bin/ under .local-stack, away from builds running in ForwardAuth/.
if ! dotnet publish "$ROOT/ForwardAuth/ForwardAuth.csproj" -c Release -nologo -v quiet \
  --artifacts-path "$STATE/build" -o "$STATE/forwardauth" >"$STATE/build.log" 2>&1; then
  tail -n 40 "$STATE/build.log" >&2
  die "build failed (full output in $STATE/build.log)"
fi

# Secrets created once and reused, so restarts keep sessions decryptable and the provider's key stable.
if [ ! -s "$STATE/session-key" ]; then
  (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$STATE/session-key")
fi
JWKS_FILE=$STATE/oidc-jwks.json   # written by the provider on its first start

# ---------------------------------------------------------------------------------------------------
# 3. Start and wait. Any failure stops what this run started.

STARTED=()
READY=no
# Whatever ends this script before everything is ready (a failed check, Ctrl-C, an unexpected error)
# stops what it had started, so no half stack is left behind.
on_exit() {
  [ "$READY" = yes ] || ((${#STARTED[@]} == 0)) && return
  say "stopping what was started" >&2
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_service "${STARTED[i]}" own >&2; done
}
trap on_exit EXIT
trap 'echo >&2; exit 130' INT TERM

fail_start() { # name reason
  printf '\nup.sh: %s %s. Last lines of %s:\n' "$1" "$2" "$(log_of "$1")" >&2
  tail -n 30 "$(log_of "$1")" | sed 's/^/  | /' >&2
  exit 1
}

# start NAME DIR COMMAND...: run detached (own session, so Ctrl-C in this terminal later does not reach
# it), output to .local-stack/NAME.log, pid recorded in .local-stack/pids/NAME.pid.
start() {
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec setsid "$@" >"$(log_of "$name")" 2>&1 </dev/null) &
  echo $! >"$PIDS/$name.pid"
  STARTED+=("$name")
}

# wait_for NAME WHAT CHECK...: poll CHECK until it succeeds, the service dies or START_TIMEOUT passes.
wait_for() {
  local name=$1 what=$2; shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    alive "$(recorded_pid "$name")" || fail_start "$name" "exited while waiting for $what"
    ((SECONDS < deadline)) || fail_start "$name" "did not get ready within ${START_TIMEOUT}s (waiting for $what)"
    sleep 0.2
  done
  say "  ready: $name ($what)"
}

http_status_is() { # expected url [curl args...]
  local expected=$1 url=$2; shift 2
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" "$url" 2>/dev/null)" = "$expected" ]
}

say "starting the stack (logs in .local-stack/)"

start redis "$STATE/redis" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$STATE/redis" --daemonize no --protected-mode yes
wait_for redis "PING" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $REDIS_PORT ping 2>/dev/null)\" = PONG ]"

start oidc-provider "$provider_dir" env PORT="$PROVIDER_PORT" HOST=127.0.0.1 ISSUER="$ISSUER" \
  CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" JWKS_FILE="$JWKS_FILE" \
  REDIRECT_URIS="http://127.0.0.1:$SITE_PORT/oauth2/callback,http://localhost:$SITE_PORT/oauth2/callback" \
  POST_LOGOUT_REDIRECT_URIS="http://127.0.0.1:$SITE_PORT/,http://localhost:$SITE_PORT/" \
  node provider.mjs
wait_for oidc-provider "its 'listening' line" grep -qxF "oidc-provider listening on $ISSUER" "$(log_of oidc-provider)"

for replica in a b; do
  port=$FA_A_PORT; [ $replica = b ] && port=$FA_B_PORT
  # Settings not given here are taken from the environment of up.sh (e.g. ALLOWED_USERS=...); the
  # session key comes from its file only.
  start "forwardauth-$replica" "$STATE/forwardauth" env -u SESSION_ENCRYPTION_KEY \
    ASPNETCORE_URLS="http://127.0.0.1:$port" DOTNET_NOLOGO=1 \
    PROVIDER_URL="$ISSUER" ALLOW_HTTP_PROVIDER=true \
    CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" \
    SESSION_ENCRYPTION_KEY_FILE="$STATE/session-key" \
    SCOPES=openid,profile,email,groups \
    REDIS_ENABLED=true REDIS_ADDRESS="127.0.0.1:$REDIS_PORT" REDIS_CACHE_MODE=redis \
    LOG_LEVEL="${LOG_LEVEL:-info}" \
    dotnet ForwardAuth.dll
done
wait_for forwardauth-a "/readyz 200" http_status_is 200 "http://127.0.0.1:$FA_A_PORT/readyz"
wait_for forwardauth-b "/readyz 200" http_status_is 200 "http://127.0.0.1:$FA_B_PORT/readyz"

start caddy "$STATE/caddy" env HOME="$STATE/caddy" XDG_DATA_HOME="$STATE/caddy/data" \
  XDG_CONFIG_HOME="$STATE/caddy/config" DEMO_DIR="$HERE" STATE_DIR="$STATE" \
  caddy run --config "$HERE/Caddyfile" --adapter caddyfile
wait_for caddy "the demo backend on :$BACKEND_PORT" http_status_is 200 "http://127.0.0.1:$BACKEND_PORT/"
# An anonymous API-style request: ForwardAuth answers 401 (no login is started), Caddy passes it on.
wait_for caddy "the protected site on :$SITE_PORT" http_status_is 401 "http://127.0.0.1:$SITE_PORT/" -H 'Accept: application/json'

READY=yes

cat <<EOF

ForwardAuth local demo is up.

  Open      http://127.0.0.1:$SITE_PORT/   (http://localhost:$SITE_PORT/ works too)
  Log in    on the development provider's page with ANY login name and ANY password, then "Continue":
              alice        alice@example.com, groups admins,users
              bob          bob@example.com,   groups users
              anyone else  <login>@example.com (or the login itself if it has an @), no groups
  Log out   the page's "Log out" link (/oauth2/logout)

  Services  Caddy site 127.0.0.1:$SITE_PORT, demo backend 127.0.0.1:$BACKEND_PORT, OpenID provider $ISSUER,
            ForwardAuth 127.0.0.1:$FA_A_PORT and 127.0.0.1:$FA_B_PORT (round robin), Redis 127.0.0.1:$REDIS_PORT
  Logs      $STATE/{caddy,forwardauth-a,forwardauth-b,oidc-provider,redis}.log
  Status    $0 status
  Stop      $0 stop

The OpenID provider is for development only: it lets anyone log in as anyone.
EOF
