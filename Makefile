# cloudsms: `make run` serves the demo site, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
export ORACLE_PYTHON ?= $(or $(ORACLES_VENV),/var/tmp/cloudsms-oracles)/bin/python

.PHONY: help run build release test test-rust test-browser lint fmt bench chaos chaos-cluster fuzz schemathesis services oracles browser chart

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## Run the whole site in one process on embedded defaults, with demo data, at http://127.0.0.1:8080
	$(CARGO) run -p cloudsms --bin cloudsms -- all --demo

build: ## Build every binary (debug)
	$(CARGO) build --workspace --bins

release: ## Build every binary (release)
	$(CARGO) build --workspace --bins --release

services: ## Start NATS (JetStream), Redis and Postgres on loopback when not up (installs them when root)
	bash scripts/services.sh

oracles: ## Install the providers' SDKs used as signature oracles by the tests
	bash scripts/oracles.sh

browser: ## Install chromium (Debian) and playwright-core (npm) for the browser tests
	bash scripts/browser.sh

test: services oracles browser ## Run every test: unit, end-to-end in embedded and distributed mode, browser, chart, OpenAPI (schemathesis)
	$(MAKE) test-rust
	$(MAKE) test-browser
	$(MAKE) chart
	$(MAKE) schemathesis

chart: ## Test the Helm chart, compose file and Dockerfile (no cluster needed; venv in /var/tmp/cloudsms-chart-venv)
	bash scripts/chart.sh

test-rust: ## Rust tests only (needs `make services oracles`)
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

test-browser: ## Browser tests in headless chromium (needs `make services browser` and a debug build)
	cd tests/browser && CARGO_TARGET_DIR="$$($(CARGO) metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" npm test

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

chaos: services ## Chaos: 20,000 webhooks and 20,000 log events, paced, through kills and restarts (one process per service, then the cluster run); nothing lost or doubled
	$(CARGO) build --workspace --bins
	$(CARGO) run -q -p cloudsms-tests --bin chaos
	$(CARGO) run -q -p cloudsms-tests --bin chaos_cluster

chaos-cluster: services ## Chaos on a cluster: 3 NATS nodes, Redis + replica + 3 Sentinels, 2 of each service; the stream leader, a gateway, an ingest and the Redis master killed under load
	$(CARGO) build --workspace --bins
	$(CARGO) run -q -p cloudsms-tests --bin chaos_cluster

fuzz: ## Fuzz the webhook parsers and signature checks, E.164, OTP and captcha parsers (cargo-fuzz; FUZZ_SECONDS per target, default 30)
	bash scripts/fuzz.sh

schemathesis: ## Check the JSON API against /api/openapi.json with schemathesis (venv in /var/tmp/cloudsms-schemathesis-venv)
	bash scripts/schemathesis.sh

bench: services ## Benchmarks (release build; loopback only): tables on stdout and in bench/results/<date>.md
	bash bench/run.sh
