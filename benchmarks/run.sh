#!/usr/bin/env bash
# ForwardAuth's published benchmark (issue 7), in one command:
#
#   benchmarks/run.sh              the full run (~30 min): writes docs/benchmarks.md and benchmarks/results/latest.json
#   benchmarks/run.sh --quick      a short run (~10 min) to check the harness; writes the same files
#   benchmarks/run.sh --scale-only the scale scenario alone (BENCH_SCALE_SIZES…); its report stays in the work directory
#
# It installs what is missing (wrk, redis-server, redis-tools from Debian; the dev provider's npm modules), builds
# everything in Release, starts Redis, the dev OpenID provider, ForwardAuth (LOG_LEVEL=warn) in each cache mode and a
# bare Kestrel endpoint on free loopback ports, logs users in through the real flow, then measures every scenario
# next to its ceilings — bare Kestrel before each scenario, redis-benchmark GET beside the Redis ones — so that drift
# of a shared machine hits both sides of each ratio. Everything it started is stopped on exit (by pid).
#
# Environment: BENCH_DURATION / BENCH_WARMUP (seconds per measured / warm-up run), BENCH_USERS (sessions logged in),
# BENCH_KEEP=1 keeps the work directory (logs, raw results) for inspection. The scale scenario (issue 17):
# BENCH_SCALE_SIZES (sessions created through the SessionStore, space-separated), BENCH_WORKING_SET (cookies of them
# the load rotates through), BENCH_CLUSTER_SESSIONS (sessions on the 3-primary Cluster; 0 skips it); BENCH_OPEN_DURATION
# (seconds per open-loop run).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
QUICK=no
SCALE_ONLY=no
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=yes ;;
    --scale-only) SCALE_ONLY=yes ;;
    -h | --help) sed -n '2,20p' "$0" | grep -v '^set '  | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--quick] [--scale-only]" >&2; exit 2 ;;
  esac
done

if [ "$QUICK" = yes ]; then
  DURATION=${BENCH_DURATION:-5}; WARMUP=${BENCH_WARMUP:-2}; PREWARM=${BENCH_PREWARM:-8}; USERS=${BENCH_USERS:-50}
  CALLBACKS=150; REDIS_REQUESTS=200000; BDN_JOB=short
  SCALE_SIZES=${BENCH_SCALE_SIZES:-10000 20000}; WORKING_SET=${BENCH_WORKING_SET:-2000}; CLUSTER_SESSIONS=${BENCH_CLUSTER_SESSIONS:-10000}
else
  DURATION=${BENCH_DURATION:-15}; WARMUP=${BENCH_WARMUP:-5}; PREWARM=${BENCH_PREWARM:-15}; USERS=${BENCH_USERS:-200}
  CALLBACKS=600; REDIS_REQUESTS=1000000; BDN_JOB=default
  SCALE_SIZES=${BENCH_SCALE_SIZES:-10000 100000 1000000}; WORKING_SET=${BENCH_WORKING_SET:-8000}; CLUSTER_SESSIONS=${BENCH_CLUSTER_SESSIONS:-100000}
