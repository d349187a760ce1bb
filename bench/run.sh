#!/usr/bin/env bash
# `make bench`: builds the release binaries, runs every benchmark on loopback
# (bounded in time), prints the tables and writes them, with the machine's
# description, to bench/results/<date>.md. Every figure is a ratio against a
# baseline measured in the same run (see ../shared/design/PERFORMANCE.md for
# the reasoning behind each target).
#
# Needs NATS (JetStream), Redis and Postgres on their loopback ports
# (`make services`); installs wrk, nginx and redis-benchmark (Debian) when
# missing and run as root.
#
# BENCH_ONLY=e2e,logs,... runs only those sections (pages, ingest, captcha,
# solve, logs, e2e, retention, messages, cluster; memory comes with pages and ingest); the other
# sections of the day's results file are kept as they were, each with the
# time of its own run. Knobs: BENCH_SECONDS (each wrk run, 10),
# BENCH_PAGE_ROUNDS (nginx/gateway page rounds, 3; the median counts),
# BENCH_E2E_SECONDS (60), BENCH_E2E_RATE (1000 SMS/s), BENCH_LOG_EVENTS
# (500000), BENCH_RETENTION_ROWS (50000000), BENCH_RETENTION_SMALL_ROWS
# (1000000), BENCH_MESSAGES_ROWS (20000000), BENCH_MESSAGES_SMALL_ROWS
# (1000000), BENCH_MESSAGES_EXPIRED (100000); BENCH_CLUSTER_WEBHOOKS (40000)
# and BENCH_CLUSTER_LOG_EVENTS (300000) per round of the cluster section; BENCH_INGEST_WEBHOOKS (distinct signed webhooks for the ingest
# runs, 40000 per second of BENCH_SECONDS), BENCH_IN_FLIGHT (its connections,
# 256); BENCH_GATEWAY_WORKERS (tokio worker threads of the gateway and of
# the HTTP stack alone in the page section; default one per core);
# BENCH_BUILD=0 skips the release build (binaries already built);
# BENCH_BIN (the folder of the binaries, $TARGET/release) tries the script
# with others, e.g. BENCH_BIN=$CARGO_TARGET_DIR/debug BENCH_BUILD=0 with
# `cargo build --bins` (their figures then mean nothing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
OUT="bench/results/$(date -u +%Y-%m-%d).md"
DURATION="${BENCH_SECONDS:-10}"
NATS_URL="${TEST_NATS_URL:-nats://127.0.0.1:4222}"
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

SECTIONS=(pages ingest captcha solve logs e2e retention messages cluster memory)
ONLY="${BENCH_ONLY:-}"
for name in ${ONLY//,/ }; do
    [[ " ${SECTIONS[*]} " == *" $name "* ]] || die "BENCH_ONLY: unknown section $name (${SECTIONS[*]})"
done
selected() {
    if [ "$1" = memory ]; then
        selected pages && selected ingest
        return
    fi
    [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]
}

install_missing() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v redis-benchmark >/dev/null || missing+=(redis-tools)
    command -v psql >/dev/null || missing+=(postgresql-client)
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]} (apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
}
install_missing
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [ "${BENCH_BUILD:-1}" = 0 ]; then
    say "using the binaries already built (BENCH_BUILD=0)"
else
    say "building release binaries (a few minutes the first time)"
    "$CARGO" build --release -q --workspace --bins
fi
TARGET="$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="${BENCH_BIN:-$TARGET/release}"
[ -x "$BIN/message-ingest" ] || die "no binaries in $BIN (BENCH_BIN)"

