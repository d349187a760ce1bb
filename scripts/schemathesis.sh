#!/usr/bin/env bash
# Checks the gateway's JSON API against its own OpenAPI document
# (/api/openapi.json) with schemathesis: starts `cloudsms all --demo` on free
# loopback ports with embedded defaults (SQLite in a temporary folder,
# in-process bus and cache, the crawler gate off, an operator token so the
# admin API is on and reached with it), runs every check with a bounded
# number of examples (settings in scripts/schemathesis.toml), and stops the
# site.
#
#   scripts/schemathesis.sh [extra schemathesis arguments]     (make schemathesis)
#
# SCHEMATHESIS_VENV          virtualenv (default /var/tmp/cloudsms-schemathesis-venv)
# SCHEMATHESIS_MAX_EXAMPLES  examples per operation and phase (default 60)
# SCHEMATHESIS_SEED          fixed seed (default: a random one, printed)
# BUILD_LOCK                 a lock file to hold around cargo (shared build machines)
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

version=4.32.5
venv=${SCHEMATHESIS_VENV:-/var/tmp/cloudsms-schemathesis-venv}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-60}
seed=${SCHEMATHESIS_SEED:-$((RANDOM * 32768 + RANDOM))}

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
    echo "==> installing schemathesis $version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo_locked() {
    if [ -n "${BUILD_LOCK:-}" ]; then
        flock "$BUILD_LOCK" cargo "$@"
    else
        cargo "$@"
    fi
}
cargo_locked build --quiet -p cloudsms --bin cloudsms
target_dir=${CARGO_TARGET_DIR:-$(cargo_locked metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}
bin=$target_dir/debug/cloudsms

work=$(mktemp -d "${TMPDIR:-/tmp}/cloudsms-schemathesis.XXXXXX")
site_pid=""
cleanup() {
    if [ -n "$site_pid" ] && kill -0 "$site_pid" 2>/dev/null; then
        kill -TERM "$site_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$site_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$site_pid" 2>/dev/null || true
        wait "$site_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Seven ports free on loopback right now.
read -r gateway ingest ingest_grpc captcha captcha_grpc retention retention_grpc < <(
    python3 -c '
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()'
)

# Only our settings: every inherited CLOUDSMS_ variable is configuration.
mapfile -t inherited < <(compgen -e | grep -E '^(CLOUDSMS_|OTEL_)' || true)
unset_args=()
for name in "${inherited[@]}"; do
    unset_args+=(-u "$name")
done
# The operator API is on, so schemathesis reaches it (with this token).
admin_token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
site_env=(
    env "${unset_args[@]}"
    CLOUDSMS_GATEWAY__ADMIN_TOKEN="$admin_token"
    CLOUDSMS_DATA_DIR="$work/data"
    CLOUDSMS_GATEWAY__GATE__ENABLED=false
    CLOUDSMS_GATEWAY__LISTEN="127.0.0.1:$gateway"
    CLOUDSMS_INGEST__LISTEN="127.0.0.1:$ingest"
    CLOUDSMS_INGEST__GRPC_LISTEN="127.0.0.1:$ingest_grpc"
    CLOUDSMS_CAPTCHA__LISTEN="127.0.0.1:$captcha"
    CLOUDSMS_CAPTCHA__GRPC_LISTEN="127.0.0.1:$captcha_grpc"
    CLOUDSMS_RETENTION__LISTEN="127.0.0.1:$retention"
    CLOUDSMS_RETENTION__GRPC_LISTEN="127.0.0.1:$retention_grpc"
)
# From the temporary folder, so no cloudsms.toml of the clone is read.
(cd "$work" && exec "${site_env[@]}" "$bin" all --demo) >"$work/site.log" 2>&1 &
site_pid=$!

site="http://127.0.0.1:$gateway"
for _ in $(seq 300); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$site/readyz" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$site_pid" 2>/dev/null; then
        cat "$work/site.log" >&2
        echo "cloudsms all --demo exited before it was ready" >&2
        exit 1
    fi
    sleep 0.2
done
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$site/readyz" || {
    tail -n 40 "$work/site.log" >&2
    echo "cloudsms all --demo was not ready after a minute" >&2
    exit 1
}

echo "==> schemathesis $version against $site/api/openapi.json (seed $seed, $max_examples examples)"
set +e
# `timeout` only bounds a hung run; the examples bound a normal one.
(cd "$work" && timeout --signal=INT 240 "$venv/bin/schemathesis" \
    --config-file "$repo/scripts/schemathesis.toml" \
    run "$site/api/openapi.json" \
    --header "Authorization: Bearer $admin_token" \
    --checks all \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    "$@")
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "==> the site's log (last 40 lines):" >&2
    tail -n 40 "$work/site.log" >&2
    echo "==> schemathesis failed (exit $rc); rerun with SCHEMATHESIS_SEED=$seed scripts/schemathesis.sh" >&2
    exit "$rc"
fi
