#!/usr/bin/env bash
# Installs the providers' official SDKs (tests/oracles/requirements.txt) into a
# virtualenv outside the clone, reused while the requirements do not change.
# Prints nothing but progress; the tests find the interpreter through
# ORACLE_PYTHON (the Makefile exports it).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${ORACLES_VENV:-/var/tmp/cloudsms-oracles}"
req=tests/oracles/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "oracles: up to date in $venv"
    exit 0
fi

python=$(command -v python3 || true)
if [ -z "$python" ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
        python=$(command -v python3)
    else
        echo "oracles: python3 is missing; install python3 and python3-venv" >&2
        exit 1
    fi
fi

rm -rf "$venv"
if ! "$python" -m venv "$venv" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
    else
        echo "oracles: python3 -m venv failed; install python3-venv" >&2
        exit 1
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
echo "oracles: installed in $venv"
