"""Shared fixtures: the chart rendered offline through helm-python-sdk
(Helm's Go SDK via libhelm_c, no helm binary), and the compose file."""

from __future__ import annotations

import copy
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "cloudsms"
# The chart's production values, and one site's values layered over them.
PRODUCTION = CHART / "values-production.yaml"
PRODUCTION_SITE = pathlib.Path(__file__).resolve().parent / "values-production-site.yaml"
PLATFORM = pathlib.Path(__file__).resolve().parent / "values-platform.yaml"
DEPLOY = ROOT / "deploy"
RELEASE = "cloudsms"
NAMESPACE = "sms"
SERVICES = ("gateway", "message-ingest", "captcha-verification", "log-retention")
HTTP_PORTS = {"gateway": 8080, "message-ingest": 8081, "captcha-verification": 8082, "log-retention": 8083}
# The listen addresses the chart's ConfigMap and the compose file both set.
LISTENS = {
    "CLOUDSMS_GATEWAY__LISTEN": "0.0.0.0:8080",
    "CLOUDSMS_INGEST__LISTEN": "0.0.0.0:8081",
    "CLOUDSMS_INGEST__GRPC_LISTEN": "0.0.0.0:50051",
    "CLOUDSMS_CAPTCHA__LISTEN": "0.0.0.0:8082",
    "CLOUDSMS_CAPTCHA__GRPC_LISTEN": "0.0.0.0:50052",
    "CLOUDSMS_RETENTION__LISTEN": "0.0.0.0:8083",
    "CLOUDSMS_RETENTION__GRPC_LISTEN": "0.0.0.0:50053",
}

try:
    import helm_python
    from helm_python import chart as helm_chart
except Exception as error:  # pragma: no cover - the environment is broken
    raise pytest.UsageError(
        f"helm-python-sdk cannot be loaded ({error}); run scripts/chart.sh, which installs "
        "tests/chart/requirements.txt into a venv"
    ) from error


def merged(base: dict, over: dict) -> dict:
    """`over` layered on `base` as Helm layers `-f` files: maps merge key by
    key, anything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def chart_production_values() -> dict:
    """charts/cloudsms/values-production.yaml alone."""
    return yaml.safe_load(PRODUCTION.read_text())


def production_values() -> dict:
    """A production install: the chart's production values, then a site's."""
    return merged(chart_production_values(), yaml.safe_load(PRODUCTION_SITE.read_text()))


def platform_values() -> dict:
    return yaml.safe_load(PLATFORM.read_text())


# Rendering here is offline: `lookup` finds nothing, as under `helm template`,
# so a render that would generate the captcha and gate keys fails unless
# secrets.allowGenerated is on. "default" is the chart's defaults with that
# switch on, i.e. what `helm install` against a cluster renders (where the
# keys are looked up, not refused); the secret rules are tested on their own.
ALLOW_GENERATED = {"secrets": {"allowGenerated": True}}
VALUE_SETS = {"default": ALLOW_GENERATED, "production": production_values, "platform": platform_values}


def values_for(name: str) -> dict:
    source = VALUE_SETS[name]
    return source() if callable(source) else copy.deepcopy(source)


def render(values: dict | None = None, *, allow_generated: bool = True) -> list[dict]:
    """Every object the chart renders for an install, hooks and tests included.
    `allow_generated` turns secrets.allowGenerated on unless `values` set it."""
    values = copy.deepcopy(values or {})
    if allow_generated:
        values.setdefault("secrets", {}).setdefault("allowGenerated", True)
    with helm_chart.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {}).setdefault("annotations", {})
                doc["_template"] = path
                objects.append(doc)
    return objects


@pytest.fixture(scope="session", params=sorted(VALUE_SETS))
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(values_for(request.param))


@pytest.fixture(scope="session")
def default_objects() -> list[dict]:
    return render({})


@pytest.fixture(scope="session")
def platform_objects() -> list[dict]:
    return render(platform_values())


@pytest.fixture(scope="session")
def production_objects() -> list[dict]:
    return render(production_values())


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def component(obj: dict) -> str | None:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["spec"]
    return obj["spec"]["template"]["spec"]


def pytest_sessionfinish(session, exitstatus):
    """A skipped or deselected-by-error test is a failure here: these tests
    are the only check of the deployment artefacts."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(f"chart tests: {skipped} test(s) skipped; failing the run", red=True)
