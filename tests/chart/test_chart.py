"""charts/cloudsms: lint, schema, Kubernetes validation of every rendered
object, and the properties operators rely on."""

from __future__ import annotations

import base64
import json
import re

import kubernetes_validate
import pytest
import yaml
from conftest import (
    CHART,
    HTTP_PORTS,
    LISTENS,
    RELEASE,
    ROOT,
    SERVICES,
    component,
    helm_chart,
    of_kind,
    pod_spec,
    production_values,
    render,
    values_for,
)
from helm_python import HelmValuesError

import values_table

KUBE_VERSION = "1.37"
WORKLOADS = ("Deployment", "Job", "Pod")


def full(name: str) -> str:
    return f"{RELEASE}-{name}"


# --- helm lint ---------------------------------------------------------------


@pytest.mark.parametrize("value_set", ["default", "production", "platform"])
def test_helm_lint_strict(value_set):
    report = helm_chart.lint(CHART, values_for(value_set), strict=True, namespace="sms")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["total_charts_linted"] == 1
    assert not report["errors"], report["errors"]
    assert not problems, problems


def test_schema_rejects_unknown_and_wrong_values():
    with helm_chart.Chart.load(CHART) as chart:
        chart.validate_schema({})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gatway": {"replicaCount": 2}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gateway": {"replicaCount": "two"}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"securityContext": {"runAsNonRoot": False}})


# Keys the schema accepts that values.yaml leaves unset: an umbrella chart's
# condition (`cloudsms.enabled`) arrives as `enabled`.
INJECTED = {"enabled"}


def test_schema_is_draft_07_and_covers_every_value():
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(node, sch, path):
        assert sch is not None, f"{path} is not in values.schema.json"
        assert sch.get("description"), f"{path} has no description in values.schema.json"
        if isinstance(node, dict) and "properties" in sch:
            assert sch.get("additionalProperties") is False, f"{path}: the schema must refuse unknown keys"
            for key, child in node.items():
                walk(child, sch["properties"].get(key), f"{path}.{key}".lstrip("."))
            missing = set(sch["properties"]) - set(node)
            assert not missing, f"{path}: described but absent from values.yaml: {missing}"

    for key, child in values.items():
        walk(child, schema["properties"].get(key), key)
    assert set(schema["properties"]) == set(values) | INJECTED
    for key in INJECTED:
        assert schema["properties"][key].get("description"), key


def test_readme_values_table_is_current():
    readme = (CHART / "README.md").read_text()
    assert values_table.rendered_readme() == readme, (
        "charts/cloudsms/README.md's values table is stale: run "
        "`bash scripts/chart.sh readme` (python tests/chart/values_table.py --write)"
    )


# --- every rendered object -----------------------------------------------------