fi
# Open-loop runs: the measured seconds of each (two rounds, 3 scenarios, 50 % and 80 %).
OPEN_DURATION=${BENCH_OPEN_DURATION:-$DURATION}
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
# Ports below the kernel's ephemeral range (32768–60999 by default), so that no outgoing connection of another
# process on this shared machine holds one (a bind then fails with EADDRINUSE though nothing listens), its +10000 too.
free_port() { # VAR: a loopback port nobody listens on (and not handed out before), into VAR; its +10000 too (Cluster bus)
  local candidate
  while :; do
    candidate=$((10000 + RANDOM % 12700))
    [[ $USED_PORTS == *" $candidate "* || $USED_PORTS == *" $((candidate + 10000)) "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 10000))") 2>/dev/null; then
      USED_PORTS+="$candidate $((candidate + 10000)) "
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
# Logs users in and hands their access tokens on (PASS_AUTHORIZATION_HEADER): the bearer scenario's tokens, and the
# real login whose record the scale scenario's sessions copy.
forwardauth fa-login "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis PASS_AUTHORIZATION_HEADER=true
if [ "$SCALE_ONLY" = no ]; then
forwardauth fa-memory "$PROVIDER_PORT" REDIS_ENABLED=false
forwardauth fa-redis "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis
forwardauth fa-hybrid "$PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=hybrid
# Its own Redis, stopped for the outage scenario.
forwardauth fa-breaker "$PROVIDER_PORT" REDIS_ENABLED=true REDIS_ADDRESS="127.0.0.1:$REDIS_B_PORT" REDIS_CACHE_MODE=redis
# Two replicas for the refresh scenario (one refresh across both), on the short-token provider.
forwardauth fa-refresh-a "$SHORT_PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis REDIS_KEY_PREFIX=bench-refresh
forwardauth fa-refresh-b "$SHORT_PROVIDER_PORT" "${R1[@]}" REDIS_CACHE_MODE=redis REDIS_KEY_PREFIX=bench-refresh
fi

wait_until "its listening line" provider grep -q "oidc-provider listening" "$WORK/provider.log"
wait_until "its listening line" provider-short grep -q "oidc-provider listening" "$WORK/provider-short.log"
[ "$SCALE_ONLY" = yes ] || wait_until /healthz kestrel http_ok "http://127.0.0.1:$BASELINE_PORT/healthz"
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
  echo "settings=duration ${DURATION}s, warm-up ${WARMUP}s (first warm-up of each instance ${PREWARM}s), $CONNECTIONS connections, $USERS users; open loop ${OPEN_DURATION}s per run; scale: sessions $SCALE_SIZES, working set $WORKING_SET, Cluster $CLUSTER_SESSIONS"
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

prewarm() { # URL KIND FILE EXPECT QUERY
  wrk -t2 -c"$CONNECTIONS" -d"${PREWARM}s" -s "$HERE/wrk/auth.lua" "$1" -- "$2" "$3" "$4" "${5:-}" >/dev/null
}

if [ "$SCALE_ONLY" = no ]; then
say "logging in $USERS users per instance"
harness login --fa "$(fa fa-login)" --users "$USERS" --prefix user --cookies "$WORK/cookies.txt" --bearer "$WORK/bearer.txt"
stop fa-login
harness login --fa "$(fa fa-memory)" --users "$USERS" --prefix muser --cookies "$WORK/cookies-memory.txt"
# A login's cost in Redis (issue 17): fa-breaker is the only client of its Redis, so INFO deltas around its logins
# are theirs (commands by name, bytes sent to and from Redis, used_memory kept).
harness redis-info --ports "$REDIS_B_PORT" --save "$WORK/login-before.json"
harness login --fa "$(fa fa-breaker)" --users "$USERS" --prefix buser --cookies "$WORK/cookies-breaker.txt"
harness redis-info --ports "$REDIS_B_PORT" --since "$WORK/login-before.json" --name login-redis-cost --count "$USERS" --raw "$RAW"
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

# Open loop (issue 17): a fixed offered rate at 50 % and 80 % of the rps wrk measured above for the same scenario,
# latency from each request's due time (benchmarks/Harness/OpenLoop.cs). Two rounds, so that the page can say which
# figures held from one to the other.
say "open loop: 50 % and 80 % of each scenario's closed-loop maximum, two rounds (${OPEN_DURATION}s each)"
for round in 1 2; do
  for spec in "cookie-hybrid fa-hybrid cookie $WORK/cookies.txt" "cookie-redis fa-redis cookie $WORK/cookies.txt" \
    "bearer-jwt fa-hybrid bearer $WORK/bearer.txt"; do
    read -r scenario instance kind file <<<"$spec"
    for pct in 50 80; do
      harness open-loop --name "open-$scenario-$pct" --round "$round" --rate-of "$scenario" --fraction "0.$pct" --url "$(fa "$instance")" \
        --kind "$kind" --file "$file" --expect 200 --duration "$OPEN_DURATION" --warmup 2 --connections 256 --raw "$RAW"
    done
  done
done

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

fi # SCALE_ONLY
if [ "$SCALE_ONLY" = yes ]; then
  say "logging in one user (the scale scenario's records copy its record)"
  harness login --fa "$(fa fa-login)" --users 1 --prefix user --cookies "$WORK/cookies.txt"
  stop fa-login
fi

# ---------------------------------------------------------------------------------------------------------------------
# 7. Scale (issue 17), with the other ForwardAuth instances stopped: N sessions created directly through the product's
#    SessionStore (benchmarks/ForwardAuth.Benchmarks, `sessions`: the same key and prefix as the ForwardAuth started
#    here), then /auth over a working set of WORKING_SET of their cookies, evenly spread over the N, by a fresh
#    ForwardAuth per mode (warmed up with the working set). Redis used_memory before/after the creation / N; the
#    replica's RSS after its run; the L1's bytes per entry at the record size the creation wrote. Each size on an
#    emptied private Redis (FLUSHALL: it is this run's own), then a 3-primary Redis Cluster on loopback.

for name in fa-memory fa-redis fa-hybrid fa-breaker fa-refresh-a fa-refresh-b kestrel provider-short; do stop "$name"; done

create_sessions() { # LABEL N PORTS(comma) ADDRESS CLUSTER(true|false)
  local label=$1 n=$2 ports=$3 address=$4 cluster=$5
  harness redis-info --ports "$ports" --save "$WORK/scale-before.json"
  SESSION_ENCRYPTION_KEY="$SESSION_KEY" micro sessions --name "scale-create-$label-$n" --redis "$address" --cluster "$cluster" \
    --prefix bench --count "$n" --sample "$WORKING_SET" --concurrency 256 --cookies "$WORK/scale-$label-$n.txt" --raw "$RAW" \
    "${LIKE[@]}"
  harness redis-info --ports "$ports" --since "$WORK/scale-before.json" --name "scale-memory-$label-$n" --count "$n" --raw "$RAW"
}
scale_measure() { # LABEL N PORTS(comma) FORWARDAUTH-REDIS-SETTINGS...
  local label=$1 n=$2 ports=$3 mode name
  shift 3
  for mode in redis hybrid; do
    name=fa-scale-$mode
    forwardauth "$name" "$PROVIDER_PORT" REDIS_ENABLED=true REDIS_CACHE_MODE="$mode" "$@"
    wait_until /readyz "$name" http_ok "$(fa "$name")/readyz"
    prewarm "$(fa "$name")" cookie "$WORK/scale-$label-$n.txt" 200
    harness wrk --name "scale-$label-$mode-$n" --role scale --url "$(fa "$name")" --kind cookie --file "$WORK/scale-$label-$n.txt" \
      --expect 200 --duration "$DURATION" --warmup "$WARMUP" --pid "${PID[$name]}" --redis-port "$ports" \
      --sessions "$n" --working-set "$WORKING_SET" --mode "$mode" --topology "$label" --raw "$RAW"
    stop "$name"
  done
}

# The created records copy a real login's (logged in above).
LIKE=()
[ -s "$WORK/cookies.txt" ] && LIKE=(--like "$WORK/cookies.txt" --like-redis "127.0.0.1:$REDIS_PORT")
say "scale: $SCALE_SIZES sessions (working set $WORKING_SET), then $CLUSTER_SESSIONS on a 3-primary Redis Cluster"
free_port SCALE_PORT
mkdir -p "$WORK/redis-scale"
start redis-scale "$WORK/redis-scale" redis-server --bind 127.0.0.1 --port "$SCALE_PORT" --save "" --appendonly no --daemonize no
wait_until PING redis-scale redis-cli -p "$SCALE_PORT" ping
for n in $SCALE_SIZES; do
  redis-cli -p "$SCALE_PORT" flushall >/dev/null
  create_sessions standalone "$n" "$SCALE_PORT" "127.0.0.1:$SCALE_PORT" false
  scale_measure standalone "$n" "$SCALE_PORT" REDIS_ADDRESS="127.0.0.1:$SCALE_PORT"
done
SCALE_RECORD_BYTES=$(redis-cli -p "$SCALE_PORT" --scan --pattern 'bench:session:*' | awk 'NR <= 20' |
  while read -r key; do redis-cli -p "$SCALE_PORT" strlen "$key"; done | awk '{s+=$1; n++} END {print (n ? int(s/n) : 1500)}')
say "  a created session record in Redis is $SCALE_RECORD_BYTES bytes (sealed)"
micro l1-memory --name scale-l1-bytes-per-session --size "$SCALE_RECORD_BYTES" --entries "$WORKING_SET" --raw "$RAW"
stop redis-scale

cluster_ok() { local p; for p in "$@"; do redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1; done; }
if [ "$CLUSTER_SESSIONS" -gt 0 ]; then
  CLUSTER_PORTS=()
  for i in 1 2 3; do
    free_port port
    CLUSTER_PORTS+=("$port")
    mkdir -p "$WORK/redis-cluster-$i"
    start "redis-cluster-$i" "$WORK/redis-cluster-$i" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --daemonize no --cluster-enabled yes --cluster-config-file "$WORK/redis-cluster-$i/nodes.conf" --cluster-node-timeout 2000
    wait_until PING "redis-cluster-$i" redis-cli -p "$port" ping
  done
  redis-cli --cluster create "${CLUSTER_PORTS[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$WORK/cluster-create.log" 2>&1 ||
    { cat "$WORK/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until cluster_state:ok redis-cluster-1 cluster_ok "${CLUSTER_PORTS[@]}"
  cluster_ports=$(IFS=,; echo "${CLUSTER_PORTS[*]}")
  cluster_address=$(printf '127.0.0.1:%s,' "${CLUSTER_PORTS[@]}"); cluster_address=${cluster_address%,}
  create_sessions cluster "$CLUSTER_SESSIONS" "$cluster_ports" "$cluster_address" true
  scale_measure cluster "$CLUSTER_SESSIONS" "$cluster_ports" REDIS_ADDRESS="$cluster_address" REDIS_CLUSTER_MODE=true
  for i in 3 2 1; do stop "redis-cluster-$i"; done
fi
stop provider
RECORD_BYTES=${RECORD_BYTES:-$SCALE_RECORD_BYTES}

# ---------------------------------------------------------------------------------------------------------------------
# 8. The reference design's table (read/write latency per cache mode) and the micro-benchmarks (BenchmarkDotNet),
#    with the service stack stopped except Redis.

if [ "$SCALE_ONLY" = no ]; then
  say "store reads and writes per cache mode, one caller (the reference design's table)"
  micro store-ops --redis "127.0.0.1:$REDIS_PORT" --concurrency 1 --seconds "$((DURATION / 3 > 2 ? DURATION / 3 : 2))" \
    --size "$RECORD_BYTES" --raw "$RAW"
  say "micro-benchmarks (BenchmarkDotNet, $BDN_JOB job)"
  (cd "$WORK" && FORWARDAUTH_BENCH_REDIS="127.0.0.1:$REDIS_PORT" FORWARDAUTH_BENCH_VALUE_BYTES="$RECORD_BYTES" \
    micro bdn --job "$BDN_JOB" --artifacts "$WORK/bdn" >"$WORK/bdn.log" 2>&1) || { tail -n 40 "$WORK/bdn.log" >&2; die "micro-benchmarks failed"; }
fi

{
  echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "record_bytes=$RECORD_BYTES"
  echo "token_record_bytes=${TOKEN_RECORD_BYTES:-}"
} >>"$WORK/machine.env"

# ---------------------------------------------------------------------------------------------------------------------
# 9. The report.

if [ "$SCALE_ONLY" = yes ]; then
  harness report --raw "$RAW" --machine "$WORK/machine.env" --lscpu "$WORK/lscpu.txt" --findings "$HERE/FINDINGS.md" \
    --md "$WORK/benchmarks.md" --json "$WORK/latest.json"
  BENCH_KEEP=1
  say "scale only: wrote $WORK/benchmarks.md and $WORK/latest.json (docs/ and results/ untouched)"
  exit 0
fi
mkdir -p "$HERE/results"
harness report --raw "$RAW" --machine "$WORK/machine.env" --lscpu "$WORK/lscpu.txt" --micro "$WORK/bdn/results" \
  --findings "$HERE/FINDINGS.md" --md "$ROOT/docs/benchmarks.md" --json "$HERE/results/latest.json"
cp "$RAW" "$HERE/results/latest-raw.jsonl"
say "wrote docs/benchmarks.md and benchmarks/results/latest.json"
