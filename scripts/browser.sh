#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium (when missing and
# root) and playwright-core from npm (tests/browser/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "browser: installing chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "browser: chromium is missing; install Debian's chromium package" >&2
        exit 1
    fi
fi
if ! command -v node >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "browser: node is missing; install nodejs and npm" >&2
        exit 1
    fi
fi
cd tests/browser
if [ ! -f node_modules/.installed ] || [ package-lock.json -nt node_modules/.installed ]; then
    npm ci --silent --no-audit --no-fund
    touch node_modules/.installed
fi
echo "browser: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core ready"