def test_every_object_validates_against_kubernetes_strictly(rendered):
    value_set, objects = rendered
    assert objects
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            # Prometheus Operator resources: checked by test_metrics.py.
            continue
        clean = {k: v for k, v in obj.items() if k != "_template"}
        if not clean["metadata"]["annotations"]:
            del clean["metadata"]["annotations"]
        try:
            kubernetes_validate.validate(clean, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"[{value_set}] {obj['_template']} {obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            pytest.fail(f"[{value_set}] {obj['_template']}: {error.message}")


def test_every_container_is_locked_down_and_sized(rendered):
    value_set, objects = rendered
    workloads = [o for o in objects if o["kind"] in WORKLOADS]
    assert len(workloads) == len(SERVICES) + 2  # + the migration Job and the test Pod
    for obj in workloads:
        spec = pod_spec(obj)
        where = f"[{value_set}] {obj['kind']}/{obj['metadata']['name']}"
        assert spec.get("automountServiceAccountToken") is False, where
        pod_sc = spec.get("securityContext", {})
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", pod_sc.get("runAsUser")) == 65532, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                assert res.get(kind, {}).get("cpu") and res[kind].get("memory"), f"{where}: {kind}"


def test_every_service_container_has_probes(rendered):
    value_set, objects = rendered
    deployments = of_kind(objects, "Deployment")
    assert sorted(component(d) for d in deployments) == sorted(SERVICES)
    for d in deployments:
        (c,) = pod_spec(d)["containers"]
        where = f"[{value_set}] {d['metadata']['name']}"
        http = next(p for p in c["ports"] if p["name"] == "http")
        assert http["containerPort"] == HTTP_PORTS[component(d)], where
        expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        for probe, path in expected.items():
            assert c[probe]["httpGet"]["path"] == path, f"{where}: {probe}"
            assert c[probe]["httpGet"]["port"] == "http", f"{where}: {probe}"
        assert c["args"] == [component(d)], where
        env = {e["name"]: e for e in c.get("env", [])}
        # the platform set maps the database URL to an operator-made Secret's `uri`
        key = "uri" if value_set == "platform" else "CLOUDSMS_DATABASE__URL"
        assert env["CLOUDSMS_DATABASE__URL"]["valueFrom"]["secretKeyRef"]["key"] == key


# config sections of gateway, message-ingest, captcha-verification, log-retention
SHUTDOWN_SECTIONS = ("GATEWAY", "INGEST", "CAPTCHA", "RETENTION")


@pytest.mark.parametrize(
    "values, delay, grace",
    [({}, 5, 10), ({"shutdown": {"delaySeconds": 15, "graceSeconds": 30}}, 15, 30), ({"shutdown": {"delaySeconds": 0}}, 0, 10)],
)
def test_drain_delay_and_grace_reach_every_service_and_fit_the_grace_period(values, delay, grace):
    """On SIGTERM a service fails /readyz, keeps serving `delay` seconds while
    the endpoint change propagates, then drains for up to `grace`: the pod's
    terminationGracePeriodSeconds must outlast both, with a margin."""
    objects = render(values)
    (cm,) = of_kind(objects, "ConfigMap")
    for section in SHUTDOWN_SECTIONS:
        assert cm["data"][f"CLOUDSMS_{section}__SHUTDOWN_DELAY_SECS"] == str(delay), section
        assert cm["data"][f"CLOUDSMS_{section}__SHUTDOWN_GRACE_SECS"] == str(grace), section
    deployments = of_kind(objects, "Deployment")
    assert len(deployments) == len(SERVICES)
    for d in deployments:
        period = pod_spec(d)["terminationGracePeriodSeconds"]
        assert isinstance(period, int)
        assert period >= delay + grace + 5, (component(d), period)
        assert period <= delay + grace + 10, (component(d), period)


def test_pre_stop_sleep_counts_towards_the_grace_period():
    """A preStop hook runs before SIGTERM, inside the same grace period."""
    values = {"gateway": {"lifecycle": {"preStop": {"sleep": {"seconds": 7}}}}}
    periods = {component(d): pod_spec(d)["terminationGracePeriodSeconds"] for d in of_kind(render(values), "Deployment")}
    assert periods["gateway"] == periods["message-ingest"] + 7
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"terminationGracePeriodSeconds": 20})  # computed now
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"shutdown": {"delaySeconds": -1}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"shutdown": {"graceSeconds": 0}})


def test_every_service_reports_its_pod_name_as_instance_id(rendered):
    """service.instance.id: the pod name, from the Downward API, in every
    service container (telemetry.instance_id); not in the shared ConfigMap."""
    value_set, objects = rendered
    for d in of_kind(objects, "Deployment"):
        (c,) = pod_spec(d)["containers"]
        env = {e["name"]: e for e in c.get("env", [])}
        ref = env["CLOUDSMS_TELEMETRY__INSTANCE_ID"]["valueFrom"]["fieldRef"]
        assert ref["fieldPath"] == "metadata.name", f"[{value_set}] {component(d)}"
    (cm,) = of_kind(objects, "ConfigMap")
    assert "CLOUDSMS_TELEMETRY__INSTANCE_ID" not in cm["data"]


def test_configmap_holds_listen_addresses_and_no_secret(rendered):
    value_set, objects = rendered
    (cm,) = of_kind(objects, "ConfigMap")
    data = cm["data"]
    for key, addr in LISTENS.items():
        assert data[key] == addr
    assert data["CLOUDSMS_TELEMETRY__LOG_FORMAT"] == "json"
    # The gateway reaches captcha-verification (the gate) and log-retention
    # (/my-data, /admin/stats) through their Services' gRPC ports.
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for key, component_name, port in [
        ("CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL", "captcha-verification", 50052),
        ("CLOUDSMS_GATEWAY__RETENTION_URL", "log-retention", 50053),
    ]:
        host, _, url_port = data[key].removeprefix("http://").partition(":")
        assert host == full(component_name) and host in services, data[key]
        assert int(url_port) == port
        assert port in [p["port"] for p in services[host]["spec"]["ports"]]
    assert data["CLOUDSMS_NATS__URL"]
    assert data["CLOUDSMS_REDIS__URL"] or data["CLOUDSMS_REDIS__SENTINELS"]
    for key in data:
        if key.endswith("_FILE") or key == "CLOUDSMS_GATEWAY__ADMIN_TOKENS":
            # Paths of mounted files (CA, certificate, key, creds), and the
            # operators' names with their tokens' SHA-256: not secrets.
            continue
        assert not any(s in key for s in ("DATABASE__URL", "TOKEN", "SECRET", "HMAC", "PASSWORD", "KEY", "SEED")), key


