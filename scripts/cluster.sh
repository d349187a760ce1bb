#!/usr/bin/env bash
# A local cluster on loopback, the shape a site runs in when it outgrows one
# machine (what `make chaos-cluster` tests):
#
#   3 nats-server nodes, JetStream clustered     nats://127.0.0.1:BASE+0..2
#   Redis master + replica                       127.0.0.1:BASE+20, BASE+21
#   3 Sentinels (master name "cloudsms")         127.0.0.1:BASE+25..27
#   2 × gateway, message-ingest, log-retention, captcha-verification
#       (target/debug, `cargo build --workspace --bins` first), each replica
#       on its own ports (printed by `start` and `status`)
#
# Usage: scripts/cluster.sh start|stop|status
#   CLUSTER_DIR        state, logs and config (default target/cluster)
#   CLUSTER_BASE_PORT  first port (default 24000)
#   CLUSTER_DATABASE_URL  Postgres server (default postgres://postgres@127.0.0.1:5432);
#                         the database cloudsms_cluster is created there
#   CLUSTER_BIN_DIR    where the service binaries are (default target/debug)
set -euo pipefail

cd "$(dirname "$0")/.."
readonly DIR=${CLUSTER_DIR:-$PWD/target/cluster}
readonly BASE=${CLUSTER_BASE_PORT:-24000}
readonly PG=${CLUSTER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
readonly DB=cloudsms_cluster
readonly BIN=${CLUSTER_BIN_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/debug}
readonly SERVICES=(gateway message-ingest log-retention captcha-verification)
readonly MASTER_NAME=cloudsms

die() {
    printf 'cluster.sh: %s\n' "$*" >&2
    exit 1
}
tcp_up() { timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" >/dev/null 2>&1; }
wait_port() {
    local i
    for i in $(seq 1 100); do
        tcp_up "$1" && return 0
        sleep 0.1
    done
    die "nothing listens on port $1 (logs in $DIR)"
}
program() {
    local p
    for p in "$@"; do
        [ -x "$p" ] && { echo "$p"; return; }
    done
    command -v "$(basename "$1")" || die "$(basename "$1") is not installed"
}

nats_port() { echo $((BASE + $1)); }
route_port() { echo $((BASE + 10 + $1)); }
redis_port() { echo $((BASE + 20 + $1)); }
sentinel_port() { echo $((BASE + 25 + $1)); }
# http / grpc ports of service $1 (index in SERVICES), replica $2.
http_port() { echo $((BASE + 100 + 20 * $1 + $2)); }
grpc_port() { echo $((BASE + 110 + 20 * $1 + $2)); }

# spawn NAME CMD...: starts CMD in the background, its pid in $DIR/NAME.pid.
spawn() {
    local name=$1
    shift
    nohup "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/$name.pid"
}

running() {
    local f=$DIR/$1.pid
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

nats_urls() {
    local i urls=()
    for i in 0 1 2; do urls+=("nats://127.0.0.1:$(nats_port "$i")"); done
    (IFS=,; echo "${urls[*]}")
}

write_config() {
    {
        printf '[redis]\nsentinels = ["127.0.0.1:%s", "127.0.0.1:%s", "127.0.0.1:%s"]\nmaster_name = "%s"\n' \
            "$(sentinel_port 0)" "$(sentinel_port 1)" "$(sentinel_port 2)" "$MASTER_NAME"
        printf '[bus]\nreplicas = 3\n'
        printf '[gateway.gate]\nenabled = false\n'
    } >"$DIR/cloudsms.toml"
}

# Environment of replica $1 of every service.
replica_env() {
    local r=$1 nats
    nats=$(nats_urls)
    echo "CLOUDSMS_CONFIG=$DIR/cloudsms.toml"
    echo "CLOUDSMS_DATA_DIR=$DIR/data-$r"
    echo "CLOUDSMS_DATABASE__URL=$PG/$DB"
    echo "CLOUDSMS_NATS__URL=$nats"
    echo "CLOUDSMS_CAPTCHA__HMAC_KEY=$(cat "$DIR/captcha.key")"
    echo "CLOUDSMS_GATEWAY__LISTEN=127.0.0.1:$(http_port 0 "$r")"
    echo "CLOUDSMS_GATEWAY__PUBLIC_URL=http://127.0.0.1:$(http_port 0 "$r")"
    echo "CLOUDSMS_GATEWAY__RETENTION_URL=http://127.0.0.1:$(grpc_port 2 "$r")"
    echo "CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL=http://127.0.0.1:$(grpc_port 3 "$r")"
    echo "CLOUDSMS_INGEST__LISTEN=127.0.0.1:$(http_port 1 "$r")"
    echo "CLOUDSMS_INGEST__GRPC_LISTEN=127.0.0.1:$(grpc_port 1 "$r")"
    echo "CLOUDSMS_INGEST__PUBLIC_URL=http://127.0.0.1:$(http_port 1 "$r")"
    echo "CLOUDSMS_RETENTION__LISTEN=127.0.0.1:$(http_port 2 "$r")"
    echo "CLOUDSMS_RETENTION__GRPC_LISTEN=127.0.0.1:$(grpc_port 2 "$r")"
    echo "CLOUDSMS_CAPTCHA__LISTEN=127.0.0.1:$(http_port 3 "$r")"
    echo "CLOUDSMS_CAPTCHA__GRPC_LISTEN=127.0.0.1:$(grpc_port 3 "$r")"
}

start() {
    local s r i
    for s in cloudsms "${SERVICES[@]}"; do
        [ -x "$BIN/$s" ] || die "$BIN/$s is missing: run \`cargo build --workspace --bins\` first"
    done
    running nats-0 && die "already running (scripts/cluster.sh status)"
    mkdir -p "$DIR"
    [ -f "$DIR/captcha.key" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/captcha.key"
    chmod 600 "$DIR/captcha.key"
    write_config

    local nats redis
    nats=$(program /usr/sbin/nats-server /usr/bin/nats-server)
    redis=$(program /usr/bin/redis-server /usr/local/bin/redis-server)
    for i in 0 1 2; do
        local routes=()
        for r in 0 1 2; do [ "$r" = "$i" ] || routes+=("nats://127.0.0.1:$(route_port "$r")"); done
        mkdir -p "$DIR/nats-$i"
        spawn "nats-$i" "$nats" -js -a 127.0.0.1 -p "$(nats_port "$i")" -n "n$i" -sd "$DIR/nats-$i" \
            --cluster_name cloudsms --cluster "nats://127.0.0.1:$(route_port "$i")" \
            --routes "$(IFS=,; echo "${routes[*]}")"
    done
    # Each node its own folder: a replica's resync snapshot (dump.rdb) is
    # loaded by whichever node starts there next.
    mkdir -p "$DIR/redis-0" "$DIR/redis-1"
    spawn redis-0 "$redis" --port "$(redis_port 0)" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR/redis-0"
    spawn redis-1 "$redis" --port "$(redis_port 1)" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR/redis-1" \
        --replicaof 127.0.0.1 "$(redis_port 0)"
    for i in 0 1 2; do
        printf 'port %s\nbind 127.0.0.1\ndaemonize no\nsentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\n' \
            "$(sentinel_port "$i")" "$MASTER_NAME" "$(redis_port 0)" "$MASTER_NAME" "$MASTER_NAME" >"$DIR/sentinel-$i.conf"
        spawn "sentinel-$i" "$redis" "$DIR/sentinel-$i.conf" --sentinel
    done
    for i in 0 1 2; do wait_port "$(nats_port "$i")"; wait_port "$(sentinel_port "$i")"; done
    wait_port "$(redis_port 0)"
    wait_port "$(redis_port 1)"

    if command -v psql >/dev/null; then
        psql -q "$PG/postgres" -tc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
            psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
    fi
    # JetStream needs its meta leader before the first stream is made.
    sleep 2
    (
        # shellcheck disable=SC2046
        export $(replica_env 0)
        "$BIN/cloudsms" migrate >>"$DIR/cloudsms.log" 2>&1
    ) || die "cloudsms migrate failed (see $DIR/cloudsms.log)"
    for r in 0 1; do
        for i in "${!SERVICES[@]}"; do
            s=${SERVICES[$i]}
            # shellcheck disable=SC2046
            spawn "$s-$r" env $(replica_env "$r") RUST_LOG=${RUST_LOG:-info} "$BIN/$s"
        done
    done
    for r in 0 1; do
        for i in "${!SERVICES[@]}"; do wait_port "$(http_port "$i" "$r")"; done
    done
    status
}

stop() {
    local f name
    shopt -s nullglob
    # Services first, then what they use.
    for name in "${SERVICES[@]/%/-0}" "${SERVICES[@]/%/-1}" sentinel-0 sentinel-1 sentinel-2 \
        redis-1 redis-0 nats-0 nats-1 nats-2; do
        f=$DIR/$name.pid
        [ -f "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
    echo "stopped (state and logs stay in $DIR)"
}

status() {
    local name port i r
    line() {
        local state=down
        running "$1" && state=up
        printf '  %-24s %-4s %s\n' "$1" "$state" "$2"
    }
    echo "cluster in $DIR (logs: $DIR/<name>.log)"
    for i in 0 1 2; do line "nats-$i" "nats://127.0.0.1:$(nats_port "$i")"; done
    line redis-0 "redis://127.0.0.1:$(redis_port 0) (master at start)"
    line redis-1 "redis://127.0.0.1:$(redis_port 1) (replica at start)"
    for i in 0 1 2; do line "sentinel-$i" "127.0.0.1:$(sentinel_port "$i") (master name $MASTER_NAME)"; done
    for r in 0 1; do
        for i in "${!SERVICES[@]}"; do
            port=$(http_port "$i" "$r")
            if [ "$i" = 0 ]; then
                line "${SERVICES[$i]}-$r" "http://127.0.0.1:$port"
            else
                line "${SERVICES[$i]}-$r" "http://127.0.0.1:$port (gRPC 127.0.0.1:$(grpc_port "$i" "$r"))"
            fi
        done
    done
    echo "nats.url for tools: $(nats_urls)"
    echo "database: $PG/$DB"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: scripts/cluster.sh start|stop|status" ;;
esac