INGEST_IN_FLIGHT="${BENCH_IN_FLIGHT:-256}"
# `free_ports N`: N free loopback ports, all different (all bound before any
# is released: ports asked for one by one can repeat).
free_ports() {
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# --- the distributed stack: one process per service, own database, prefixes --
WORK="$(mktemp -d /tmp/cloudsms-bench.XXXXXX)"
ID="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DB="cloudsms_bench_$ID"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    # JetStream streams of this run, the stack's and the decomposed ingest
    # run's (the API takes a plain NATS publish).
    local host_port="${NATS_URL#nats://}"
    if exec 3<>"/dev/tcp/${host_port%:*}/${host_port##*:}"; then
        printf 'CONNECT {"verbose":false}\r\n' >&3
        for prefix in "${ID^^}" "${ID^^}D"; do
            for kind in SMS LOGS DLQ; do
                printf 'PUB $JS.API.STREAM.DELETE.BENCH%s_%s 0\r\n\r\n' "$prefix" "$kind" >&3
            done
        done
        printf 'PING\r\n' >&3
        timeout 2 head -c 200 <&3 >/dev/null || true
        exec 3>&-
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
read -r P_GATEWAY P_INGEST P_INGEST_GRPC P_CAPTCHA P_CAPTCHA_GRPC P_RET P_RET_GRPC P_NGINX \
    P_SPLIT P_SPLIT_GRPC P_DRAIN P_DRAIN_GRPC P_FLOOR P_HOOKS_FLOOR <<<"$(free_ports 14)"
GENERIC_SECRET="bench-generic-secret-$ID"
TWILIO_TOKEN="bench-twilio-token-$ID"
NUMBER="+447700900123"
# The end-to-end run spreads its messages over these, one SSE stream each.
E2E_NUMBERS=(+447700900201 +447700900202 +447700900203 +447700900204
    +447700900205 +447700900206 +447700900207 +447700900208)
env_vars=(
    RUST_LOG=warn
    CLOUDSMS_DATA_DIR="$WORK"
    CLOUDSMS_NATS__URL="$NATS_URL"
    CLOUDSMS_REDIS__URL="$REDIS_URL"
    CLOUDSMS_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
    CLOUDSMS_BUS__PREFIX="bench$ID"
    CLOUDSMS_CACHE__KEY_PREFIX="bench:$ID:"
    CLOUDSMS_GATEWAY__LISTEN="127.0.0.1:$P_GATEWAY"
    CLOUDSMS_GATEWAY__RETENTION_URL="http://127.0.0.1:$P_RET_GRPC"
    CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL="http://127.0.0.1:$P_CAPTCHA_GRPC"
    # One load generator from one address is exactly what the gate stops:
    # the page figures measure serving pages, not the gate's refusals.
    CLOUDSMS_GATEWAY__GATE__ENABLED=false
    CLOUDSMS_INGEST__LISTEN="127.0.0.1:$P_INGEST"
    CLOUDSMS_INGEST__GRPC_LISTEN="127.0.0.1:$P_INGEST_GRPC"
    CLOUDSMS_INGEST__PUBLIC_URL="http://127.0.0.1:$P_INGEST"
    CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET="$GENERIC_SECRET"
    CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN="$TWILIO_TOKEN"
    CLOUDSMS_CAPTCHA__LISTEN="127.0.0.1:$P_CAPTCHA"
    CLOUDSMS_CAPTCHA__GRPC_LISTEN="127.0.0.1:$P_CAPTCHA_GRPC"
    CLOUDSMS_RETENTION__LISTEN="127.0.0.1:$P_RET"
    CLOUDSMS_RETENTION__GRPC_LISTEN="127.0.0.1:$P_RET_GRPC"
)
# Only this run's configuration: every CLOUDSMS_* variable is a setting.
for var in $(compgen -e | grep '^CLOUDSMS_' || true); do unset "$var"; done
run_env() { env "${env_vars[@]}" "$@"; }

(cd "$WORK" && run_env "$BIN/cloudsms" migrate >/dev/null)
for number in "$NUMBER" "${E2E_NUMBERS[@]}"; do
    (cd "$WORK" && run_env "$BIN/cloudsms" numbers add "$number" --label bench >/dev/null)
done
# BENCH_GATEWAY_WORKERS: tokio worker threads of the gateway and of the HTTP
# stack alone (TOKIO_WORKER_THREADS; default one per core).
WORKERS_ENV=()
[ -z "${BENCH_GATEWAY_WORKERS:-}" ] || WORKERS_ENV=(TOKIO_WORKER_THREADS="$BENCH_GATEWAY_WORKERS")
declare -A PID_OF
for service in gateway message-ingest captcha-verification log-retention; do
    service_env=()
    [ "$service" != gateway ] || service_env=("${WORKERS_ENV[@]}")
    (cd "$WORK" && exec env "${env_vars[@]}" "${service_env[@]}" "$BIN/$service") &
    PID_OF[$service]=$!
    PIDS+=("$!")
done
# Waits (up to 30 s) until the service on port $1 answers /readyz.
wait_ready() {
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return
        sleep 0.1
    done
    die "service on :$1 not ready"
}
for port in $P_GATEWAY $P_INGEST $P_CAPTCHA $P_RET; do wait_ready "$port"; done
sleep 2
declare -A IDLE
for service in "${!PID_OF[@]}"; do IDLE[$service]=$(rss_mib "${PID_OF[$service]}"); done

# a / b with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
# wrk -t1 -c32: "<requests/s> <p99 ms>"; with a second argument, the CPU
# each kind of process used during the measured run goes to $WORK/<arg>.md.
wrk_run() {
    wrk -t1 -c32 -d2s "$1" >/dev/null
    [ -z "${2:-}" ] || cpu_snap "$WORK/$2.before"
    local out
    out="$(wrk -t1 -c32 -d"${DURATION}s" --latency "$1")"
    if [ -n "${2:-}" ]; then
        cpu_snap "$WORK/$2.after"
        local requests
        requests="$(awk '/requests in/ { print $1 }' <<<"$out")"
        cpu_rows "$WORK/$2.before" "$WORK/$2.after" "$DURATION" "$requests" >"$WORK/$2.md"
    fi
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ *99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } p99 = v }
        END { printf "%.0f %.2f\n", rps, p99 }' <<<"$out"
}
# CPU time of every process on the machine, summed by kind (the services,
# Postgres backends, NATS, Redis, nginx, wrk, kernel threads): `cpu_snap
# FILE` before and after a run, `cpu_rows A B SECONDS REQUESTS` prints table
# rows "| kind | % of one core | CPU µs per request | of which in the kernel |"
# (a fifth argument names the row of what is left: processes that ended
# before the second count, such as wrk, are only in the machine's total)
# (system time: system calls, and the TCP/IP work done in them, such as
# delivering loopback packets to the receiver).
cpu_snap() {
    python3 - "$1" <<'PY'
import os, sys
ticks = {}
for pid in os.listdir('/proc'):
    if not pid.isdigit():
        continue
    try:
        stat = open(f'/proc/{pid}/stat').read()
    except OSError:
        continue
    name = stat[stat.index('(') + 1:stat.rindex(')')]
    fields = stat[stat.rindex(')') + 2:].split()
    if name.startswith(('kworker', 'ksoftirqd', 'jbd2', 'kswapd')):
        name = 'kernel threads'
    elif name.startswith('postgres'):
        name = 'postgres'
    user, system = ticks.get(name, (0, 0))
    ticks[name] = (user + int(fields[11]), system + int(fields[12]))
# The whole machine's busy time: what exited before the second count (wrk
# itself) is the difference. Its kernel part: system, irq and softirq time.
cpu = [int(v) for v in open('/proc/stat').readline().split()[1:]]
kernel = cpu[2] + cpu[5] + cpu[6]
ticks['__busy__'] = (sum(cpu) - cpu[3] - cpu[4] - kernel, kernel)
with open(sys.argv[1], 'w') as out:
    for name, (user, system) in ticks.items():
        out.write(f'{user} {system} {name}\n')
PY
}
cpu_rows() {
    python3 - "$1" "$2" "$3" "$4" "${5:-wrk and the rest}" <<'PY'
import os, sys
hz = os.sysconf('SC_CLK_TCK')
def load(path):
    rows = {}
    for line in open(path):
        user, system, name = line.rstrip('\n').split(' ', 2)
        rows[name] = (int(user), int(system))
    return rows
a, b = load(sys.argv[1]), load(sys.argv[2])
seconds, requests = float(sys.argv[3]), float(sys.argv[4])
def spent(name):
    """(all, kernel) CPU seconds of `name` between the two counts."""
    user, system = b[name]
    user0, system0 = a.get(name, (0, 0))
    return ((user - user0 + system - system0) / hz, (system - system0) / hz)
used = {n: spent(n) for n in b if n != '__busy__'}
busy, busy_kernel = spent('__busy__')
def row(name, cpu, kernel):
    return (f'| {name} | {100 * cpu / seconds:.0f} | {1e6 * cpu / requests:.1f} '
            f'| {1e6 * kernel / requests:.1f} |')
named = named_kernel = 0.0
for name, (cpu, kernel) in sorted(used.items(), key=lambda x: -x[1][0]):
    if cpu / seconds < 0.02:
        continue
    named += cpu
    named_kernel += kernel
    print(row(name, cpu, kernel))
rest = max(busy - named, 0.0)
print(row(sys.argv[5], rest, min(max(busy_kernel - named_kernel, 0.0), rest)))
print(f'| **the machine** | **{100 * busy / seconds:.0f}** | **{1e6 * busy / requests:.1f}** '
      f'| **{1e6 * busy_kernel / requests:.1f}** |')
PY
}
# `cpu_of FILE NAME`: "<CPU µs per request> (<of which in the kernel>)" of
# the kind of process NAME in a table `cpu_rows` wrote.
cpu_of() { awk -F' *[|] *' -v n="$2" '$2 == n { printf "%s (%s)", $4, $5 }' "$1"; }
# `machine_us FILE`: the machine's CPU µs per request in a table `cpu_rows` wrote.
machine_us() { awk -F' *[|] *' '$2 == "**the machine**" { gsub(/[*]/, "", $4); print $4 }' "$1"; }
# Waits (up to 120 s) until the machine is quiet: under 20 % of one core busy
# over a second. What a run leaves behind (the persister's backlog, the
# request logs log-retention still writes, Postgres' autovacuum, the dirty
# pages of the files they wrote, flushed first with `sync`) must not be
# measured as part of the next run.
wait_idle() {
    sync
    python3 - <<'PY2'
import os, time
hz = os.sysconf('SC_CLK_TCK')
def busy():
    cpu = [int(v) for v in open('/proc/stat').readline().split()[1:]]
    return sum(cpu) - cpu[3] - cpu[4]
deadline = time.time() + 120
while time.time() < deadline:
    a = busy()
    time.sleep(1)
    if (busy() - a) / hz < 0.2:
        break
PY2
}
# BENCH_PROFILE=1: a perf profile of `$1` (a service) while `$2...` runs,
# kept next to the results (where a target is missed, it shows why), named
# after the service or PROFILE_LABEL (PROFILE_PID: another process than the
# service's); BENCH_PROFILE=all: of every process on
# the machine (by process, then symbol). BENCH_PERF_DIR keeps perf's data;
# BENCH_CALL_GRAPH=dwarf records call stacks that `perf report --children`
# can follow (release builds keep no frame pointers, which the default `fp`
# walks).
PROFILES=()
profiled() {
    local service="$1"; shift
    local target=(-p "${PROFILE_PID:-${PID_OF[$service]}}") report_args=(--sort symbol --percent-limit 0.7)
    case "${BENCH_PROFILE:-0}" in
    1) ;;
    all)
        target=(-a)
        report_args=(--sort comm,dso,symbol -g none --percent-limit 0.2)
        service="machine-${service}"
        ;;
    *) "$@"; return ;;
    esac
    if ! command -v perf >/dev/null; then
        "$@"
        return
    fi
    local data="$WORK/${PROFILE_LABEL:-$service}.perf"
    perf record -q -F 499 --call-graph "${BENCH_CALL_GRAPH:-fp}" "${target[@]}" -o "$data" 2>/dev/null &
    local recorder=$!
    "$@"
    kill -INT "$recorder" 2>/dev/null || true
    wait "$recorder" 2>/dev/null || true
    local report="${OUT%.md}-${PROFILE_LABEL:-$service}.profile.txt"
    {
        [ "${BENCH_PROFILE}" = all ] &&
            perf report -i "$data" --no-children --stdio --sort comm -g none 2>/dev/null | head -30
        perf report -i "$data" --no-children --stdio "${report_args[@]}" 2>/dev/null
    } | grep -v '^$' | sed -E 's/[[:space:]-]+$//' | head -280 >"$report" || true
    [ -n "${BENCH_PERF_DIR:-}" ] && cp "$data" "$BENCH_PERF_DIR/"
    PROFILES+=("$report")
}