def test_trusted_proxies_reach_the_gateway_as_a_list():
    """The default believes no forwarded header; a list of CIDRs arrives as
    the TOML/JSON array the gateway parses (CLOUDSMS_GATEWAY__TRUSTED_PROXIES)."""
    (cm,) = of_kind(render({}), "ConfigMap")
    assert cm["data"]["CLOUDSMS_GATEWAY__TRUSTED_PROXIES"] == "[]"
    values = {"gateway": {"trustedProxies": ["10.0.0.0/8", "fd00::/8"]}}
    (cm,) = of_kind(render(values), "ConfigMap")
    assert json.loads(cm["data"]["CLOUDSMS_GATEWAY__TRUSTED_PROXIES"]) == ["10.0.0.0/8", "fd00::/8"]
    # Behind the chart's own ingress an empty list would make every visitor
    # the ingress: the render refuses it, naming the value.
    with pytest.raises(Exception, match="gateway.trustedProxies"):
        render({"ingress": {"gateway": {"enabled": True, "host": "sms.example"}}})
    (cm,) = of_kind(render({"gateway": {"live": {"maxStreams": 500}}}), "ConfigMap")
    assert cm["data"]["CLOUDSMS_GATEWAY__LIVE__MAX_STREAMS"] == "500"
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gateway": {"trustedProxies": ["ingress.example"]}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gateway": {"trustForwardedFor": True}})


def test_named_operator_tokens_reach_the_gateway_as_a_toml_list():
    (cm,) = of_kind(render({}), "ConfigMap")
    assert "CLOUDSMS_GATEWAY__ADMIN_TOKENS" not in cm["data"], "a file's list stays in charge"
    digest = "ab" * 32
    values = {"gateway": {"adminTokens": [{"name": "alice", "tokenSha256": digest}, {"name": "ops.bot", "tokenSha256": digest}]}}
    (cm,) = of_kind(render(values), "ConfigMap")
    assert cm["data"]["CLOUDSMS_GATEWAY__ADMIN_TOKENS"] == (
        f'[{{name="alice",token_sha256="{digest}"}},{{name="ops.bot",token_sha256="{digest}"}}]'
    )
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gateway": {"adminTokens": [{"name": "Alice", "tokenSha256": digest}]}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"gateway": {"adminTokens": [{"name": "alice", "tokenSha256": "abc"}]}})


