"""deploy/: the compose file parses and its references resolve (there is no
container engine here), and the Dockerfile keeps its promises."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from conftest import DEPLOY, HTTP_PORTS, LISTENS, ROOT, SERVICES

INFRA = ("nats", "redis", "postgres")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    doc = yaml.safe_load(compose_text)
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    return doc


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_expected_services(compose):
    services = compose["services"]
    assert set(services) == {*INFRA, "jaeger", "migrate", *SERVICES}
    assert "-js" in services["nats"]["command"]
    for name in INFRA:
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "16686:16686" in " ".join(services["jaeger"]["ports"])
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"


def test_references_resolve(compose):
    services = compose["services"]
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep in deps if isinstance(deps, (list, dict)) else []:
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol["source"]
            if not source.startswith((".", "/")):
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
        for env_file in svc.get("env_file", []):
            path = env_file if isinstance(env_file, str) else env_file["path"]
            assert (DEPLOY / (path + ".example")).exists() or (DEPLOY / path).exists(), path
        if "build" in svc:
            ctx = (DEPLOY / svc["build"]["context"]).resolve()
            assert (ctx / svc["build"]["dockerfile"]).is_file()
    used = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", []) if isinstance(v, str)}
    assert declared_volumes <= used, f"declared but unused volumes: {declared_volumes - used}"


def test_cloudsms_services_wait_for_infra_and_migrations(compose):
    services = compose["services"]
    for name in SERVICES:
        svc = services[name]
        assert svc["command"] == [name]
        deps = svc["depends_on"]
        for infra in INFRA:
            assert deps[infra]["condition"] == "service_healthy", (name, infra)
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        env = svc["environment"]
        for key, value in LISTENS.items():
            assert env[key] == value, (name, key)
        assert env["CLOUDSMS_NATS__URL"] == "nats://nats:4222"
        assert env["CLOUDSMS_REDIS__URL"] == "redis://redis:6379"
        assert env["CLOUDSMS_DATABASE__URL"].startswith("postgres://")
        assert env["CLOUDSMS_TELEMETRY__OTLP_ENDPOINT"] == "http://jaeger:4317"
        assert env["CLOUDSMS_TELEMETRY__LOG_FORMAT"] == "json"
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]


def test_cloudsms_services_check_their_own_readiness_without_a_shell(compose):
    """The image is distroless: `cloudsms healthcheck` (exit 0 on 2xx, else 1)
    fetches each service's own /readyz, in exec form."""
    services = compose["services"]
    for name in SERVICES:
        check = services[name]["healthcheck"]
        assert check["test"] == [
            "CMD", "cloudsms", "healthcheck", f"http://127.0.0.1:{HTTP_PORTS[name]}/readyz"
        ], name
        assert check["timeout"] and check["interval"] and check["start_period"], name
    assert "healthcheck" not in services["migrate"], "a one-shot job has no health"


def test_every_interpolated_variable_is_in_env_example(compose_text):
    defined = env_example()
    for match in re.finditer(r"\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}", compose_text):
        name, modifier = match.group(1), match.group(2) or ""
        if not modifier.startswith((":-", "-")):
            assert name in defined, f"${{{name}}} is required by compose.yaml but not in .env.example"


def test_env_example_uses_obvious_placeholders():
    defined = env_example()
    for key in ("POSTGRES_PASSWORD", "CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET",
                "CLOUDSMS_INGEST__GRPC_TOKEN", "CLOUDSMS_CAPTCHA__HMAC_KEY"):
        assert defined[key].startswith("change-me"), key
    assert all(k.startswith(("CLOUDSMS_", "POSTGRES_")) for k in defined)


def test_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "rust:1.95-bookworm" in text
    assert "gcr.io/distroless/cc-debian12:nonroot" in text
    assert re.search(r"^USER 65532(:65532)?$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["cloudsms"\]$', text, re.M)
    assert "cargo build --release --locked --bins" in text
    exposed = set(re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split())
    assert exposed == {"8080", "8081", "50051", "8082", "50052", "8083", "50053"}
    for binary in ("cloudsms", *SERVICES):
        assert binary in text
    for key, value in LISTENS.items():
        assert f"{key}={value}" in text
    # the dependency layer copies every workspace member's manifest
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    # the patched crates ([patch.crates-io] paths) are in before the first build
    first_build = text.index("cargo build --release --locked --bins")
    for name, spec in manifest.get("patch", {}).get("crates-io", {}).items():
        top = spec["path"].split("/")[0]
        copied = re.search(rf"^COPY {re.escape(top)}\s", text, re.M)
        assert copied and copied.start() < first_build, (
            f"deploy/Dockerfile does not copy {top} (patch of {name}) before the dependency build"
        )
    members = manifest["workspace"]["members"]
    for member in members:
        assert re.search(rf"^COPY {re.escape(member)}/Cargo\.toml\s", text, re.M), (
            f"deploy/Dockerfile does not copy {member}/Cargo.toml into the dependency layer"
        )
