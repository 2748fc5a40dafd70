#!/usr/bin/env bash
# ForwardAuth's published benchmark (issue 7), in one command:
#
#   benchmarks/run.sh            the full run (~15 min): writes docs/benchmarks.md and benchmarks/results/latest.json
#   benchmarks/run.sh --quick    a short run (~6 min) to check the harness; writes the same files
#
# It installs what is missing (wrk, redis-server, redis-tools from Debian; the dev provider's npm modules), builds
# everything in Release, starts Redis, the dev OpenID provider, ForwardAuth (LOG_LEVEL=warn) in each cache mode and a
# bare Kestrel endpoint on free loopback ports, logs users in through the real flow, then measures every scenario
# next to its ceilings — bare Kestrel before each scenario, redis-benchmark GET beside the Redis ones — so that drift
# of a shared machine hits both sides of each ratio. Everything it started is stopped on exit (by pid).
#
# Environment: BENCH_DURATION / BENCH_WARMUP (seconds per measured / warm-up run), BENCH_USERS (sessions logged in),
# BENCH_KEEP=1 keeps the work directory (logs, raw results) for inspection.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
QUICK=no
case "${1:-}" in
  --quick) QUICK=yes ;;
  "") ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

if [ "$QUICK" = yes ]; then
  DURATION=${BENCH_DURATION:-5}; WARMUP=${BENCH_WARMUP:-2}; PREWARM=${BENCH_PREWARM:-8}; USERS=${BENCH_USERS:-50}
  CALLBACKS=150; REDIS_REQUESTS=200000; BDN_JOB=short
else
  DURATION=${BENCH_DURATION:-15}; WARMUP=${BENCH_WARMUP:-5}; PREWARM=${BENCH_PREWARM:-15}; USERS=${BENCH_USERS:-200}
  CALLBACKS=600; REDIS_REQUESTS=1000000; BDN_JOB=default
fi
CONNECTIONS=50

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------------------
# 1. Prerequisites.

command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is required"
command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20+ with npm is required (the dev OpenID provider)"
missing=()
for pair in wrk:wrk redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
    sudo_cmd=(sudo)
  fi
  say "installing Debian packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
provider_dir=$ROOT/examples/local/oidc-provider
if [ ! -d "$provider_dir/node_modules/oidc-provider" ]; then
  say "installing the development OpenID provider (npm ci)"
  npm ci --prefix "$provider_dir" --no-audit --no-fund --loglevel=error
fi

# ---------------------------------------------------------------------------------------------------------------------
# 2. Build (Release), outside the projects' own bin/obj so that builds running elsewhere in the tree are not disturbed.

WORK=$(mktemp -d /tmp/forwardauth-bench.XXXXXX)
RAW=$WORK/raw.jsonl
ARTIFACTS=$HERE/bin/artifacts
say "work directory $WORK"
say "building (Release)"
build() {
  if ! dotnet build "$1" -c Release -nologo -v quiet --artifacts-path "$ARTIFACTS" >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    die "build of $1 failed"
  fi
}
build "$ROOT/ForwardAuth/ForwardAuth.csproj"
build "$HERE/Baseline/Baseline.csproj"
build "$HERE/Harness/Harness.csproj"
build "$HERE/ForwardAuth.Benchmarks/ForwardAuth.Benchmarks.csproj"
FA_DLL=$ARTIFACTS/bin/ForwardAuth/release/ForwardAuth.dll
BASELINE_DLL=$ARTIFACTS/bin/Baseline/release/Baseline.dll
harness() { dotnet "$ARTIFACTS/bin/Harness/release/Harness.dll" "$@"; }
micro() { dotnet "$ARTIFACTS/bin/ForwardAuth.Benchmarks/release/ForwardAuth.Benchmarks.dll" "$@"; }

# ---------------------------------------------------------------------------------------------------------------------
# 3. Processes. Each is started in its own session with its output in $WORK/<name>.log; its pid is recorded, and the
#    trap stops exactly those pids (TERM, KILL after 10 s) whatever ends the script.