if selected pages; then
    # 50 messages on the number, through the signed generic webhook.
    for i in $(seq 1 50); do
        body=$(printf '{"to":"%s","from":"Bench","body":"Your code is %06d. Message %d of 50.","id":"bench-%s-%d"}' \
            "$NUMBER" "$((i * 7919 % 1000000))" "$i" "$ID" "$i")
        ts=$(date +%s)
        sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$GENERIC_SECRET" | awk '{print $NF}')
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P_INGEST/webhooks/generic" \
            -H 'content-type: application/json' -H "x-cloudsms-timestamp: $ts" \
            -H "x-cloudsms-signature: sha256=$sig" --data "$body")
        [ "$code" = 202 ] || die "seeding webhook answered $code"
    done
    PAGE="http://127.0.0.1:$P_GATEWAY/numbers/$NUMBER"
    for _ in $(seq 1 100); do
        curl -s "$PAGE" | grep -q "Message 1 of 50" && break
        sleep 0.1
    done
    mkdir -p "$WORK/www" "$WORK/nginx"
    # nginx's worker drops to an unprivileged user when started as root.
    chmod 755 "$WORK" "$WORK/www"
    curl -s "$PAGE" -o "$WORK/www/page.html"
    chmod 644 "$WORK/www/page.html"
    grep -q "Message 1 of 50" "$WORK/www/page.html" || die "the page does not show the 50 messages"

    cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx;
    scgi_temp_path $WORK/nginx;
    server {
        listen 127.0.0.1:$P_NGINX;
        root $WORK/www;
        default_type text/html;
    }
}
EOF
    "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
    PIDS+=("$!")
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P_NGINX/page.html" >/dev/null && break; sleep 0.1; done
    cmp -s <(curl -s "http://127.0.0.1:$P_NGINX/page.html") "$WORK/www/page.html" ||
        die "nginx does not serve the page: $(tail -3 "$WORK/nginx/error.log" 2>/dev/null)"
    # The floor of the gateway's HTTP stack: the same bytes from memory
    # through platform::serve and an axum Router, nothing else
    # (tests/src/bin/bench_static.rs).
    FLOOR="http://127.0.0.1:$P_FLOOR/page.html"
    env "${WORKERS_ENV[@]}" BENCH_STATIC_FILE="$WORK/www/page.html" BENCH_STATIC_LISTEN="127.0.0.1:$P_FLOOR" \
        "$BIN/bench_static" &
    PIDS+=("$!")
    for _ in $(seq 1 50); do curl -sf "$FLOOR" >/dev/null && break; sleep 0.1; done
    cmp -s <(curl -s "$FLOOR") "$WORK/www/page.html" || die "bench_static does not serve the page"

    # Rounds of nginx, the stack's floor, then the gateway, each run on an
    # idle machine: the machine's speed drifts over minutes, so the headline
    # is the round with the median ratio (its CPU tables too), every round
    # listed.
    PAGE_ROUNDS="${BENCH_PAGE_ROUNDS:-3}"
    say "pages: $PAGE_ROUNDS rounds of nginx, the HTTP stack alone, then the gateway (${DURATION}s each)"
    ROUND_ROWS=""
    for round in $(seq 1 "$PAGE_ROUNDS"); do
        wait_idle
        wrk_run "http://127.0.0.1:$P_NGINX/page.html" "cpu-nginx-$round" >"$WORK/nginx-$round.wrk"
        wait_idle
        wrk_run "$FLOOR" "cpu-floor-$round" >"$WORK/floor-$round.wrk"
        wait_idle
        if [ "$round" = 1 ]; then
            profiled gateway eval 'wrk_run "$PAGE" cpu-gateway-1 >"$WORK/gateway-1.wrk"'
        else
            wrk_run "$PAGE" "cpu-gateway-$round" >"$WORK/gateway-$round.wrk"
        fi
        read -r n_rps n_p99 <"$WORK/nginx-$round.wrk"
        read -r g_rps g_p99 <"$WORK/gateway-$round.wrk"
        read -r f_rps f_p99 <"$WORK/floor-$round.wrk"
        echo "$(ratio "$g_rps" "$n_rps") $round" >>"$WORK/page-ratios"
        ROUND_ROWS+="| $round | $n_rps | $f_rps ($(ratio "$f_rps" "$n_rps")) | $g_rps | $(ratio "$g_rps" "$n_rps") |"$'\n'
    done
    ROUND_TABLE="${ROUND_ROWS%$'\n'}"
    MEDIAN_ROUND="$(sort -n "$WORK/page-ratios" | awk '{ r[NR] = $2 } END { print r[int((NR + 1) / 2)] }')"
    read -r NGINX_RPS NGINX_P99 <"$WORK/nginx-$MEDIAN_ROUND.wrk"
    read -r GW_RPS GW_P99 <"$WORK/gateway-$MEDIAN_ROUND.wrk"
    read -r FLOOR_RPS FLOOR_P99 <"$WORK/floor-$MEDIAN_ROUND.wrk"
    cp "$WORK/cpu-nginx-$MEDIAN_ROUND.md" "$WORK/cpu-nginx.md"
    cp "$WORK/cpu-floor-$MEDIAN_ROUND.md" "$WORK/cpu-floor.md"
    cp "$WORK/cpu-gateway-$MEDIAN_ROUND.md" "$WORK/cpu-gateway.md"
    wait_idle
    # Where the page's time goes: the same server on cheaper paths.
    CSS_PATH="$(grep -o '/static/site\.[0-9a-f]*\.css' "$WORK/www/page.html" | head -1)"
    CSS_BYTES="$(curl -s "http://127.0.0.1:$P_GATEWAY$CSS_PATH" | wc -c)"
    PAGE_BYTES="$(wc -c <"$WORK/www/page.html")"
    read -r STATIC_RPS STATIC_P99 <<<"$(wrk_run "http://127.0.0.1:$P_GATEWAY$CSS_PATH" cpu-css)"
    wait_idle
    read -r PRIVACY_RPS PRIVACY_P99 <<<"$(wrk_run "http://127.0.0.1:$P_GATEWAY/privacy" cpu-privacy)"
    # The same page with log-retention stopped: the request-log events wait
    # in JetStream (as they would for a log-retention on other machines, or
    # one that is behind) and are stored once it runs again; every one is
    # checked stored. What the gateway costs without the log's storage
    # competing for the same cores.
    logged() { psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM access_log"; }
    wait_idle
    LOGGED_BEFORE="$(logged)"
    kill -STOP "${PID_OF[log-retention]}"
    DEFERRED_RESULT="$WORK/deferred.wrk"
    wrk_run "$PAGE" cpu-deferred >"$DEFERRED_RESULT" || { kill -CONT "${PID_OF[log-retention]}"; die "deferred page run failed"; }
    kill -CONT "${PID_OF[log-retention]}"
    read -r DEFERRED_RPS DEFERRED_P99 <"$DEFERRED_RESULT"
    DEFERRED_SENT="$(python3 -c "print(round($DEFERRED_RPS * $DURATION))")"
    RESUMED=$EPOCHREALTIME
    # Stored: at least the measured run's page views, and the count no
    # longer growing (the warm-up's too); at most 5 minutes.
    last=-1
    for _ in $(seq 1 600); do
        sleep 0.5
        now="$(logged)"
        [ "$now" = "$last" ] && [ $((now - LOGGED_BEFORE)) -ge "$DEFERRED_SENT" ] && break
        last=$now
    done
    DEFERRED_STORED=$((last - LOGGED_BEFORE))
    DEFERRED_DRAIN="$(python3 -c "print(f'{$EPOCHREALTIME - $RESUMED - 0.5:.1f}')")"
    [ "$DEFERRED_STORED" -ge "$DEFERRED_SENT" ] ||
        die "log-retention stored $DEFERRED_STORED request logs of the ~$DEFERRED_SENT page views made while it was stopped"
    declare -A AFTER_PAGES
    for service in "${!PID_OF[@]}"; do AFTER_PAGES[$service]=$(rss_mib "${PID_OF[$service]}"); done
fi

declare -A LOADED
if selected ingest; then
    wait_idle
    say "ingest: raw JetStream publishing, signed Twilio webhooks (wrk, ${DURATION}s), raw JetStream publishing again"
    # More distinct webhooks than the run can post (40,000/s by default):
    # a repeat would be a cheaper duplicate, so only distinct ones count.
    WEBHOOKS="${BENCH_INGEST_WEBHOOKS:-$((40000 * DURATION))}"
    ingest_env=(INGEST_URL="http://127.0.0.1:$P_INGEST" TWILIO_AUTH_TOKEN="$TWILIO_TOKEN"
        BENCH_NUMBER="$NUMBER" TEST_NATS_URL="$NATS_URL")
    stored() { psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM messages"; }
    # Waits until `stored` reaches $1 (at most 5 minutes).
    stored_until() {
        for _ in $(seq 1 1200); do
            [ "$(stored)" -ge "$1" ] && return
            sleep 0.25
        done
        die "the persister stored $(($(stored) - STORED_BEFORE)) of $(($1 - STORED_BEFORE)) webhooks in 5 minutes"
    }
    # Warm-up: posts the webhooks of $1 to $2 for 2 s (opens the
    # connections, fills the caches; not counted); prints how many distinct
    # ones were answered.
    warm_up() {
        local sent
        sent="$(wrk -t1 -c"$INGEST_IN_FLIGHT" -d2s -s bench/webhooks.lua "$2" -- "$1" | awk '/requests in/ { print $1 }')"
        echo $((sent < 5000 ? sent : 5000))
    }
    # One measured webhook run: wrk posts the webhooks of $2 to $1 for
    # BENCH_SECONDS; its output goes to $WORK/$3.wrk. The CPU count starts
    # once wrk has read its webhooks (it prints the "connections" line after
    # that) and ends when it exits.
    ingest_wrk() {
        : >"$WORK/$3.wrk"
        stdbuf -oL wrk -t1 -c"$INGEST_IN_FLIGHT" -d"${DURATION}s" -s bench/webhooks.lua \
            "$1" -- "$2" >"$WORK/$3.wrk" &
        local pid=$!
        until grep -q connections "$WORK/$3.wrk" || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
        cpu_snap "$WORK/cpu-$3.before"
        WRK_STARTED=$EPOCHREALTIME
        wait "$pid"
        cpu_snap "$WORK/cpu-$3.after"
        WRK_ENDED=$EPOCHREALTIME
        STORED_DURING="$(stored)"
    }
    # The figures of the run $1: WRK_SENT (answered), WRK_SECONDS,
    # WRK_DISTINCT (of them), WRK_RPS (distinct per second), and its CPU
    # table in $WORK/cpu-$1.md.
    wrk_figures() {
        ! grep -E "Non-2xx|Socket errors" "$WORK/$1.wrk" ||
            die "webhooks not all answered 2xx: $(cat "$WORK/$1.wrk")"
        read -r WRK_SENT WRK_SECONDS <<<"$(awk '/requests in/ { sub(/s,?$/, "", $4); print $1, $4 }' "$WORK/$1.wrk")"
        WRK_DISTINCT=$((WRK_SENT < WEBHOOKS ? WRK_SENT : WEBHOOKS))
        # A second argument, "repeats-count": a repeated webhook is new work
        # there (the floor's publishes), so running out of them is no matter.
        [ "$WRK_SENT" -le "$WEBHOOKS" ] || [ "${2:-}" = repeats-count ] ||
            say "ingest: wrk ran out of distinct webhooks ($WEBHOOKS); raise BENCH_INGEST_WEBHOOKS"
        WRK_RPS="$(python3 -c "print(f'{$WRK_DISTINCT / $WRK_SECONDS:.0f}')")"
        cpu_rows "$WORK/cpu-$1.before" "$WORK/cpu-$1.after" "$WRK_SECONDS" "$WRK_SENT" >"$WORK/cpu-$1.md"
    }
    STORED_BEFORE="$(stored)"
    env "${ingest_env[@]}" "$BIN/bench_ingest" webhooks "$WORK/warmup.hooks" 5000 >/dev/null
    WEBHOOK_SIZE="$(env "${ingest_env[@]}" "$BIN/bench_ingest" webhooks "$WORK/ingest.hooks" "$WEBHOOKS")"
    INGEST_URL="http://127.0.0.1:$P_INGEST/webhooks/twilio"
    WARM="$(warm_up "$WORK/warmup.hooks" "$INGEST_URL")"
    stored_until $((STORED_BEFORE + WARM))
    # The baseline runs before and after the webhooks (the machine's speed
    # drifts over minutes); the ratio is against their mean.
    wait_idle
    PUBLISH_BEFORE="$(TEST_NATS_URL="$NATS_URL" "$BIN/bench_ingest" baseline "$WEBHOOK_SIZE")"
    wait_idle
    STORED_BEFORE="$(stored)"
    profiled message-ingest ingest_wrk "$INGEST_URL" "$WORK/ingest.hooks" ingest
    wrk_figures ingest
    INGEST_DISTINCT=$WRK_DISTINCT INGEST_RPS=$WRK_RPS
    # Every accepted webhook must end up stored, once: the persister's
    # backlog drains before anything else is measured.
    stored_until $((STORED_BEFORE + INGEST_DISTINCT))
    DRAINED=$EPOCHREALTIME
    read -r STORED_IN_RUN DRAIN_SECONDS PERSIST_RPS <<<"$(python3 -c "
print($STORED_DURING - $STORED_BEFORE, f'{$DRAINED - $WRK_ENDED:.1f}',
      f'{$INGEST_DISTINCT / ($DRAINED - $WRK_STARTED):.0f}')")"
    wait_idle
    PUBLISH_AFTER="$(TEST_NATS_URL="$NATS_URL" "$BIN/bench_ingest" baseline "$WEBHOOK_SIZE")"
    PUBLISH_RPS="$(python3 -c "print(round(($PUBLISH_BEFORE + $PUBLISH_AFTER) / 2))")"
    for service in "${!PID_OF[@]}"; do LOADED[$service]=$(rss_mib "${PID_OF[$service]}"); done

    # Decomposed: (a) the webhooks accepted by a message-ingest with
    # `ingest.persister = false`, nothing stored meanwhile; (b) then its
    # backlog stored by a message-ingest with the persister on, timed; (c)
    # `psql \copy` of the same rows into an identical empty table. Both
    # processes use the stack's database (the number, the `messages` table
    # as the run above left it) with their own bus prefix and cache keys:
    # the stack's persister never sees these messages, nor the stack's
    # gateway their `MessageStored` announcements.
    wait_idle
    say "ingest, decomposed: webhooks with no persister running (wrk, ${DURATION}s), its backlog drained, psql \\copy of the same rows"
    SPLIT_URL="http://127.0.0.1:$P_SPLIT"
    split_env=("${env_vars[@]}" CLOUDSMS_BUS__PREFIX="bench${ID}d" CLOUDSMS_CACHE__KEY_PREFIX="bench:${ID}d:"
        CLOUDSMS_INGEST__PUBLIC_URL="$SPLIT_URL")
    (cd "$WORK" && exec env "${split_env[@]}" CLOUDSMS_INGEST__PERSISTER=false \
        CLOUDSMS_INGEST__LISTEN="127.0.0.1:$P_SPLIT" CLOUDSMS_INGEST__GRPC_LISTEN="127.0.0.1:$P_SPLIT_GRPC" \
        "$BIN/message-ingest") &
    SPLIT_PID=$!
    PIDS+=("$SPLIT_PID")
    wait_ready "$P_SPLIT"
    split_hooks_env=(INGEST_URL="$SPLIT_URL" TWILIO_AUTH_TOKEN="$TWILIO_TOKEN" BENCH_NUMBER="$NUMBER")
    env "${split_hooks_env[@]}" "$BIN/bench_ingest" webhooks "$WORK/split-warmup.hooks" 5000 >/dev/null
    env "${split_hooks_env[@]}" "$BIN/bench_ingest" webhooks "$WORK/split.hooks" "$WEBHOOKS" >/dev/null
    STORED_BEFORE="$(stored)"
    warm_up "$WORK/split-warmup.hooks" "$SPLIT_URL/webhooks/twilio" >/dev/null
    wait_idle
    PROFILE_PID=$SPLIT_PID PROFILE_LABEL=accepting-message-ingest profiled message-ingest \
        ingest_wrk "$SPLIT_URL/webhooks/twilio" "$WORK/split.hooks" split
    wrk_figures split
    SPLIT_RPS=$WRK_RPS
    wait_idle
    [ "$(stored)" = "$STORED_BEFORE" ] ||
        die "messages were stored while no persister ran for them ($STORED_BEFORE before, $(stored) after)"
    # (a0) the floor under (a): the same webhooks to the services' HTTP
    # stack doing nothing but the deduplicated publish and its ack
    # (tests/src/bin/bench_static.rs, a stream of its own).
    HOOKS_FLOOR_URL="http://127.0.0.1:$P_HOOKS_FLOOR"
    BENCH_STATIC_NATS="$NATS_URL" BENCH_STATIC_LISTEN="127.0.0.1:$P_HOOKS_FLOOR" "$BIN/bench_static" &
    HOOKS_FLOOR_PID=$!
    PIDS+=("$HOOKS_FLOOR_PID")
    for _ in $(seq 1 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$HOOKS_FLOOR_URL/")" = 405 ] && break
        sleep 0.1
    done
    warm_up "$WORK/split-warmup.hooks" "$HOOKS_FLOOR_URL/webhooks/twilio" >/dev/null
    wait_idle
    ingest_wrk "$HOOKS_FLOOR_URL/webhooks/twilio" "$WORK/split.hooks" hooks-floor
    wrk_figures hooks-floor repeats-count
    # Every request is a new publish here (an id of its own), repeats too.
    HOOKS_FLOOR_RPS="$(python3 -c "print(f'{$WRK_SENT / $WRK_SECONDS:.0f}')")"
    kill "$HOOKS_FLOOR_PID"
    wait "$HOOKS_FLOOR_PID" || true
    wait_idle
    # The backlog: every webhook accepted, warm-up included, and those
    # still in flight when wrk stopped (answered after it closed their
    # connection): what the stream holds.
    BACKLOG="$(TEST_NATS_URL="$NATS_URL" "$BIN/bench_ingest" stream-messages "BENCH${ID^^}D_SMS")"
    MAX_ID_BEFORE="$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT coalesce(max(id), 0) FROM messages")"
    (cd "$WORK" && exec env "${split_env[@]}" \
        CLOUDSMS_INGEST__LISTEN="127.0.0.1:$P_DRAIN" CLOUDSMS_INGEST__GRPC_LISTEN="127.0.0.1:$P_DRAIN_GRPC" \
        "$BIN/message-ingest") &
    DRAIN_PID=$!
    PIDS+=("$DRAIN_PID")
    # From the persister's process being ready (its consumer starts then)
    # to the backlog's last row counted (every 0.25 s).
    wait_ready "$P_DRAIN"
    cpu_snap "$WORK/cpu-drain.before"
    ALONE_STARTED=$EPOCHREALTIME
    stored_until $((STORED_BEFORE + BACKLOG))
    ALONE_ENDED=$EPOCHREALTIME
    cpu_snap "$WORK/cpu-drain.after"
    read -r ALONE_SECONDS ALONE_RPS <<<"$(python3 -c "
s = $ALONE_ENDED - $ALONE_STARTED
print(f'{s:.2f}', f'{$BACKLOG / s:.0f}')")"
    cpu_rows "$WORK/cpu-drain.before" "$WORK/cpu-drain.after" "$ALONE_SECONDS" "$BACKLOG" \
        "the bench's count of the stored rows (psql every 0.25 s), the rest" >"$WORK/cpu-drain.md"
    kill "$SPLIT_PID" "$DRAIN_PID"
    wait "$SPLIT_PID" "$DRAIN_PID" || true
    # The same rows, exported, then loaded by one `psql \copy` into an empty
    # table with the same columns, defaults and indexes.
    wait_idle
    COPY_FILE="$WORK/messages.copy"
    psql -h 127.0.0.1 -U postgres -d "$DB" -qc \
        "\\copy (SELECT * FROM messages WHERE id > $MAX_ID_BEFORE ORDER BY id) TO '$COPY_FILE'"
    COPY_ROWS="$(wc -l <"$COPY_FILE")"
    [ "$COPY_ROWS" = "$BACKLOG" ] || die "the persister stored $COPY_ROWS rows for the $BACKLOG messages of the stream"
    psql -h 127.0.0.1 -U postgres -d "$DB" -qc "CREATE TABLE bench_messages_copy (LIKE messages INCLUDING ALL)"
    wait_idle
    cpu_snap "$WORK/cpu-copy.before"
    COPY_STARTED=$EPOCHREALTIME
    psql -h 127.0.0.1 -U postgres -d "$DB" -qc "\\copy bench_messages_copy FROM '$COPY_FILE'"
    read -r COPY_SECONDS COPY_RPS <<<"$(python3 -c "
s = $EPOCHREALTIME - $COPY_STARTED
print(f'{s:.2f}', f'{$COPY_ROWS / s:.0f}')")"
    cpu_snap "$WORK/cpu-copy.after"
    cpu_rows "$WORK/cpu-copy.before" "$WORK/cpu-copy.after" "$COPY_SECONDS" "$COPY_ROWS" \
        "psql and its Postgres backend (ended before the count), the rest" >"$WORK/cpu-copy.md"
    psql -h 127.0.0.1 -U postgres -d "$DB" -qc "DROP TABLE bench_messages_copy"
    # (d) the floor under (b)'s bus work: the same messages taken off the
    # stream by a pull consumer of their own and acked, nothing else done.
    wait_idle
    cpu_snap "$WORK/cpu-take.before"
    read -r TAKEN TAKE_SECONDS <<<"$(TEST_NATS_URL="$NATS_URL" "$BIN/bench_ingest" consume "BENCH${ID^^}D_SMS")"
    cpu_snap "$WORK/cpu-take.after"
    [ "$TAKEN" = "$BACKLOG" ] || die "the floor consumer read $TAKEN of the stream's $BACKLOG messages"
    TAKE_RPS="$(python3 -c "print(f'{$TAKEN / $TAKE_SECONDS:.0f}')")"
    cpu_rows "$WORK/cpu-take.before" "$WORK/cpu-take.after" "$TAKE_SECONDS" "$TAKEN" \
        "bench_ingest consume (ended before the count), the rest" >"$WORK/cpu-take.md"
    # The floors' sum: the machine's CPU per webhook if accepting were at
    # (a0) and storing at (c) + (d); the rate 2 cores would give at that
    # cost, and its ratio. Beside it what each stage spends over its floor.
    read -r FLOOR_US FLOOR_RPS OVER_A OVER_B E2E_US <<<"$(python3 -c "
a0, c, d = $(machine_us "$WORK/cpu-hooks-floor.md"), $(machine_us "$WORK/cpu-copy.md"), $(machine_us "$WORK/cpu-take.md")
a, b, e2e = $(machine_us "$WORK/cpu-split.md"), $(machine_us "$WORK/cpu-drain.md"), $(machine_us "$WORK/cpu-ingest.md")
floor = a0 + c + d
print(f'{floor:.1f}', f'{$(nproc) * 1e6 / floor:.0f}', f'{a - a0:.1f}', f'{b - c - d:.1f}', f'{e2e:.1f}')")"
fi

if selected captcha; then
    wait_idle
    say "captcha verification"
    CAPTCHA_TABLE="$(TEST_REDIS_URL="$REDIS_URL" "$BIN/bench_captcha")"
fi
if selected solve; then
    wait_idle
    say "proof-of-work solve times"
    SOLVE_TABLE="$(node bench/solve.mjs)"
fi

# Log writes: request logs on JetStream → log-retention → Postgres, against
# psql \copy of the same rows (it first waits for the earlier sections'
# request logs to be stored).
if selected logs; then
    wait_idle
    say "log writes: log-retention against psql \\copy"
    LOGS_RESULT="$WORK/logs.md"
    PROFILE_LABEL=logs-log-retention profiled log-retention eval 'BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" \
        BENCH_BUS_PREFIX="bench$ID" TEST_NATS_URL="$NATS_URL" "$BIN/bench_logs" >"$LOGS_RESULT"'
    LOGS_TABLE="$(cat "$LOGS_RESULT")"
    LOGS_RSS="$(rss_mib "${PID_OF[log-retention]}")"
fi

# End to end: webhook → SSE at a fixed rate (waits for the persister to be idle).
if selected e2e; then
    wait_idle
    say "end to end: webhook → SSE, ${BENCH_E2E_RATE:-1000} SMS/s for ${BENCH_E2E_SECONDS:-60} s"
    E2E_RESULT="$WORK/e2e.md"
    PROFILE_LABEL=e2e-message-ingest profiled message-ingest eval 'INGEST_URL="http://127.0.0.1:$P_INGEST" GATEWAY_URL="http://127.0.0.1:$P_GATEWAY" \
        TWILIO_AUTH_TOKEN="$TWILIO_TOKEN" BENCH_NUMBERS="$(IFS=,; echo "${E2E_NUMBERS[*]}")" \
        BENCH_BUS_PREFIX="bench$ID" TEST_NATS_URL="$NATS_URL" "$BIN/bench_e2e" >"$E2E_RESULT"'
    E2E_TABLE="$(cat "$E2E_RESULT")"
fi
declare -A AFTER_E2E=()
if selected logs || selected e2e; then
    for service in "${!PID_OF[@]}"; do AFTER_E2E[$service]=$(rss_mib "${PID_OF[$service]}"); done
fi

# The retention sweep, in a database of its own (the stack stays idle).
if selected retention; then
    wait_idle
    say "retention sweep: ${BENCH_RETENTION_SMALL_ROWS:-1000000} and ${BENCH_RETENTION_ROWS:-50000000} rows (generated in Postgres first, a few minutes)"
    RETENTION_TABLE="$(BENCH_ADMIN_URL="postgres://postgres@127.0.0.1:5432/postgres" "$BIN/bench_retention")"
fi

# The message sweep, in a database of its own (the stack stays idle).
if selected messages; then
    wait_idle
    say "message sweep: ${BENCH_MESSAGES_EXPIRED:-100000} expired among ${BENCH_MESSAGES_SMALL_ROWS:-1000000} and ${BENCH_MESSAGES_ROWS:-20000000} kept messages (generated in Postgres first)"
    MESSAGES_TABLE="$(BENCH_ADMIN_URL="postgres://postgres@127.0.0.1:5432/postgres" "$BIN/bench_messages")"
fi

# Work sharing: two replicas of message-ingest and of log-retention against
# one, started by the bench itself (its own bus prefix and database; the
# stack above stays idle).
if selected cluster; then
    wait_idle
    say "cluster: webhooks and log events over 1, 2, then 1 replica(s) of message-ingest and log-retention"
    CLUSTER_TABLE="$(TEST_NATS_URL="$NATS_URL" TEST_REDIS_URL="$REDIS_URL" \
        TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres" \
        BENCH_IN_FLIGHT="$INGEST_IN_FLIGHT" "$BIN/bench_cluster")"