def test_one_service_account_service_and_pdb_per_service(rendered):
    _, objects = rendered
    deployments = {component(d): d for d in of_kind(objects, "Deployment")}
    for kind in ("ServiceAccount", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert sorted(component(o) for o in of_kind(objects, kind)) == sorted(SERVICES), kind
    for sa in of_kind(objects, "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False
        assert pod_spec(deployments[component(sa)])["serviceAccountName"] == sa["metadata"]["name"]
    for svc in of_kind(objects, "Service"):
        ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
        assert ports["http"] == HTTP_PORTS[component(svc)]
        assert svc["spec"]["selector"]["app.kubernetes.io/component"] == component(svc)


def test_network_policies(rendered):
    _, objects = rendered
    policies = {component(p): p["spec"] for p in of_kind(objects, "NetworkPolicy")}
    for name, spec in policies.items():
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == name
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        egress_ports = {(p["port"], p.get("protocol", "TCP")) for r in spec["egress"] for p in r.get("ports", [])}
        for port in (53, 4222, 6379, 5432, 4317):
            assert (port, "TCP") in egress_ports, (name, port)
        assert (53, "UDP") in egress_ports
    for name in ("captcha-verification", "log-retention"):
        for rule in policies[name]["ingress"]:
            if {p["port"] for p in rule["ports"]} == {9464}:
                # The metrics port, for Prometheus (metrics.scrapeFrom).
                continue
            froms = rule["from"]
            assert froms, f"{name} must not accept traffic from anywhere"
            for peer in froms:
                assert set(peer) == {"podSelector"}, peer
                assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] in ("gateway", "helm-test")
    for name in ("gateway", "message-ingest"):
        http_rules = [r for r in policies[name]["ingress"] if {p["port"] for p in r["ports"]} == {HTTP_PORTS[name]}]
        assert any("from" not in r or any("namespaceSelector" in p for p in r["from"]) for r in http_rules), name
    grpc = [r for r in policies["message-ingest"]["ingress"] if {p["port"] for p in r["ports"]} == {50051}]
    assert grpc and all(r["from"] for r in grpc), "gRPC ingest must stay inside the cluster"


def test_migration_job_is_a_pre_install_pre_upgrade_hook(rendered):
    _, objects = rendered
    (job,) = of_kind(objects, "Job")
    ann = job["metadata"]["annotations"]
    assert set(ann["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in ann["helm.sh/hook-delete-policy"]
    (c,) = pod_spec(job)["containers"]
    assert c["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    secret_name = c["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    secrets = {s["metadata"]["name"]: s for s in of_kind(objects, "Secret")}
    if secret_name in secrets:  # generated: must exist before the Job (hook with a lower weight)
        hook = secrets[secret_name]["metadata"]["annotations"]
        assert "pre-install" in hook["helm.sh/hook"]
        assert int(hook["helm.sh/hook-weight"]) < int(ann["helm.sh/hook-weight"])


def test_helm_test_pod_checks_every_readyz_with_a_configurable_image():
    objects = render({"tests": {"image": {"repository": "curlimages/curl", "tag": "8.11.1"}}})
    (pod,) = [o for o in of_kind(objects, "Pod")]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "curlimages/curl:8.11.1"
    script = c["command"][-1]
    for name, port in HTTP_PORTS.items():
        assert f"http://{full(name)}:{port}/readyz" in script


# --- secrets -----------------------------------------------------------------

PLACEHOLDERS = ("change-me", "changeme", "example", "placeholder", "xxx")


def test_existing_secret_renders_no_secret_and_is_referenced(production_objects):
    secrets = of_kind(production_objects, "Secret")
    for s in secrets:  # there should be none; if any, no placeholder in it
        for key, value in {**s.get("data", {}), **s.get("stringData", {})}.items():
            text = base64.b64decode(value).decode() if key in s.get("data", {}) else value
            assert not any(p in text.lower() for p in PLACEHOLDERS), (s["metadata"]["name"], key)
    assert secrets == []
    for obj in production_objects:
        if obj["kind"] in WORKLOADS:
            for c in pod_spec(obj)["containers"]:
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] == production_values()["secrets"]["existingSecret"]


def test_generated_secret_from_values(default_objects):
    objects = render({"secrets": {"grpcToken": "t0ken-for-bridges", "providers": {"twilioAuthToken": "twilio-token"}}})
    (secret,) = [s for s in of_kind(objects, "Secret") if "migrate" not in s["metadata"]["name"]]
    keys = set(secret["data"])
    assert {"CLOUDSMS_DATABASE__URL", "CLOUDSMS_INGEST__GRPC_TOKEN", "CLOUDSMS_CAPTCHA__HMAC_KEY",
            "CLOUDSMS_GATEWAY__GATE__PASS_KEY", "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN"} <= keys
    # no operator token unless one is given: /admin/stats stays off
    assert "CLOUDSMS_GATEWAY__ADMIN_TOKEN" not in keys
    # empty provider secrets stay out (the provider is disabled)
    assert "CLOUDSMS_INGEST__PROVIDERS__VONAGE__SIGNATURE_SECRET" not in keys
    # the default render enables no provider
    (default_secret,) = [s for s in of_kind(default_objects, "Secret") if "migrate" not in s["metadata"]["name"]]
    assert not any(k.startswith("CLOUDSMS_INGEST__PROVIDERS__") for k in default_secret["data"])


def test_services_read_only_the_secrets_they_need(default_objects):
    for d in of_kind(default_objects, "Deployment"):
        names = {e["name"] for e in pod_spec(d)["containers"][0].get("env", [])}
        if component(d) != "message-ingest":
            assert not any(n.startswith("CLOUDSMS_INGEST__") for n in names), component(d)
        if component(d) != "captcha-verification":
            assert "CLOUDSMS_CAPTCHA__HMAC_KEY" not in names, component(d)
        if component(d) != "gateway":
            assert "CLOUDSMS_GATEWAY__GATE__PASS_KEY" not in names, component(d)


# --- sized from the measured figures -------------------------------------------


def measured_rss() -> tuple[str, dict[str, float]]:
    """The largest RSS (MiB) of each service in the newest `make bench` results
    that have the memory table."""
    for path in sorted((ROOT / "bench" / "results").glob("*.md"), reverse=True):
        text = path.read_text()
        if "## Memory (RSS, MiB)" not in text:
            continue
        table = text.split("## Memory (RSS, MiB)", 1)[1]
        rss = {}
        for line in table.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] in SERVICES:
                rss[cells[0]] = max(float(c) for c in cells[1:])
        return path.name, rss
    raise AssertionError("no bench/results/*.md has a memory table")


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()
    return float(number) * {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "": 1 / 2**20}[unit]


@pytest.mark.parametrize("value_set", ["default", "production"])
def test_memory_limits_leave_room_above_the_measured_rss(value_set, default_objects, production_objects):
    """A limit under what a service was measured to use gets it OOM-killed
    under load (log-retention reached 136 MiB against a 128Mi limit)."""
    source, rss = measured_rss()
    assert sorted(rss) == sorted(SERVICES), source
    objects = default_objects if value_set == "default" else production_objects
    for d in of_kind(objects, "Deployment"):
        (container,) = pod_spec(d)["containers"]
        limit = mebibytes(container["resources"]["limits"]["memory"])
        assert limit >= 1.5 * rss[component(d)], (
            f"[{value_set}] {component(d)}: limit {limit:.0f} MiB, measured {rss[component(d)]} MiB in {source}"
        )


# --- production shape ----------------------------------------------------------


def test_production_autoscaling_replicas_and_ingresses(production_objects):
    hpas = {component(h): h["spec"] for h in of_kind(production_objects, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"gateway", "message-ingest"}
    assert hpas["gateway"]["minReplicas"] == 3
    for d in of_kind(production_objects, "Deployment"):
        if component(d) in hpas:
            assert "replicas" not in d["spec"], "the HPA owns the replica count"
        else:
            assert d["spec"]["replicas"] >= 2
    ingresses = {i["metadata"]["name"]: i["spec"] for i in of_kind(production_objects, "Ingress")}
    site, hooks = ingresses[full("gateway")], ingresses[full("webhooks")]
    assert site["rules"][0]["host"] == "sms.example.com"
    assert site["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == full("gateway")
    (path,) = hooks["rules"][0]["http"]["paths"]
    assert path["path"] == "/webhooks" and path["pathType"] == "Prefix"
    assert path["backend"]["service"]["name"] == full("message-ingest")
    assert hooks["tls"][0]["secretName"] == "hooks-sms-example-com-tls"
    (cm,) = of_kind(production_objects, "ConfigMap")
    assert cm["data"]["CLOUDSMS_NATS__URL"].count("nats://") == 3
    assert cm["data"]["CLOUDSMS_TELEMETRY__OTLP_ENDPOINT"].endswith(":4317")


def test_default_install_has_no_hpa_and_no_ingress(default_objects):
    assert of_kind(default_objects, "HorizontalPodAutoscaler") == []
    assert of_kind(default_objects, "Ingress") == []


def test_captcha_ingress_opens_only_the_captcha_http_port():
    values = production_values()
    values["ingress"]["captcha"] = {"enabled": True, "className": "nginx", "host": "captcha.example.com"}
    objects = render(values)
    ingresses = {i["metadata"]["name"]: i["spec"] for i in of_kind(objects, "Ingress")}
    backend = ingresses[full("captcha")]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == full("captcha-verification")
    (policy,) = [p["spec"] for p in of_kind(objects, "NetworkPolicy") if component(p) == "captcha-verification"]
    public = [r for r in policy["ingress"] if r["from"] == values["networkPolicy"]["ingressFrom"]]
    assert [[p["port"] for p in r["ports"]] for r in public] == [[8082]]
    (retention,) = [p["spec"] for p in of_kind(objects, "NetworkPolicy") if component(p) == "log-retention"]
    for rule in retention["ingress"]:
        assert all("podSelector" in peer for peer in rule["from"])


@pytest.mark.parametrize("value_set", ["default", "production", "platform"])
def test_notes_render(value_set):
    with helm_chart.Chart.load(CHART) as chart:
        notes = chart.render(values_for(value_set), name=RELEASE, namespace="sms")["cloudsms/templates/NOTES.txt"]
    assert "helm test cloudsms -n sms" in notes
    assert ("change-me" in notes) == (value_set == "default")