declare -A PID=()
ORDER=()
USED_PORTS=" "
free_port() { # VAR: a loopback port nobody listens on (and not handed out before), into VAR
  local candidate
  while :; do
    candidate=$((20000 + RANDOM % 30000))
    [[ $USED_PORTS == *" $candidate "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      USED_PORTS+="$candidate "
      printf -v "$1" '%s' "$candidate"
      return
    fi
  done
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
start() { # NAME DIR COMMAND...
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null) &
  PID[$name]=$!
  ORDER+=("$name")
}
stop() { # NAME
  local pid=${PID[$1]:-}
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do stop "${ORDER[i]}"; done
  if [ "$status" -ne 0 ]; then
    say "run.sh failed (exit $status); logs in $WORK" >&2
  elif [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_until() { # WHAT NAME COMMAND...: poll until COMMAND succeeds; fail if NAME died or after 60 s
  local what=$1 name=$2; shift 2
  local deadline=$((SECONDS + 60))
  until "$@" >/dev/null 2>&1; do
    alive "${PID[$name]}" || { tail -n 30 "$WORK/$name.log" >&2; die "$name exited while waiting for $what"; }
    ((SECONDS < deadline)) || { tail -n 30 "$WORK/$name.log" >&2; die "$name not ready within 60 s ($what)"; }
    sleep 0.2
  done
}
http_ok() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1")" = 200 ]; }

say "starting Redis, the OpenID provider, the bare-Kestrel ceiling and ForwardAuth"
free_port REDIS_PORT; free_port REDIS_B_PORT
for r in redis:$REDIS_PORT redis-b:$REDIS_B_PORT; do
  mkdir -p "$WORK/${r%%:*}"
  start "${r%%:*}" "$WORK/${r%%:*}" redis-server --bind 127.0.0.1 --port "${r#*:}" --save "" --appendonly no --daemonize no
done
wait_until PING redis redis-cli -p "$REDIS_PORT" ping
wait_until PING redis-b redis-cli -p "$REDIS_B_PORT" ping

CLIENT_SECRET=bench-client-secret
RESOURCE=urn:forwardauth:bench
provider() { # NAME PORT EXTRA-ENV...
  local name=$1 port=$2; shift 2
  start "$name" "$provider_dir" env PORT="$port" HOST=127.0.0.1 ISSUER="http://localhost:$port" CLIENT_ID=forwardauth \
    CLIENT_SECRET="$CLIENT_SECRET" JWKS_FILE="$WORK/$name-jwks.json" AUTO_LOGIN=hint \
    REDIRECT_URIS="http://app.bench.test/oauth2/callback,https://app.bench.test/oauth2/callback" "$@" node provider.mjs
}
free_port PROVIDER_PORT; free_port SHORT_PROVIDER_PORT
# The main provider issues JWT access tokens (for the bearer scenario) living an hour: no refresh during the run.
provider provider "$PROVIDER_PORT" ACCESS_TOKEN_RESOURCE="$RESOURCE" ACCESS_TOKEN_TTL=3600 ID_TOKEN_TTL=3600
# The refresh scenario's provider: 4-second tokens.
provider provider-short "$SHORT_PROVIDER_PORT" ACCESS_TOKEN_TTL=4 ID_TOKEN_TTL=4

free_port BASELINE_PORT
start kestrel "$WORK" env ASPNETCORE_URLS="http://127.0.0.1:$BASELINE_PORT" DOTNET_NOLOGO=1 dotnet "$BASELINE_DLL"

SESSION_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '\n=')
declare -A FA_PORT=()
forwardauth() { # NAME PROVIDER-PORT EXTRA-ENV...
  local name=$1 provider_port=$2; shift 2
  local assigned
  free_port assigned
  FA_PORT[$name]=$assigned
  start "$name" "$WORK" env ASPNETCORE_URLS="http://127.0.0.1:${FA_PORT[$name]}" DOTNET_NOLOGO=1 \
    PROVIDER_URL="http://localhost:$provider_port" ALLOW_HTTP_PROVIDER=true CLIENT_ID=forwardauth CLIENT_SECRET="$CLIENT_SECRET" \
    SESSION_ENCRYPTION_KEY="$SESSION_KEY" SCOPES=openid,profile,email,groups AUDIENCE="$RESOURCE" LOG_LEVEL=warn \
    REDIS_KEY_PREFIX=bench "$@" dotnet "$FA_DLL"
}
R1=(REDIS_ENABLED=true REDIS_ADDRESS="127.0.0.1:$REDIS_PORT")
forwardauth fa-memory "$PROVIDER_PORT" REDIS_ENABLED=false
forwardauth fa-redis "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis
forwardauth fa-hybrid "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=hybrid
# Logs users in and hands their access tokens on (PASS_AUTHORIZATION_HEADER): the bearer scenario's tokens.
forwardauth fa-login "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis PASS_AUTHORIZATION_HEADER=true
# Its own Redis, stopped for the outage scenario.
forwardauth fa-breaker "$PROVIDER_PORT" REDIS_ENABLED=true REDIS_ADDRESS="127.0.0.1:$REDIS_B_PORT" REDIS_CACHE_MODE=redis
# Two replicas for the refresh scenario (one refresh across both), on the short-token provider.
forwardauth fa-refresh-a "$SHORT_PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis REDIS_KEY_PREFIX=bench-refresh
forwardauth fa-refresh-b "$SHORT_PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis REDIS_KEY_PREFIX=bench-refresh

wait_until "its listening line" provider grep -q "oidc-provider listening" "$WORK/provider.log"
wait_until "its listening line" provider-short grep -q "oidc-provider listening" "$WORK/provider-short.log"
wait_until /healthz kestrel http_ok "http://127.0.0.1:$BASELINE_PORT/healthz"
for name in "${!FA_PORT[@]}"; do wait_until /readyz "$name" http_ok "http://127.0.0.1:${FA_PORT[$name]}/readyz"; done
fa() { printf 'http://127.0.0.1:%s' "${FA_PORT[$1]}"; }
KESTREL=http://127.0.0.1:$BASELINE_PORT

# ---------------------------------------------------------------------------------------------------------------------
# 4. The machine and its load, before anything is measured.

cpu_busy() { # percent of CPU time busy over one second (everything on the machine, ours included)
  local a b
  read -r -a a < <(head -1 /proc/stat); sleep 1; read -r -a b < <(head -1 /proc/stat)
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  printf '%s' $(( (100 * (total - idle)) / (total > 0 ? total : 1) ))
}
{
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "quick=$QUICK"
  echo "settings=duration ${DURATION}s, warm-up ${WARMUP}s (first warm-up of each instance ${PREWARM}s), $CONNECTIONS connections, $USERS users"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "cpu_busy_before_percent=$(cpu_busy)"
  echo "dotnet=$(dotnet --version)"
  echo "node=$(node --version)"
  echo "redis=$(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2)"
  echo "wrk=$(wrk --version 2>&1 | head -1 | cut -d' ' -f2)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "kernel=$(uname -r)"
  echo "memory=$(free -h | awk '/^Mem:/ {print $2}')"
  echo "cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "cpus=$(nproc)"
  echo "other_processes=$(ps -e --no-headers -o comm | grep -cvE '^(ps|grep|bash|sh|wc)$')"
} >"$WORK/machine.env"
lscpu >"$WORK/lscpu.txt"

# ---------------------------------------------------------------------------------------------------------------------
# 5. Sessions and tokens, through the real login flow.

say "logging in $USERS users per instance"
harness login --fa "$(fa fa-login)" --users "$USERS" --prefix user --cookies "$WORK/cookies.txt" --bearer "$WORK/bearer.txt"
stop fa-login
harness login --fa "$(fa fa-memory)" --users "$USERS" --prefix muser --cookies "$WORK/cookies-memory.txt"
harness login --fa "$(fa fa-breaker)" --users "$USERS" --prefix buser --cookies "$WORK/cookies-breaker.txt"
# The size of a real session's hot record in Redis (what every decision reads): redis-benchmark's values and the L1
# measurement use it. Its token record (read by refresh and logout only) is reported beside it.
# (awk, not head: head would close the pipe early and pipefail would report redis-cli's SIGPIPE.)
RECORD_BYTES=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'bench:session:*' | awk 'NR <= 20' |
  while read -r key; do redis-cli -p "$REDIS_PORT" strlen "$key"; done | awk '{s+=$1; n++} END {print (n ? int(s/n) : 1500)}')
