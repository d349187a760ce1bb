#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a bounded time;
# fails on the first crash, printing where its input was written.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]      (make fuzz)
#
# FUZZ_SECONDS       seconds per target when no argument is given (default 30)
# FUZZ_SANITIZER     address (default) or none
# FUZZ_TARGET_DIR    cargo target dir of the fuzz build (default /var/tmp/cloudsms-fuzz-target;
#                    separate from the workspace's: the flags differ)
# FUZZ_CORPUS_DIR    keep the corpus the fuzzer grows here, one folder per target,
#                    across runs (default: a temporary folder; the seeds in
#                    fuzz/corpus/<target> are read, never written)
# BUILD_LOCK         a lock file to hold around cargo (shared build machines)
# FUZZ_ARGS          extra libFuzzer arguments, e.g. "-jobs=2 -workers=2"
#
# Needs only the stable toolchain: cargo-fuzz passes nightly -Z flags, which
# RUSTC_BOOTSTRAP=1 lets stable rustc accept. cargo-fuzz is installed when missing.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-30}}
[ "$#" -gt 0 ] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi
sanitizer=${FUZZ_SANITIZER:-address}
target_dir=${FUZZ_TARGET_DIR:-/var/tmp/cloudsms-fuzz-target}
cargo_fuzz_version=0.13.2
triple=$(rustc -vV | sed -n 's/^host: //p')

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

cargo_locked() {
    if [ -n "${BUILD_LOCK:-}" ]; then
        flock "$BUILD_LOCK" cargo "$@"
    else
        cargo "$@"
    fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/cloudsms-fuzz.XXXXXX")
child=""
cleanup() {
    if [ -n "$child" ]; then
        kill "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz $cargo_fuzz_version"
    cargo_locked install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "==> building ${#targets[@]} fuzz targets (sanitizer: $sanitizer, target dir: $target_dir)"
t0=$SECONDS
if [ "$#" -gt 0 ]; then
    # `cargo fuzz build` takes one target or all of them.
    for target in "${targets[@]}"; do
        cargo_locked fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir" "$target"
    done
else
    cargo_locked fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir"
fi
for target in "${targets[@]}"; do
    if [ ! -x "$target_dir/$triple/release/$target" ]; then
        echo "fuzz target $target was not built (see the build output above)" >&2
        exit 1
    fi
done
echo "build finished in $((SECONDS - t0))s"

# libFuzzer's own defaults are fine; these bound time and memory and keep
# the leak checker off (the in-process service's statics live to the end).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:detect_odr_violation=0}
failed=()
for target in "${targets[@]}"; do
    corpus=${FUZZ_CORPUS_DIR:+$FUZZ_CORPUS_DIR/$target}
    corpus=${corpus:-$work/corpus/$target}
    artifacts=fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts" "$work/tmp/$target"
    echo "==> $target: ${seconds}s"
    before=$(find "$artifacts" -type f | wc -l)
    set +e
    # TMPDIR: where the webhook targets keep their SQLite database.
    # shellcheck disable=SC2086
    TMPDIR="$work/tmp/$target" "$target_dir/$triple/release/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" "fuzz/corpus/$target" \
        >"$work/$target.log" 2>&1 &
    child=$!
    wait "$child"
    rc=$?
    child=""
    set -e
    grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$target.log" || true
    if [ "$rc" -ne 0 ]; then
        tail -n 60 "$work/$target.log"
        echo "==> $target FAILED (exit $rc); inputs that crash it:" >&2
        find "$artifacts" -type f -newer "$work" -printf '    %p\n' >&2 || true
        echo "    reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $target <file>" >&2
        failed+=("$target")
    elif [ "$(find "$artifacts" -type f | wc -l)" -ne "$before" ]; then
        echo "==> $target left new files in $artifacts" >&2
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
echo "==> fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash"
