#!/usr/bin/env bash
# `make bench`: builds the release benchmark binaries, runs every benchmark
# (loopback only, bounded), prints the tables and writes them with the
# machine's description to bench/results/<date>.md.
# Needs Redis on TEST_REDIS_URL (`make services` starts one) and
# redis-benchmark (Debian redis-tools, installed with redis-server).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
OUT="bench/results/$(date -u +%Y-%m-%d).md"

command -v redis-benchmark >/dev/null || {
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q redis-tools >/dev/null; else
        echo "bench: redis-benchmark missing (apt-get install redis-tools)" >&2; exit 1; fi
}

echo "bench: building release binaries (a few minutes the first time)" >&2
"$CARGO" build --release -q -p cloudsms-tests --bin bench_captcha
TARGET="$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

machine() {
    local cpu mem
    cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "$(nproc) cores ($cpu), $mem, $(uname -sr), $(redis-server --version | awk '{print $3}' | tr -d 'v='), node $(node --version)"
}

{
    echo "# Benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(machine). Every ratio is against a baseline measured in the same run."
    echo
    echo "## Captcha verification"
    echo
    "$TARGET/release/bench_captcha"
    echo
    echo "## Proof-of-work solve time (the gate's browser solver)"
    echo
    node bench/solve.mjs
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "bench: written to $OUT" >&2