TOKEN_RECORD_BYTES=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'bench:tokens:*' | awk 'NR <= 20' |
  while read -r key; do redis-cli -p "$REDIS_PORT" strlen "$key"; done | awk '{s+=$1; n++} END {print (n ? int(s/n) : 0)}')
say "  a session's hot record in Redis is $RECORD_BYTES bytes (sealed), its token record $TOKEN_RECORD_BYTES bytes"

# ---------------------------------------------------------------------------------------------------------------------
# 6. The scenarios, each right after its bare-Kestrel ceiling with the same requests.

# The JIT's tiering needs several seconds of load to reach steady state on this machine: warm every instance up
# with the requests it will serve before anything is measured (each measured run then has its own warm-up too).
say "warming up every instance (${PREWARM}s each)"
prewarm() { # URL KIND FILE EXPECT QUERY
  wrk -t2 -c"$CONNECTIONS" -d"${PREWARM}s" -s "$HERE/wrk/auth.lua" "$1" -- "$2" "$3" "$4" "${5:-}" >/dev/null
}
prewarm "$KESTREL" cookie "$WORK/cookies.txt" 200
prewarm "$(fa fa-memory)" cookie "$WORK/cookies-memory.txt" 200
prewarm "$(fa fa-redis)" cookie "$WORK/cookies.txt" 200
prewarm "$(fa fa-hybrid)" cookie "$WORK/cookies.txt" 200
prewarm "$(fa fa-hybrid)" bearer "$WORK/bearer.txt" 200
prewarm "$(fa fa-breaker)" cookie "$WORK/cookies-breaker.txt" 200

