"""The chart's production values (charts/cloudsms/values-production.yaml):
a JetStream cluster with stream replicas 3, Redis through Sentinel, two or
more replicas of every service spread over nodes and zones with a
PodDisruptionBudget that keeps one up; the schema refusing Sentinel and
NATS settings that cannot work; docs/scaling.md stating the values."""

from __future__ import annotations

import base64
import re
import tarfile
from urllib.parse import urlsplit

import pytest
from conftest import (
    CHART,
    PRODUCTION,
    ROOT,
    SERVICES,
    chart_production_values,
    component,
    helm_chart,
    of_kind,
    pod_spec,
    render,
)
from helm_python import HelmValuesError

SENTINELS = ["sentinel-0.redis:26379", "sentinel-1.redis:26379", "10.0.0.7:26379"]
WITH_SENTINELS = {"redis": {"url": "", "sentinels": SENTINELS, "masterName": "mymaster"}}


def configmap(objects: list[dict]) -> dict[str, str]:
    (cm,) = of_kind(objects, "ConfigMap")
    return cm["data"]


def least_replicas(objects: list[dict]) -> dict[str, int]:
    """Fewest pods each service runs: the HPA's minimum, else the Deployment's count."""
    hpas = {component(h): h["spec"]["minReplicas"] for h in of_kind(objects, "HorizontalPodAutoscaler")}
    return {component(d): hpas.get(component(d), d["spec"].get("replicas", 1)) for d in of_kind(objects, "Deployment")}


def allowed_down(pdb: dict, replicas: int) -> int:
    """Pods the PodDisruptionBudget lets go at once out of `replicas`."""
    spec = pdb["spec"]
    if "minAvailable" in spec:
        keep = spec["minAvailable"]
        keep = -(-replicas * int(keep[:-1]) // 100) if isinstance(keep, str) else keep
        return replicas - keep
    down = spec["maxUnavailable"]
    return -(-replicas * int(down[:-1]) // 100) if isinstance(down, str) else down


# --- the file ------------------------------------------------------------------------


def test_the_chart_ships_its_production_values_and_they_render_alone(tmp_path):
    """A platform team finds the file in the chart, packaged too; on its own
    (no site values, offline as under GitOps) it passes lint and renders,
    generating no secret: it names an existing Secret."""
    assert PRODUCTION.parent == CHART
    helm_chart.package(CHART, destination=tmp_path)
    (archive,) = tmp_path.glob("cloudsms-*.tgz")
    with tarfile.open(archive) as tar:
        assert "cloudsms/values-production.yaml" in tar.getnames()
    values = chart_production_values()
    report = helm_chart.lint(CHART, values, strict=True, namespace="sms")
    assert not report["errors"], report["errors"]
    assert not [m for m in report["messages"] if m["severity"] >= 2]
    objects = render(values, allow_generated=False)
    assert len(of_kind(objects, "Deployment")) == len(SERVICES)
    assert [s for s in of_kind(objects, "Secret") if component(s) != "migrate"] == []
    readme = (CHART / "README.md").read_text()
    assert "values-production.yaml" in readme and "docs/scaling.md" in readme


# --- availability --------------------------------------------------------------------


def test_production_runs_every_service_twice_with_a_pdb_that_keeps_one_up(production_objects):
    replicas = least_replicas(production_objects)
    assert sorted(replicas) == sorted(SERVICES)
    pdbs = {component(p): p for p in of_kind(production_objects, "PodDisruptionBudget")}
    for service, count in replicas.items():
        assert count >= 2, f"{service}: {count} replica(s)"
        pdb = pdbs[service]
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == service
        down = allowed_down(pdb, count)
        assert 1 <= down <= count - 1, f"{service}: the PDB lets {down} of {count} go"


def test_production_spreads_every_service_over_nodes_and_zones(production_objects):
    for d in of_kind(production_objects, "Deployment"):
        service = component(d)
        constraints = {c["topologyKey"]: c for c in pod_spec(d).get("topologySpreadConstraints", [])}
        assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= set(constraints), service
        node = constraints["kubernetes.io/hostname"]
        assert node["whenUnsatisfiable"] == "DoNotSchedule" and node["maxSkew"] == 1, service
        for c in constraints.values():
            selector = c["labelSelector"]["matchLabels"]
            assert selector["app.kubernetes.io/component"] == service
            assert selector == d["spec"]["selector"]["matchLabels"], service


# --- NATS: a JetStream cluster ---------------------------------------------------------


def test_production_uses_three_nats_servers_and_stream_replicas_3(production_objects):
    data = configmap(production_objects)
    assert data["CLOUDSMS_BUS__REPLICAS"] == "3"
    urls = data["CLOUDSMS_NATS__URL"].split(",")
    assert len(urls) == 3 and len(set(urls)) == 3, urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("nats", "tls") and parts.hostname and parts.port, url
        assert not parts.username and not parts.password, "no credentials in the ConfigMap"


def test_a_comma_separated_nats_url_reaches_every_service_as_given():
    url = "nats://a.nats:4222,nats://b.nats:4222,tls://c.nats:4222"
    assert configmap(render({"nats": {"url": url}}))["CLOUDSMS_NATS__URL"] == url


@pytest.mark.parametrize(
    "url",
    [
        "nats://a:4222, nats://b:4222",  # a space
        "nats://a:4222,b:4222",  # a server without its scheme
        "nats://a:4222,",  # an empty server
        "http://a:4222",
    ],
)
def test_schema_refuses_a_malformed_nats_server_list(url):
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"nats": {"url": url}})


