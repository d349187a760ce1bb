#!/usr/bin/env bash
# Make sure the backing services used by the tests and by the distributed
# mode are reachable on their standard loopback ports:
#
#   NATS (with JetStream)  127.0.0.1:4222
#   Redis                  127.0.0.1:6379
#   PostgreSQL             127.0.0.1:5432  (postgres://postgres@127.0.0.1:5432/postgres, no password)
#
# Idempotent: a service that already answers is left alone.  As root, missing
# Debian packages are installed and stopped services are started; as an
# ordinary user the script only reports what is missing and exits 1.
set -euo pipefail

readonly NATS_PORT=4222
readonly REDIS_PORT=6379
readonly PG_PORT=5432
readonly WAIT_SECS=30

readonly NATS_STORE=/var/lib/nats-server
readonly NATS_LOG=/var/log/nats-server.log
readonly REDIS_DIR=/var/lib/redis
readonly REDIS_LOG=/var/log/redis/ci.log

# Never prompt for anything (CI has no stdin).
export PGCONNECT_TIMEOUT=3

log() { printf '%s\n' "$*"; }
warn() { printf 'services.sh: %s\n' "$*" >&2; }
die() {
    printf 'services.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# --------------------------------------------------------------------------
# probes
# --------------------------------------------------------------------------

tcp_up() {
    timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" >/dev/null 2>&1
}

nats_up() { tcp_up "$NATS_PORT"; }

redis_up() { tcp_up "$REDIS_PORT"; }

redis_ping() {
    have redis-cli || return 0
    [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

pg_up() {
    if have pg_isready; then
        pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
    else
        tcp_up "$PG_PORT"
    fi
}

# Can the tests connect as postgres@127.0.0.1 without a password?
pg_auth_ok() {
    timeout 10 psql -X -w -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -tAc 'select 1' </dev/null >/dev/null 2>&1
}

# wait_for NAME PROBE [HINT]: poll PROBE for up to WAIT_SECS seconds.
wait_for() {
    local name=$1 probe=$2 hint=${3:-}
    local deadline=$((SECONDS + WAIT_SECS))
    while ! "$probe"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "$name did not come up within ${WAIT_SECS}s${hint:+ ($hint)}"
        fi
        sleep 1
    done
}

# --------------------------------------------------------------------------
# binaries / packages
# --------------------------------------------------------------------------

nats_bin() {
    if [ -x /usr/sbin/nats-server ]; then
        echo /usr/sbin/nats-server
    else
        command -v nats-server 2>/dev/null || true
    fi
}

pg_server_installed() {
    have pg_ctlcluster && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# --------------------------------------------------------------------------
# PostgreSQL cluster helpers (Debian postgresql-common layout)
# --------------------------------------------------------------------------

# Prints "<version> <name>" of the cluster to use: the one configured for
# port 5432 if any, otherwise the first one found.  Prints nothing if there
# is no cluster.
pg_cluster() {
    local line=""
    if have pg_lsclusters; then
        line=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }' || true)
        if [ -z "$line" ]; then
            line=$(pg_lsclusters -h 2>/dev/null | awk 'NF >= 2 { print $1, $2; exit }' || true)
        fi
    fi
    if [ -z "$line" ]; then
        local d
        for d in /etc/postgresql/*/main; do
            [ -d "$d" ] || continue
            line="$(basename "$(dirname "$d")") main"
            break
        done
    fi
    printf '%s' "$line"
}

pg_ctl() { # pg_ctl VERSION NAME ACTION
    pg_ctlcluster --skip-systemctl-redirect "$1" "$2" "$3"
}

# Make sure listen_addresses (if set explicitly) includes localhost.
# Returns 0 if the configuration was changed (a restart is needed).
pg_ensure_listen() {
    local conf_dir=$1 value new target
    value=$(grep -hE "^[[:space:]]*listen_addresses[[:space:]]*=" \
        "$conf_dir/postgresql.conf" "$conf_dir"/conf.d/*.conf 2>/dev/null |
        tail -n 1 |
        sed -E "s/^[^=]*=[[:space:]]*'?([^'#]*)'?.*$/\1/; s/[[:space:]]+\$//" || true)
    # Not set at all: the built-in default is 'localhost'.
    [ -n "$value" ] || return 1
    case ",${value// /}," in
    *,localhost,* | *,\*,* | *,127.0.0.1,*) return 1 ;;
    esac
    new="localhost,$value"
    if [ -d "$conf_dir/conf.d" ] &&
        grep -qE "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf_dir/postgresql.conf"; then
        target="$conf_dir/conf.d/zz-cloudsms-listen.conf"
    else
        target="$conf_dir/postgresql.conf"
    fi
    log "postgres: listen_addresses = '$value' does not include localhost; setting '$new' in $target"
    printf "\n# added by cloudsms scripts/services.sh\nlisten_addresses = '%s'\n" "$new" >>"$target"
    return 0
}

# Prepend trust lines for 127.0.0.1/32 and ::1/128 to pg_hba.conf.
# Returns 0 if the file was changed.
pg_ensure_trust() {
    local hba=$1 add="" tmp l
    for l in 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust'; do
        grep -qxF "$l" "$hba" || add+="$l"$'\n'
    done
    [ -n "$add" ] || return 1
    log "postgres: enabling trust auth for 127.0.0.1/32 and ::1/128 in $hba"
    [ -e "$hba.cloudsms.bak" ] || cp -p "$hba" "$hba.cloudsms.bak"
    tmp=$(mktemp)
    { printf '# added by cloudsms scripts/services.sh (tests connect as postgres without a password)\n%s' "$add"; cat "$hba"; } >"$tmp"
    # Write in place so that owner and mode of pg_hba.conf are kept.
    cat "$tmp" >"$hba"
    rm -f "$tmp"
    return 0
}

# --------------------------------------------------------------------------
# 1. what is already running?
# --------------------------------------------------------------------------

declare -A STATUS=()

if nats_up; then
    log "nats: up"
    STATUS[nats]="already running"
fi
if redis_up; then
    log "redis: up"
    STATUS[redis]="already running"
fi
if pg_up; then
    log "postgres: up"
    STATUS[postgres]="already running"
fi

# --------------------------------------------------------------------------
# 2. install what is missing (root only)
# --------------------------------------------------------------------------

pkgs=()
down=()
if [ -z "${STATUS[nats]:-}" ]; then
    down+=(nats)
    [ -n "$(nats_bin)" ] || pkgs+=(nats-server)
fi
if [ -z "${STATUS[redis]:-}" ]; then
    down+=(redis)
    have redis-server || pkgs+=(redis-server)
fi
if [ -z "${STATUS[postgres]:-}" ]; then
    down+=(postgres)
    pg_server_installed || pkgs+=(postgresql)
fi

if ! is_root && [ "${#down[@]}" -gt 0 ]; then
    warn "not running: ${down[*]} (and this script is not running as root)"
    if [ "${#pkgs[@]}" -gt 0 ]; then
        warn "install the missing packages with:"
        warn "    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkgs[*]}"
    fi
    warn "then start the services, e.g. by running: sudo $0"
    exit 1
fi

pg_fresh_install=0
if [ "${#pkgs[@]}" -gt 0 ]; then
    have apt-get || die "missing packages (${pkgs[*]}) and apt-get is not available"
    log "installing: ${pkgs[*]}"
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}" </dev/null
    for p in "${pkgs[@]}"; do
        [ "$p" = postgresql ] && pg_fresh_install=1
    done
    # Package scripts may already have started a service.
    if [ -z "${STATUS[nats]:-}" ] && nats_up; then STATUS[nats]="started by package install"; fi
    if [ -z "${STATUS[redis]:-}" ] && redis_up; then STATUS[redis]="started by package install"; fi
    if [ -z "${STATUS[postgres]:-}" ] && pg_up; then STATUS[postgres]="started by package install"; fi
fi

# --------------------------------------------------------------------------
# 3. start what is not running
# --------------------------------------------------------------------------

# NATS with JetStream ------------------------------------------------------
if [ -z "${STATUS[nats]:-}" ]; then
    bin=$(nats_bin)
    [ -n "$bin" ] || die "nats: nats-server not found after installation"
    mkdir -p "$NATS_STORE" "$(dirname "$NATS_LOG")"
    nats_args=(-a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_STORE" -l "$NATS_LOG")
    log "nats: starting $bin ${nats_args[*]}"
    if have start-stop-daemon; then
        start-stop-daemon --start --oknodo --background --exec "$bin" -- "${nats_args[@]}"
    else
        nohup "$bin" "${nats_args[@]}" </dev/null >/dev/null 2>&1 &
        disown || true
    fi
    wait_for nats nats_up "see $NATS_LOG"
    STATUS[nats]="started"
fi

# Redis --------------------------------------------------------------------
if [ -z "${STATUS[redis]:-}" ]; then
    mkdir -p "$REDIS_DIR" "$(dirname "$REDIS_LOG")"
    redis_start() { # redis_start BIND...
        log "redis: starting redis-server (bind $*)"
        redis-server --daemonize yes --bind "$@" --port "$REDIS_PORT" \
            --save "" --appendonly no --dir "$REDIS_DIR" --logfile "$REDIS_LOG" </dev/null
    }
    started=0
    # Try with the IPv6 loopback too when the kernel has one; redis forks
    # before binding, so a bind failure shows up as a port that never answers.
    if grep -qE '^0{31}1[[:space:]]' /proc/net/if_inet6 2>/dev/null &&
        redis_start 127.0.0.1 -::1; then
        deadline=$((SECONDS + 5))
        while [ "$SECONDS" -lt "$deadline" ]; do
            if redis_up; then
                started=1
                break
            fi
            sleep 1
        done
        [ "$started" -eq 1 ] || warn "redis: not answering with '--bind 127.0.0.1 -::1', retrying with 127.0.0.1 only"
    fi
    if [ "$started" -eq 0 ]; then
        redis_start 127.0.0.1 || true
        wait_for redis redis_up "see $REDIS_LOG"
    fi
    STATUS[redis]="started"
fi
redis_ping || die "redis: 127.0.0.1:$REDIS_PORT answers but 'redis-cli ping' does not return PONG"

# PostgreSQL ---------------------------------------------------------------
cluster=""
if [ -z "${STATUS[postgres]:-}" ]; then
    cluster=$(pg_cluster)
    if [ -z "$cluster" ]; then
        ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
        [ -n "$ver" ] || die "postgres: no server version found under /usr/lib/postgresql"
        if [ "$pg_fresh_install" -eq 1 ]; then
            log "postgres: package installed but no cluster exists; creating $ver/main"
        else
            log "postgres: no cluster found; creating $ver/main"
        fi
        # Socket directory (normally created by the package / tmpfiles.d).
        install -d -o postgres -g postgres -m 2775 /var/run/postgresql
        log "postgres: pg_createcluster $ver main --start"
        pg_createcluster -p "$PG_PORT" "$ver" main --start
        cluster="$ver main"
    else
        read -r ver name <<<"$cluster"
        install -d -o postgres -g postgres -m 2775 /var/run/postgresql
        pg_ensure_listen "/etc/postgresql/$ver/$name" || true
        log "postgres: pg_ctlcluster $ver $name start"
        pg_ctl "$ver" "$name" start || warn "postgres: pg_ctlcluster $ver $name start failed"
    fi
    read -r ver name <<<"$cluster"
    wait_for postgres pg_up "see /var/log/postgresql/postgresql-$ver-$name.log"
    STATUS[postgres]="started"
fi

# Password-less access for the tests: postgres://postgres@127.0.0.1:5432/postgres
pg_note=""
if ! have psql; then
    warn "postgres: psql not found, cannot check that postgres@127.0.0.1 connects without a password"
    pg_note=", auth not checked (no psql)"
elif pg_auth_ok; then
    pg_note=", postgres@127.0.0.1 ok"
else
    is_root || die "postgres: cannot connect as postgres@127.0.0.1:$PG_PORT without a password; add 'host all all 127.0.0.1/32 trust' and 'host all all ::1/128 trust' at the top of pg_hba.conf and reload (or rerun this script as root)"
    [ -n "$cluster" ] || cluster=$(pg_cluster)
    [ -n "$cluster" ] || die "postgres: cannot connect as postgres@127.0.0.1:$PG_PORT without a password, and no local cluster configuration was found to fix"
    read -r ver name <<<"$cluster"
    conf_dir="/etc/postgresql/$ver/$name"
    [ -f "$conf_dir/pg_hba.conf" ] || die "postgres: $conf_dir/pg_hba.conf not found"
    restart=0
    pg_ensure_trust "$conf_dir/pg_hba.conf" || true
    if pg_ensure_listen "$conf_dir"; then restart=1; fi
    if [ "$restart" -eq 1 ]; then
        log "postgres: restarting $ver/$name"
        pg_ctl "$ver" "$name" restart
    else
        log "postgres: reloading $ver/$name"
        pg_ctl "$ver" "$name" reload
    fi
    wait_for postgres pg_up "see /var/log/postgresql/postgresql-$ver-$name.log"
    wait_for "postgres (password-less login as postgres@127.0.0.1)" pg_auth_ok "check $conf_dir/pg_hba.conf"
    pg_note=", trust auth configured"
fi

# --------------------------------------------------------------------------
# 4. summary
# --------------------------------------------------------------------------

log "nats: up on 127.0.0.1:$NATS_PORT (${STATUS[nats]}; JetStream expected)"
log "redis: up on 127.0.0.1:$REDIS_PORT (${STATUS[redis]})"
log "postgres: up on 127.0.0.1:$PG_PORT (${STATUS[postgres]}$pg_note)"
