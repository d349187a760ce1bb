#!/usr/bin/env bash
# Tests of the deployment artefacts: charts/cloudsms (helm lint --strict,
# render, kubernetes-validate --strict, properties), deploy/compose.yaml and
# deploy/Dockerfile. No cluster, no container engine, no helm binary needed.
#
#   bash scripts/chart.sh            # install the venv when needed, run the tests
#   bash scripts/chart.sh readme     # regenerate the values table of charts/cloudsms/README.md
#   bash scripts/chart.sh -k lint    # extra arguments go to pytest
#
# The venv lives in $CHART_VENV (default /var/tmp/cloudsms-chart-venv) and is
# rebuilt when tests/chart/requirements.txt changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHART_VENV:-/var/tmp/cloudsms-chart-venv}"
REQS="$ROOT/tests/chart/requirements.txt"
STAMP="$VENV/.requirements.sha256"

die() {
    printf 'chart.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

ensure_venv() {
    local want
    want="$(sha256sum "$REQS" | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 is required"
    printf 'chart.sh: installing %s into %s\n' "$REQS" "$VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" ||
        die "pip install -r $REQS failed"
    printf '%s\n' "$want" >"$STAMP"
}

ensure_venv
# promtool (Debian's prometheus package) checks and unit-tests the alert rules.
if ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        printf 'chart.sh: installing promtool (Debian package prometheus)\n'
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
            die "apt-get install prometheus failed"
    else
        die "promtool is missing: apt-get install prometheus (as root)"
    fi
fi
# helm-python-sdk loads Helm's Go SDK (libhelm_c) with ctypes: fail loudly,
# never skip, when it cannot.
"$VENV/bin/python" -c 'import helm_python; helm_python.helm_sdk_version()' ||
    die "helm-python-sdk cannot load its native Helm library; the chart tests cannot run"

cd "$ROOT"
# no __pycache__ in the work tree
export PYTHONDONTWRITEBYTECODE=1
if [ "${1:-}" = "readme" ]; then
    exec "$VENV/bin/python" tests/chart/values_table.py --write
fi
# -p no:cacheprovider: leave no .pytest_cache in the work tree
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -ra tests/chart "$@"