fi

machine() {
    local cpu mem
    cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "$(nproc) cores ($cpu), $mem, $(uname -sr); nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}'), redis $(redis-server --version | awk '{print $3}' | tr -d 'v='), node $(node --version)"
}

NOW="$(date -u '+%Y-%m-%d %H:%M UTC')"
SECTION_DIR="$WORK/sections"
mkdir -p "$SECTION_DIR"
# One file per section run now: its title line, when it ran, its tables.
section() {
    local key="$1" title="$2"
    {
        echo "## $title"
        echo
        echo "Run: $NOW."
        echo
        cat
    } >"$SECTION_DIR/$key.md"
}

if selected pages; then
    if [ -n "${BENCH_GATEWAY_WORKERS:-}" ]; then
        WORKERS_NOTE="The gateway and the HTTP stack alone ran with $BENCH_GATEWAY_WORKERS tokio worker thread(s) (BENCH_GATEWAY_WORKERS; by default one per core).
"
    else
        WORKERS_NOTE=""
    fi
    section pages "Pages" <<EOF
| hot number page, 50 messages, \`wrk -t1 -c32\`, ${DURATION} s | requests/s | p99 ms |
|---|---:|---:|
| nginx, 1 worker, the same HTML bytes as a static file | $NGINX_RPS | $NGINX_P99 |
| the gateway's HTTP stack alone (\`platform::serve\`, an axum \`Router\`), the same bytes from memory | $FLOOR_RPS | $FLOOR_P99 |
| gateway \`GET /numbers/{e164}\` | $GW_RPS | $GW_P99 |
| **ratio** (target ≥ 0.7) | **$(ratio "$GW_RPS" "$NGINX_RPS")** | |

$WORKERS_NOTE
The round with the median ratio of $PAGE_ROUNDS (nginx, the HTTP stack alone,
then the gateway, each on an idle machine; the CPU tables below are that
round's):

| round | nginx requests/s | HTTP stack alone (of nginx) | gateway requests/s | ratio |
|---|---:|---:|---:|---:|
$ROUND_TABLE

Where the time goes (the gateway on cheaper paths, same run; its CPU per
request from the same tables as below):

| path | requests/s | p99 ms | gateway CPU µs per request (kernel) | what it does |
|---|---:|---:|---:|---|
| HTTP stack alone | $FLOOR_RPS | $FLOOR_P99 | $(cpu_of "$WORK/cpu-floor.md" bench_static) | hyper and an axum \`Router\` on \`platform::serve\`, the page's bytes from memory (\`bench_static\`) |
| \`$CSS_PATH\` | $STATIC_RPS | $STATIC_P99 | $(cpu_of "$WORK/cpu-css.md" gateway) | + the gateway's layers (its server span, the compression check, the site layer: route, client, cookie, security headers) and the asset lookup, $CSS_BYTES bytes instead of the page's $PAGE_BYTES; no request log, no database |
| \`/privacy\` | $PRIVACY_RPS | $PRIVACY_P99 | $(cpu_of "$WORK/cpu-privacy.md" gateway) | + a request-log event per request (JetStream → log-retention → Postgres) |
| \`/numbers/{e164}\` | $GW_RPS | $GW_P99 | $(cpu_of "$WORK/cpu-gateway.md" gateway) | + the number registry (remembered for \`gateway.registry_cache_ms\`), the page from the rendered-page cache |
| \`/numbers/{e164}\`, log-retention stopped | $DEFERRED_RPS | $DEFERRED_P99 | $(cpu_of "$WORK/cpu-deferred.md" gateway) | the same, the request-log events kept in JetStream and stored after the run: **$(ratio "$DEFERRED_RPS" "$NGINX_RPS")** of nginx |

With log-retention stopped during that last run, its $DEFERRED_STORED request-log
events (warm-up included) were stored ${DEFERRED_DRAIN} s after it started again: that
run shows what the gateway and NATS cost per page, the request log's storage
(log-retention and Postgres) left to a log-retention and a Postgres that run
elsewhere, as the Helm chart's pods usually do, or later.

Where the CPU goes: each kind of process during the measured run (100 % = one
of the $(nproc) cores; per request = CPU time ÷ requests served):

| nginx run | % of a core | CPU µs per request | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-nginx.md")

| HTTP stack alone | % of a core | CPU µs per request | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-floor.md")

| gateway run | % of a core | CPU µs per request | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-gateway.md")

| gateway run, log-retention stopped | % of a core | CPU µs per request | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-deferred.md")

Every page view is also a request-log event: a row of \`access_log\` and one of
\`stat_pageviews\` that log-retention writes to Postgres (with NATS in between),
on the same cores; nginx keeps no log here (\`access_log off\`).
EOF
fi
if selected ingest; then
    section ingest "Ingest" <<EOF
| ingest, ${DURATION} s | per second | ratio |
|---|---:|---:|
| baseline: async-nats JetStream publish of ${WEBHOOK_SIZE}-byte messages, 256 acks in flight (mean of $PUBLISH_BEFORE before the webhooks and $PUBLISH_AFTER after) | $PUBLISH_RPS | |
| signed Twilio webhooks by \`wrk -t1 -c$INGEST_IN_FLIGHT\`, each answered 202 after its JetStream ack | $INGEST_RPS | **$(ratio "$INGEST_RPS" "$PUBLISH_RPS")** |

Target: ratio ≥ 0.25. message-ingest checks each signature, publishes the
\`SmsReceived\` event (deduplicated by \`Nats-Msg-Id\`) and answers after the
ack; its persister stores the messages (Postgres, Redis, \`MessageStored\`)
at the same time, on the same cores.

Stored: every accepted webhook, once. While the webhooks came, the persister
had stored $STORED_IN_RUN of the $INGEST_DISTINCT; the rest $DRAIN_SECONDS s after the last answer
($PERSIST_RPS messages/s stored from the first webhook to the last row).

Where the CPU goes during the webhook run (100 % = one of the $(nproc) cores;
per webhook = CPU time ÷ webhooks answered):

| webhook run | % of a core | CPU µs per webhook | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-ingest.md")

### Decomposed: each stage alone, against its own limit

| stage, run alone on the same cores | per second | baseline per second | ratio |
|---|---:|---:|---:|
| (a) accepting: the same kind of signed Twilio webhooks (new ones) by \`wrk -t1 -c$INGEST_IN_FLIGHT\`, ${DURATION} s, to a message-ingest with \`ingest.persister = false\`, each answered 202 after its JetStream ack | $SPLIT_RPS | $PUBLISH_RPS (the JetStream publish above) | **$(ratio "$SPLIT_RPS" "$PUBLISH_RPS")** |
| (a0) the floor under (a): the same webhooks to the services' HTTP stack (\`platform::serve\`, an axum \`Router\`) doing nothing but publishing each body with a \`Nats-Msg-Id\` of its own and answering 202 after the ack (\`bench_static\`) | $HOOKS_FLOOR_RPS | the same | **$(ratio "$HOOKS_FLOOR_RPS" "$PUBLISH_RPS")** |
| (b) storing: the $BACKLOG messages (a)'s run and warm-up left in the stream, stored by a message-ingest with the persister on, started after (Postgres, Redis hot lists, \`MessageStored\`), in $ALONE_SECONDS s | $ALONE_RPS | $COPY_RPS (c) | **$(ratio "$ALONE_RPS" "$COPY_RPS")** |
| (c) \`psql \\copy\` of the same $COPY_ROWS rows (exported from \`messages\`) into an empty \`(LIKE messages INCLUDING ALL)\` table, in $COPY_SECONDS s | $COPY_RPS | | |
| (d) the floor under (b)'s bus work: the same $TAKEN messages taken off the stream by a pull consumer of their own (\`bench_ingest consume\`), each acked, nothing else done, in $TAKE_SECONDS s | $TAKE_RPS | | |

- (a) is the webhook path alone (the form and its signature, the number's
  registration, the event, publish, ack, answer) with no persister on the
  cores: its distance to the raw publish is what message-ingest's HTTP and
  checks cost.
- (a0) is what any webhook accepted on this stack costs at least: HTTP on
  loopback, the deduplicated publish and its ack. (a)'s distance to it is
  message-ingest's own work (the signature, the claim, the number, the
  event).
- (b) is the persister alone, from its process being ready to the backlog's
  last row (counted every 0.25 s): batches of up to \`ingest.persister_batch\`
  from the durable consumer, one \`INSERT\` and commit each, the hot lists,
  the announcements, the acks. No gateway takes part (these messages travel
  under a bus prefix of their own): forwarding the announcements to open
  streams is not in it.
- (c) is Postgres alone storing the same rows with the same indexes in one
  statement and one transaction: the floor under (b)'s database work; (b)'s
  ratio to it is the persister's distance to Postgres' own limit.
- (d) is JetStream alone handing the same messages to a consumer and taking
  its acks: the floor under (b)'s bus work.
- The end-to-end ratio above, both stages at once on the same cores, is the
  target's figure. The processes of (a) and (b) use the stack's database
  with their own bus prefix and cache keys: the stack's persister never sees
  these messages.

Where the CPU goes, (a) (per webhook answered):

| accepting alone | % of a core | CPU µs per webhook | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-split.md")

Where the CPU goes, (a0) (per webhook answered):

| the floor under (a) | % of a core | CPU µs per webhook | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-hooks-floor.md")

Where the CPU goes, (b) (per message stored):

| storing alone | % of a core | CPU µs per message | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-drain.md")

Where the CPU goes, (c) (per row):

| \`psql \\copy\` alone | % of a core | CPU µs per row | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-copy.md")

Where the CPU goes, (d) (per message):

| taking the messages alone | % of a core | CPU µs per message | of which in the kernel |
|---|---:|---:|---:|
$(cat "$WORK/cpu-take.md")

### The floors against the target

| the machine's CPU per webhook | µs |
|---|---:|
| accepting at its floor (a0) + storing at its floors (c) + (d) | $FLOOR_US |
| the end-to-end run above | $E2E_US |
| (a) over (a0): message-ingest's own work in accepting | $OVER_A |
| (b) over (c) + (d): the persister's own work in storing | $OVER_B |

With every stage at its floor, the $(nproc) cores would take at most
$FLOOR_RPS webhooks/s end to end (all of them busy, $FLOOR_US µs each): a
ratio of **$(ratio "$FLOOR_RPS" "$PUBLISH_RPS")** to the raw publish. Under
the target's 0.25, the target is out of reach on these cores whatever
message-ingest's own work; over it, that work is what stands between.
EOF
fi
if selected e2e; then
    section e2e "End to end: webhook → SSE" <<EOF
$E2E_TABLE

Latency from each webhook's due time (open loop) to its event on the number's
SSE stream (\`/numbers/{e164}/events\`): message-ingest, JetStream, the
persister (Postgres, Redis), \`MessageStored\` on core NATS, the gateway.
Targets: p50 < 20 ms, p99 < 100 ms, nothing lost.
EOF
fi
if selected logs; then
    section logs "Log writes" <<EOF
$LOGS_TABLE

On Postgres log-retention writes each table's rows of a batch (up to 4 MiB of
messages) with one binary \`COPY\`, falling back to a staging table and
\`INSERT ... SELECT ... ON CONFLICT DO NOTHING\` when an event is already
stored. log-retention's RSS afterwards: $LOGS_RSS MiB. Target: ratio ≥ 0.5.
EOF
fi
if selected retention; then
    section retention "Retention sweep" <<EOF
$RETENTION_TABLE
EOF
fi
if selected messages; then
    section messages "Message sweep" <<EOF
$MESSAGES_TABLE
EOF
fi
if selected cluster; then
    section cluster "Work sharing: 2 replicas against 1" <<EOF
$CLUSTER_TABLE

Both replicas run on the same $(nproc) cores as the single one (and as the
load generator, NATS, Redis and Postgres): the ratio shows the work is
shared without a loss, not a speed-up. The persisters share message-ingest's
durable consumer of \`SMS\`, the log-retention replicas theirs of \`LOGS\`.
EOF
fi
if selected captcha; then
    section captcha "Captcha verification" <<EOF
$CAPTCHA_TABLE

Target: valid-token ratio ≥ 0.3.
EOF
fi
if selected solve; then
    section solve "Proof-of-work solve time (the gate's browser solver)" <<EOF
$SOLVE_TABLE
EOF
fi
if selected memory; then
    {
        if [ ${#AFTER_E2E[@]} -gt 0 ]; then
            echo "| service | idle | after the page load | after the ingest load | after the log and end-to-end loads |"
            echo "|---|---:|---:|---:|---:|"
        else
            echo "| service | idle | after the page load | after the ingest load |"
            echo "|---|---:|---:|---:|"
        fi
        for service in gateway message-ingest captcha-verification log-retention; do
            if [ ${#AFTER_E2E[@]} -gt 0 ]; then
                echo "| $service | ${IDLE[$service]} | ${AFTER_PAGES[$service]} | ${LOADED[$service]} | ${AFTER_E2E[$service]} |"
            else
                echo "| $service | ${IDLE[$service]} | ${AFTER_PAGES[$service]} | ${LOADED[$service]} |"
            fi
        done
        echo
        echo "Targets: < 50 MiB idle, < 200 MiB loaded."
    } | section memory "Memory (RSS, MiB)"
fi

# The day's file: this run's sections, and the others as an earlier run of
# the day left them (with that run's time).
TITLES=(
    "pages:Pages" "ingest:Ingest" "e2e:End to end: webhook → SSE" "logs:Log writes"
    "retention:Retention sweep" "messages:Message sweep" "cluster:Work sharing: 2 replicas against 1"
    "captcha:Captcha verification"
    "solve:Proof-of-work solve time (the gate's browser solver)" "memory:Memory (RSS, MiB)"
)
earlier_section() {
    [ -f "$OUT" ] || return 0
    python3 - "$OUT" "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
title = sys.argv[2]
head = re.search(r"^# Benchmarks, (.+)$", text, re.M)
parts = re.split(r"^(?=## )", text, flags=re.M)
for part in parts:
    if part.startswith("## ") and part[3:].split("\n", 1)[0].strip() == title:
        body = part.split("\n", 1)[1].strip("\n") if "\n" in part else ""
        if not body.startswith("Run: ") and head:
            body = "Run: " + head.group(1).strip() + ".\n\n" + body
        print("## " + title + "\n\n" + body)
PY
}
{
    echo "# Benchmarks, $NOW"
    echo
    echo "Machine: $(machine). Load generators run on the same cores. Every ratio is"
    echo "against a baseline measured in the same run; the services run as separate"
    echo "release processes against NATS, Redis and Postgres on loopback."
    for entry in "${TITLES[@]}"; do
        key="${entry%%:*}"
        title="${entry#*:}"
        if [ -f "$SECTION_DIR/$key.md" ]; then
            echo
            cat "$SECTION_DIR/$key.md"
        else
            earlier="$(earlier_section "$title")"
            if [ -n "$earlier" ]; then
                echo
                echo "$earlier"
            fi
        fi
    done
    # Sections written by hand into the day's file (notes, comparisons of
    # builds) are kept, after the measured ones.
    if [ -f "$OUT" ]; then
        known="$(printf '%s\n' "${TITLES[@]#*:}")"
        KNOWN_TITLES="$known" python3 - "$OUT" <<'PY'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
known = set(os.environ["KNOWN_TITLES"].splitlines())
for part in re.split(r"^(?=## )", text, flags=re.M):
    if part.startswith("## ") and part[3:].split("\n", 1)[0].strip() not in known:
        print("\n" + part.rstrip("\n"))
PY
    fi
    if [ ${#PROFILES[@]} -gt 0 ]; then
        echo
        echo "Profiles (perf, BENCH_PROFILE=1): ${PROFILES[*]}"
    fi
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "written to $OUT"
