#!/usr/bin/env bash
# Instructions message-ingest executes per accepted Twilio webhook, counted
# by valgrind's callgrind: an A/B measure that the machine's speed does not
# move (`make bench`'s rates and CPU times vary by 10-20 % between runs on a
# shared machine; this count by well under 1 %). Counts user-space
# instructions only: the kernel's share (TCP on loopback) is not in it.
#
#   bench/callgrind_ingest.sh BIN_DIR [N]
#
# BIN_DIR holds release builds of message-ingest, cloudsms and bench_ingest
# (e.g. a copy of target/release before a change, and after). Runs against
# the local Postgres, NATS and Redis (scripts/services.sh), with a database,
# bus prefix and cache keys of its own. 1,000 webhooks warm up, then N
# (5,000) are counted. PERSISTER=true counts the persister's work too (it
# stores the same messages meanwhile). Prints the count per webhook; the
# callgrind file stays in the printed directory for callgrind_annotate.
set -euo pipefail
BIN_DIR="$(cd "$1" && pwd)"
N="${2:-5000}"
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "callgrind_ingest: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
ID="$RANDOM$RANDOM"
DB="callgrind$ID"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GRPC_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
WORK="$(mktemp -d /tmp/callgrind-ingest.XXXXXX)"
NUMBER="+447700900123"
createdb -h 127.0.0.1 -U postgres "$DB"
trap 'dropdb -h 127.0.0.1 -U postgres "$DB" 2>/dev/null || true' EXIT
for var in $(compgen -e | grep '^CLOUDSMS_' || true); do unset "$var"; done
export RUST_LOG=warn CLOUDSMS_DATA_DIR="$WORK" \
    CLOUDSMS_NATS__URL="${NATS_URL:-nats://127.0.0.1:4222}" CLOUDSMS_REDIS__URL="${REDIS_URL:-redis://127.0.0.1:6379}" \
    CLOUDSMS_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB" \
    CLOUDSMS_BUS__PREFIX="callgrind$ID" CLOUDSMS_CACHE__KEY_PREFIX="callgrind:$ID:" \
    CLOUDSMS_INGEST__LISTEN="127.0.0.1:$PORT" CLOUDSMS_INGEST__GRPC_LISTEN="127.0.0.1:$GRPC_PORT" \
    CLOUDSMS_INGEST__PUBLIC_URL="http://127.0.0.1:$PORT" \
    CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN="callgrind-$ID" \
    CLOUDSMS_INGEST__PERSISTER="${PERSISTER:-false}"
(cd "$WORK" && "$BIN_DIR/cloudsms" migrate >/dev/null && "$BIN_DIR/cloudsms" numbers add "$NUMBER" --label callgrind >/dev/null)
INGEST_URL="http://127.0.0.1:$PORT" TWILIO_AUTH_TOKEN="callgrind-$ID" BENCH_NUMBER="$NUMBER" \
    "$BIN_DIR/bench_ingest" webhooks "$WORK/hooks" $((1000 + N)) >/dev/null
(cd "$WORK" && exec valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$BIN_DIR/message-ingest" 2>"$WORK/valgrind.log") &
VALGRIND=$!
for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
    sleep 0.2
done
python3 bench/post_webhooks.py "$PORT" /webhooks/twilio "$WORK/hooks" 0 1000 16
sleep 1
callgrind_control -z "$VALGRIND" >/dev/null 2>&1
python3 bench/post_webhooks.py "$PORT" /webhooks/twilio "$WORK/hooks" 1000 "$N" 16
if [ "${PERSISTER:-false}" = true ]; then
    # Counted once every message is stored.
    for _ in $(seq 1 600); do
        [ "$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc 'SELECT count(*) FROM messages')" -ge $((1000 + N)) ] && break
        sleep 0.5
    done
fi
sleep 2
callgrind_control -d "$VALGRIND" >/dev/null 2>&1
sleep 1
kill -TERM "$VALGRIND"
wait "$VALGRIND" || true
DUMP="$(ls -t "$WORK"/callgrind.out.* | head -1)"
TOTAL="$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')"
echo "message-ingest ($BIN_DIR): $((TOTAL / N)) instructions per webhook${PERSISTER:+ (persister: $PERSISTER)}; callgrind data: $DUMP"