# --- Redis through Sentinel -------------------------------------------------------------


def test_production_cache_goes_through_sentinel(production_objects):
    data = configmap(production_objects)
    assert data["CLOUDSMS_REDIS__URL"] == ""
    sentinels = data["CLOUDSMS_REDIS__SENTINELS"].split(",")
    assert len(sentinels) >= 3 and all(re.fullmatch(r"[^\s:/]+:\d+", s) for s in sentinels), sentinels
    assert data["CLOUDSMS_REDIS__MASTER_NAME"]
    for d in of_kind(production_objects, "Deployment"):
        env = {e["name"]: e for c in pod_spec(d)["containers"] for e in c.get("env", [])}
        # The passwords (the data nodes', the Sentinels') come from a Secret.
        for key in ("CLOUDSMS_REDIS__PASSWORD", "CLOUDSMS_REDIS__SENTINEL_PASSWORD"):
            assert "secretKeyRef" in env[key]["valueFrom"], (component(d), key)


def test_the_sentinels_password_goes_to_the_secret_never_the_configmap():
    objects = render({**WITH_SENTINELS, "secrets": {"redisSentinelPassword": "sentinel-pass-789"}})
    assert "sentinel-pass-789" not in str(configmap(objects))
    (secret,) = [s for s in of_kind(objects, "Secret") if component(s) != "migrate"]
    assert secret["data"]["CLOUDSMS_REDIS__SENTINEL_PASSWORD"] == base64.b64encode(b"sentinel-pass-789").decode()


def test_a_url_beside_sentinels_may_name_only_the_scheme_and_database():
    """`rediss://<master>/<db>`: TLS and the database through Sentinel; the
    Sentinels name the host and port."""
    values = {"redis": {**WITH_SENTINELS["redis"], "url": "rediss://mymaster/2"}}
    assert configmap(render(values))["CLOUDSMS_REDIS__URL"] == "rediss://mymaster/2"


def test_sentinel_settings_reach_the_configmap_only_when_set(default_objects):
    data = configmap(render(WITH_SENTINELS))
    # One comma-separated string: the environment form the config loader reads.
    assert data["CLOUDSMS_REDIS__SENTINELS"].split(",") == SENTINELS
    assert data["CLOUDSMS_REDIS__MASTER_NAME"] == "mymaster"
    assert data["CLOUDSMS_REDIS__URL"] == ""
    # Without Sentinels nothing new is set: the services read redis.url.
    plain = configmap(default_objects)
    assert "CLOUDSMS_REDIS__SENTINELS" not in plain and "CLOUDSMS_REDIS__MASTER_NAME" not in plain
    assert plain["CLOUDSMS_REDIS__URL"] == "redis://redis:6379"


@pytest.mark.parametrize(
    "redis, why",
    [
        ({"url": "", "sentinels": SENTINELS}, "Sentinels without a master name"),
        ({"url": "", "sentinels": SENTINELS, "masterName": ""}, "an empty master name"),
        ({"sentinels": SENTINELS, "masterName": "mymaster"}, "a server's URL (with a port) beside the Sentinels"),
        ({"url": "redis://u:p@mymaster", "sentinels": SENTINELS, "masterName": "m"}, "credentials in the URL"),
        ({"url": "", "sentinels": ["[fd00::7]:26379"], "masterName": "m"}, "a bracketed address"),
        ({"masterName": "mymaster"}, "a master name without Sentinels"),
        ({"url": ""}, "no URL and no Sentinels (each pod would keep a cache of its own)"),
        ({"url": "", "sentinels": ["sentinel-0.redis"], "masterName": "m"}, "a Sentinel without its port"),
        ({"url": "", "sentinels": ["redis://sentinel-0:26379"], "masterName": "m"}, "a URL for a Sentinel"),
        ({"url": "", "sentinels": ["a:26379", "a:26379"], "masterName": "m"}, "the same Sentinel twice"),
    ],
)
def test_schema_refuses_sentinel_settings_that_cannot_work(redis, why):
    with helm_chart.Chart.load(CHART) as chart:
        chart.validate_schema(WITH_SENTINELS)
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"redis": redis})
            pytest.fail(f"accepted {why}")


def test_extra_env_cannot_set_sentinels_behind_the_values():
    for key, value in (("CLOUDSMS_REDIS__SENTINELS", '["a:26379"]'), ("CLOUDSMS_REDIS__MASTER_NAME", "m")):
        with pytest.raises(Exception, match=re.escape(f"extraEnv.{key}")):
            render({"extraEnv": {key: value}})


# --- docs/scaling.md ------------------------------------------------------------------


def test_scaling_doc_states_the_production_values(production_objects):
    """docs/scaling.md explains the production values: its table names the
    replica floors and stream limits the file sets."""
    doc = (ROOT / "docs" / "scaling.md").read_text()
    values = chart_production_values()
    gateway = values["gateway"]
    assert f"min {gateway['autoscaling']['minReplicas']}, max {gateway['autoscaling']['maxReplicas']}" in doc
    ingest = values["messageIngest"]["autoscaling"]
    assert f"min {ingest['minReplicas']}, max {ingest['maxReplicas']}" in doc
    assert f"{gateway['live']['maxStreams']:,}, {gateway['resources']['limits']['memory']}" in doc
    assert f"| `bus.replicas` | {values['bus']['replicas']} |" in doc
    assert f"| `database.maxConnections` | {values['database']['maxConnections']} |" in doc
    assert "docs/scaling.md" in (ROOT / "README.md").read_text()
    assert "scaling.md" in (ROOT / "docs" / "operations.md").read_text()