say "measuring (${DURATION}s per run, ${WARMUP}s warm-up, $CONNECTIONS connections)"
measure() { # NAME INSTANCE KIND FILE EXPECT QUERY [REDIS-PORT]
  local name=$1 instance=$2 kind=$3 file=$4 expect=$5 query=$6 redis=${7:-}
  harness wrk --name "$name" --role kestrel --pair "$name" --url "$KESTREL" --kind "$kind" --file "$file" --expect 200 \
    --duration "$DURATION" --warmup 1 --pid "${PID[kestrel]}" --raw "$RAW"
  harness wrk --name "$name" --role scenario --url "$(fa "$instance")" --kind "$kind" --file "$file" --expect "$expect" \
    --query "$query" --duration "$DURATION" --warmup "$WARMUP" --pid "${PID[$instance]}" ${redis:+--redis-port "$redis"} --raw "$RAW"
}
redis_ceiling() { # PAIR
  harness redis-bench --name "$1" --pair "$1" --port "$REDIS_PORT" --clients "$CONNECTIONS" --requests "$REDIS_REQUESTS" \
    --size "$RECORD_BYTES" --raw "$RAW"
}

measure cookie-memory fa-memory cookie "$WORK/cookies-memory.txt" 200 ""
measure cookie-redis fa-redis cookie "$WORK/cookies.txt" 200 "" "$REDIS_PORT"
redis_ceiling cookie-redis
measure cookie-hybrid fa-hybrid cookie "$WORK/cookies.txt" 200 "" "$REDIS_PORT"
measure bearer-jwt fa-hybrid bearer "$WORK/bearer.txt" 200 "" "$REDIS_PORT"
measure denied-403 fa-hybrid cookie "$WORK/cookies.txt" 403 "allowedRolesAndGroups=admins" "$REDIS_PORT"
measure unauthenticated-302 fa-hybrid none - 302 "" "$REDIS_PORT"

say "login callbacks (driver loop: each callback needs its own pending login and code)"
harness callbacks --name login-callback --fa "$(fa fa-hybrid)" --count "$CALLBACKS" --concurrency 16 --pid "${PID[fa-hybrid]}" --raw "$RAW"

say "backend get on Redis at $CONNECTIONS in flight, beside redis-benchmark"
micro redis-load --name backend-get-redis --redis "127.0.0.1:$REDIS_PORT" --concurrency "$CONNECTIONS" --seconds "$DURATION" \
  --size "$RECORD_BYTES" --raw "$RAW"
redis_ceiling backend-get-redis
micro l1-memory --name l1-bytes-per-session --size "$RECORD_BYTES" --entries 10000 --raw "$RAW"

say "Redis stopped, circuit breaker open"
stop redis-b
harness open-breaker --fa "$(fa fa-breaker)" --file "$WORK/cookies-breaker.txt"
measure redis-down-breaker-open fa-breaker cookie "$WORK/cookies-breaker.txt" 200 ""

say "100 parallel requests at token expiry, over two replicas"
harness refresh --name refresh-single-flight --fa "$(fa fa-refresh-a),$(fa fa-refresh-b)" \
  --provider "http://127.0.0.1:$SHORT_PROVIDER_PORT" --requests 100 --token-ttl 4 --raw "$RAW"

# ---------------------------------------------------------------------------------------------------------------------
# 7. Micro-benchmarks (BenchmarkDotNet), with the service stack stopped except Redis.

for name in fa-memory fa-redis fa-hybrid fa-breaker fa-refresh-a fa-refresh-b kestrel provider provider-short; do stop "$name"; done
say "micro-benchmarks (BenchmarkDotNet, $BDN_JOB job)"
(cd "$WORK" && FORWARDAUTH_BENCH_REDIS="127.0.0.1:$REDIS_PORT" FORWARDAUTH_BENCH_VALUE_BYTES="$RECORD_BYTES" \
  micro bdn --job "$BDN_JOB" --artifacts "$WORK/bdn" >"$WORK/bdn.log" 2>&1) || { tail -n 40 "$WORK/bdn.log" >&2; die "micro-benchmarks failed"; }

{
  echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "record_bytes=$RECORD_BYTES"
  echo "token_record_bytes=$TOKEN_RECORD_BYTES"
} >>"$WORK/machine.env"

# ---------------------------------------------------------------------------------------------------------------------
# 8. The report.

mkdir -p "$HERE/results"
harness report --raw "$RAW" --machine "$WORK/machine.env" --lscpu "$WORK/lscpu.txt" --micro "$WORK/bdn/results" \
  --findings "$HERE/FINDINGS.md" --md "$ROOT/docs/benchmarks.md" --json "$HERE/results/latest.json"
cp "$RAW" "$HERE/results/latest-raw.jsonl"
say "wrote docs/benchmarks.md and benchmarks/results/latest.json"
