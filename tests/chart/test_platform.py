"""charts/cloudsms on a platform: as a dependency of an umbrella chart,
under GitOps (offline renders, secrets that must not change per render),
and with the escape hatches platform teams expect (labels, annotations,
priority, spread, volumes, lifecycle, digests, OpenShift's user ids)."""

from __future__ import annotations

import pathlib
import re

import kubernetes_validate
import pytest
import yaml
from conftest import (
    CHART,
    NAMESPACE,
    RELEASE,
    ROOT,
    SERVICES,
    component,
    helm_chart,
    of_kind,
    platform_values,
    pod_spec,
    render,
)
from helm_python import HelmValuesError

KUBE_VERSION = "1.37"
WORKLOADS = ("Deployment", "Job", "Pod")
GENERATED_KEYS = ("CLOUDSMS_CAPTCHA__HMAC_KEY", "CLOUDSMS_GATEWAY__GATE__PASS_KEY")
DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def validate_strictly(objects: list[dict], where: str) -> None:
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            # Prometheus Operator resources: checked by test_metrics.py.
            continue
        clean = {k: v for k, v in obj.items() if k != "_template"}
        if not clean["metadata"].get("annotations"):
            clean["metadata"].pop("annotations", None)
        try:
            kubernetes_validate.validate(clean, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"[{where}] {obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")


def secret_refs(objects: list[dict]) -> dict[str, dict[str, dict]]:
    """{workload component: {env name: secretKeyRef}} of every workload's containers."""
    refs: dict[str, dict[str, dict]] = {}
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        for c in pod_spec(obj)["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.setdefault(component(obj), {})[e["name"]] = ref
    return refs


def chart_secret(objects: list[dict]) -> dict | None:
    secrets = [s for s in of_kind(objects, "Secret") if component(s) != "migrate"]
    assert len(secrets) <= 1
    return secrets[0] if secrets else None


# --- as a subchart -------------------------------------------------------------


def make_umbrella(tmp_path: pathlib.Path, values: dict) -> pathlib.Path:
    """A throwaway umbrella chart with cloudsms as a packaged dependency, as
    `helm dependency build` leaves it."""
    root = tmp_path / "platform"
    (root / "charts").mkdir(parents=True)
    (root / "templates").mkdir()
    with helm_chart.Chart.load(CHART) as chart:
        version = chart.version
    helm_chart.package(CHART, destination=root / "charts")
    (root / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2",
        "name": "platform",
        "version": "1.0.0",
        "dependencies": [{
            "name": "cloudsms",
            "version": version,
            "repository": f"file://{CHART}",
            "condition": "cloudsms.enabled",
        }],
    }))
    (root / "values.yaml").write_text(yaml.safe_dump(values))
    assert [d["status"] for d in helm_chart.dependency_list(root)] == ["ok"]
    return root


UMBRELLA_VALUES = {
    # globals the umbrella sets for its other charts; Helm hands them to every subchart
    "global": {"imageRegistry": "mirror.example.com", "storageClass": "fast"},
    "cloudsms": {
        "enabled": True,
        "nats": {"url": "nats://nats:4222"},
        "secrets": {"existingSecret": "cloudsms-secrets"},
    },
}


def test_renders_as_a_dependency_of_an_umbrella_chart(tmp_path):
    root = make_umbrella(tmp_path, UMBRELLA_VALUES)
    with helm_chart.Chart.load(root) as umbrella:
        manifests = umbrella.render({}, name="platform", namespace=NAMESPACE, is_install=True)
        disabled = umbrella.render({"cloudsms": {"enabled": False}}, name="platform", namespace=NAMESPACE, is_install=True)
    objects = [
        doc for path, text in sorted(manifests.items()) if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text) if doc
    ]
    deployments = of_kind(objects, "Deployment")
    assert sorted(component(d) for d in deployments) == sorted(SERVICES)
    assert {d["metadata"]["name"] for d in deployments} == {f"platform-cloudsms-{s}" for s in SERVICES}
    validate_strictly(objects, "umbrella")
    assert not [t for t in disabled.values() if t.strip()], "cloudsms.enabled=false must render nothing"
    report = helm_chart.lint(root, {}, strict=True, namespace=NAMESPACE)
    assert not report["errors"], report["errors"]
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_schema_accepts_global_and_enabled_but_nothing_else_new():
    with helm_chart.Chart.load(CHART) as chart:
        chart.validate_schema({"global": {"anything": {"a": 1}}, "enabled": True})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"enabled": "yes"})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"globals": {}})


# --- deterministic secrets -------------------------------------------------------


def test_offline_render_refuses_to_generate_secrets():
    """Under `helm template`, Argo CD or a client-side --dry-run, `lookup`
    finds no earlier Secret: generated keys would change on every render
    while checksum/secret stays the same. The render fails, naming the keys
    and the ways out."""
    with pytest.raises(Exception) as failure:
        render({}, allow_generated=False)
    message = str(failure.value)
    for needle in (*GENERATED_KEYS, "secrets.existingSecret", "secrets.allowGenerated", "helm template"):
        assert needle in message, needle
    # only the key still missing is named
    with pytest.raises(Exception) as failure:
        render({"secrets": {"captchaHmacKey": "h" * 32}}, allow_generated=False)
    assert "CLOUDSMS_GATEWAY__GATE__PASS_KEY" in str(failure.value)
    assert "CLOUDSMS_CAPTCHA__HMAC_KEY" not in str(failure.value)


@pytest.mark.parametrize(
    "secrets",
    [
        {"existingSecret": "cloudsms-secrets"},
        {"captchaHmacKey": "h" * 32, "gatePassKey": "p" * 32},
        {"existingSecretKeys": {
            "CLOUDSMS_CAPTCHA__HMAC_KEY": {"name": "keys", "key": "hmac"},
            "CLOUDSMS_GATEWAY__GATE__PASS_KEY": {"name": "keys", "key": "pass"},
        }},
    ],
    ids=["existingSecret", "values", "existingSecretKeys"],
)
def test_gitops_renders_are_deterministic(secrets):
    """What GitOps users do: every key comes from values or a Secret of
    theirs, so two offline renders are the same."""
    first = render({"secrets": secrets}, allow_generated=False)
    second = render({"secrets": secrets}, allow_generated=False)
    assert first == second


def test_allow_generated_accepts_keys_that_change_per_render():
    first, second = chart_secret(render({})), chart_secret(render({}))
    for key in GENERATED_KEYS:
        assert first["data"][key] != second["data"][key], key
    with helm_chart.Chart.load(CHART) as chart:
        assert chart.values["secrets"]["allowGenerated"] is False


def test_existing_secret_keys_map_each_variable_to_a_key_of_a_secret_of_yours():
    """CLOUDSMS_DATABASE__URL from an operator-made Secret (CloudNativePG's
    `<cluster>-app`, key `uri`); the rest generated by the chart."""
    values = {"secrets": {"existingSecretKeys": {"CLOUDSMS_DATABASE__URL": {"name": "pg-app", "key": "uri"}}}}
    objects = render(values)
    refs = secret_refs(objects)
    for name in (*SERVICES, "migrate"):
        ref = refs[name]["CLOUDSMS_DATABASE__URL"]
        assert (ref["name"], ref["key"]) == ("pg-app", "uri"), name
        assert not ref.get("optional"), name
    secret = chart_secret(objects)
    assert refs["captcha-verification"]["CLOUDSMS_CAPTCHA__HMAC_KEY"]["name"] == secret["metadata"]["name"]
    assert "CLOUDSMS_DATABASE__URL" not in secret["data"]
    assert "CLOUDSMS_CAPTCHA__HMAC_KEY" in secret["data"]
    # the migration reads the mapped Secret: no hook Secret with the URL
    assert [s for s in of_kind(objects, "Secret") if component(s) == "migrate"] == []


def test_existing_secret_keys_default_to_the_existing_secret():
    values = {"secrets": {"existingSecret": "mine", "existingSecretKeys": {"CLOUDSMS_GATEWAY__ADMIN_TOKEN": {"key": "admin"}}}}
    objects = render(values)
    refs = secret_refs(objects)
    admin = refs["gateway"]["CLOUDSMS_GATEWAY__ADMIN_TOKEN"]
    assert (admin["name"], admin["key"]) == ("mine", "admin")
    pass_key = refs["gateway"]["CLOUDSMS_GATEWAY__GATE__PASS_KEY"]
    assert (pass_key["name"], pass_key["key"]) == ("mine", "CLOUDSMS_GATEWAY__GATE__PASS_KEY")
    assert chart_secret(objects) is None
    # a key without a Secret name and no existingSecret to fall back on
    with pytest.raises(Exception, match="secrets.existingSecretKeys.CLOUDSMS_GATEWAY__ADMIN_TOKEN"):
        render({"secrets": {"existingSecretKeys": {"CLOUDSMS_GATEWAY__ADMIN_TOKEN": {"key": "admin"}}}})
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):  # not a secret the services read
            chart.validate_schema({"secrets": {"existingSecretKeys": {"CLOUDSMS_NATS__URL": {"name": "a", "key": "b"}}}})
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"secrets": {"existingSecretKeys": {"CLOUDSMS_DATABASE__URL": {"name": "a"}}}})


def test_docs_list_every_secret_key_the_services_read(default_objects):
    """The existingSecret recipe in docs/operations.md and the chart README
    name every key a service reads (the gate pass key and the admin token
    were missing once: replicas then each pick a random pass key)."""
    keys = {name for refs in secret_refs(default_objects).values() for name in refs}
    assert {"CLOUDSMS_GATEWAY__GATE__PASS_KEY", "CLOUDSMS_GATEWAY__ADMIN_TOKEN", "CLOUDSMS_CAPTCHA__SITES"} <= keys
    for doc in (ROOT / "docs" / "operations.md", CHART / "README.md"):
        text = doc.read_text()
        missing = sorted(k for k in keys if f"`{k}`" not in text)
        assert not missing, f"{doc.relative_to(ROOT)} does not list {missing}"


# --- extraEnv ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "CLOUDSMS_GATEWAY__LISTEN",
        "CLOUDSMS_NATS__URL",
        "CLOUDSMS_GATEWAY__TRUSTED_PROXIES",
        "CLOUDSMS_INGEST__SHUTDOWN_DELAY_SECS",
        "CLOUDSMS_DATABASE__URL",
        "CLOUDSMS_CAPTCHA__HMAC_KEY",
        "CLOUDSMS_TELEMETRY__INSTANCE_ID",
        "cloudsms_gateway__live__max_streams",  # the config loader ignores case
    ],
)
def test_extra_env_cannot_override_chart_managed_keys(key):
    with pytest.raises(Exception, match=re.escape(f"extraEnv.{key}")):
        render({"extraEnv": {key: "1"}})


def test_extra_env_adds_other_settings(platform_objects):
    (cm,) = of_kind(platform_objects, "ConfigMap")
    assert cm["data"]["CLOUDSMS_RETENTION__GEOIP_CSV"] == "/etc/cloudsms/geoip/dbip-country-lite.csv"


# --- escape hatches --------------------------------------------------------------------


def test_platform_values_validate(platform_objects):
    validate_strictly(platform_objects, "platform")


def test_image_digest_pins_every_cloudsms_container(platform_objects):
    images = {
        c["image"] for o in platform_objects if o["kind"] in ("Deployment", "Job") for c in pod_spec(o)["containers"]
    }
    assert images == {f"registry.example.com/cloudsms/cloudsms@{DIGEST}"}
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"image": {"digest": "latest"}})


def test_common_labels_on_every_object_but_no_selector(platform_objects):
    for obj in platform_objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"]["labels"]["team.example.com/owner"] == "sms", where
        if obj["kind"] in ("Deployment", "Job"):
            assert obj["spec"]["template"]["metadata"]["labels"]["team.example.com/owner"] == "sms", where
        if obj["kind"] == "Deployment":
            assert "team.example.com/owner" not in obj["spec"]["selector"]["matchLabels"], where
    for obj in of_kind(platform_objects, "Service"):
        assert "team.example.com/owner" not in obj["spec"]["selector"]


def test_pod_labels_and_annotations(platform_objects):
    for obj in platform_objects:
        if obj["kind"] not in WORKLOADS:
            continue
        meta = obj["metadata"] if obj["kind"] == "Pod" else obj["spec"]["template"]["metadata"]
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert meta["labels"]["sidecar.istio.io/inject"] == "false", where
        assert meta["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true", where
        assert (meta["labels"].get("tier") == "web") == (component(obj) == "gateway"), where
    per_service = render({"podAnnotations": {"a": "all"}, "gateway": {"podAnnotations": {"a": "gateway", "b": "x"}}})
    for d in of_kind(per_service, "Deployment"):
        annotations = d["spec"]["template"]["metadata"]["annotations"]
        assert annotations["a"] == ("gateway" if component(d) == "gateway" else "all")
        assert annotations["checksum/config"]


@pytest.mark.parametrize(
    "values, name",
    [
        ({"podLabels": {"app.kubernetes.io/component": "x"}}, "podLabels"),
        ({"gateway": {"podLabels": {"app.kubernetes.io/instance": "x"}}}, "gateway.podLabels"),
        ({"commonLabels": {"app.kubernetes.io/name": "x"}}, "commonLabels"),
    ],
)
def test_labels_cannot_replace_the_chart_labels(values, name):
    with pytest.raises(Exception, match=re.escape(f"{name}.") + r".*the chart sets the label"):
        render(values)


def test_priority_class_and_topology_spread(platform_objects):
    for obj in platform_objects:
        if obj["kind"] in ("Deployment", "Job"):
            expected = "platform-batch" if component(obj) == "log-retention" else "platform-high"
            assert pod_spec(obj)["priorityClassName"] == expected, obj["metadata"]["name"]
    deployments = {component(d): pod_spec(d) for d in of_kind(platform_objects, "Deployment")}
    (spread,) = deployments["gateway"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    # the component's selector is filled in when the constraint has none
    assert spread["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "cloudsms",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": "gateway",
    }
    assert "topologySpreadConstraints" not in deployments["message-ingest"]
    own = {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
           "labelSelector": {"matchLabels": {"custom": "yes"}}}
    (d,) = [d for d in of_kind(render({"messageIngest": {"topologySpreadConstraints": [own]}}), "Deployment")
            if component(d) == "message-ingest"]
    assert pod_spec(d)["topologySpreadConstraints"] == [own]


def test_extra_volumes_mount_the_geoip_csv_in_log_retention(platform_objects):
    for obj in platform_objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        spec = pod_spec(obj)
        volumes = {v["name"]: v for v in spec["volumes"]}
        (c,) = spec["containers"]
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        where = obj["metadata"]["name"]
        assert "tmp" in volumes and mounts["tmp"]["mountPath"] == "/tmp", where
        # the top-level ones go to every pod running cloudsms, the migration included
        assert volumes["ca-bundle"]["configMap"]["name"] == "corporate-ca", where
        assert mounts["ca-bundle"]["mountPath"] == "/etc/ssl/corporate", where
        retention = component(obj) == "log-retention"
        assert ("geoip" in volumes) == retention and ("geoip" in mounts) == retention, where
        if retention:
            assert volumes["geoip"]["configMap"]["name"] == "dbip-country-lite"
            assert mounts["geoip"] == {"name": "geoip", "mountPath": "/etc/cloudsms/geoip", "readOnly": True}


def test_service_account_annotations(platform_objects):
    accounts = of_kind(platform_objects, "ServiceAccount")
    assert len(accounts) == len(SERVICES)
    for sa in accounts:
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
        assert sa["automountServiceAccountToken"] is False


def test_container_lifecycle_and_drain_timing(platform_objects):
    deployments = {component(d): pod_spec(d) for d in of_kind(platform_objects, "Deployment")}
    (gateway,) = deployments["gateway"]["containers"]
    assert gateway["lifecycle"] == {"preStop": {"sleep": {"seconds": 2}}}
    (ingest,) = deployments["message-ingest"]["containers"]
    assert "lifecycle" not in ingest
    # delay 8 + grace 20 + margin, and the preStop sleep on top for the gateway
    assert deployments["message-ingest"]["terminationGracePeriodSeconds"] == 33
    assert deployments["gateway"]["terminationGracePeriodSeconds"] == 35


def test_openshift_may_assign_the_user_and_group():
    """OpenShift's restricted SCC assigns user and group ids from the
    namespace's range: `runAsUser: null` (and the group ids) leave them out."""
    values = {
        "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
        "securityContext": {"runAsUser": None, "runAsGroup": None},
    }
    objects = render(values)
    validate_strictly(objects, "openshift")
    workloads = [o for o in objects if o["kind"] in WORKLOADS]
    assert len(workloads) == len(SERVICES) + 2
    for obj in workloads:
        spec = pod_spec(obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        for context in [spec["securityContext"]] + [c["securityContext"] for c in spec["containers"]]:
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(context), where
            assert context["runAsNonRoot"] is True, where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
    with helm_chart.Chart.load(CHART) as chart:
        with pytest.raises(HelmValuesError):
            chart.validate_schema({"securityContext": {"runAsUser": 0}})


# --- the docs' examples ----------------------------------------------------------------


@pytest.mark.parametrize("doc, least", [("docs/operations.md", 2), ("charts/cloudsms/README.md", 3)])
def test_documented_values_examples_render(doc, least):
    """Every ```yaml block of chart values in the docs passes the schema and
    renders (the values-prod.yaml example once enabled the ingress without
    the trusted proxies the chart requires)."""
    with helm_chart.Chart.load(CHART) as chart:
        schema_keys = set(chart.schema["properties"])
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / doc).read_text(), re.S)
    examples = [v for v in map(yaml.safe_load, blocks) if isinstance(v, dict) and set(v) <= schema_keys]
    assert len(examples) >= least, f"{doc}: expected at least {least} values examples"
    for values in examples:
        objects = render(values)
        assert len(of_kind(objects, "Deployment")) == len(SERVICES)


# --- managed backends ----------------------------------------------------------------


def test_backend_credentials_come_from_secrets_and_tls_files_from_mounts():
    """Backend passwords and seeds reach every service from a Secret, never
    the ConfigMap; TLS and creds files are paths of mounted volumes."""
    values = {
        "nats": {"url": "tls://nats:4222", "user": "cloudsms", "caFile": "/etc/cloudsms/tls/ca.pem",
                 "certFile": "/etc/cloudsms/tls/client.pem", "keyFile": "/etc/cloudsms/tls/client.key"},
        "redis": {"url": "rediss://redis:6380", "caFile": "/etc/cloudsms/tls/ca.pem"},
        "telemetry": {"otlpEndpoint": "https://collector:4317", "otlpCaFile": "/etc/cloudsms/tls/ca.pem"},
        "secrets": {"natsPassword": "nats-pass-123", "redisPassword": "redis-pass-456"},
        "extraVolumes": [{"name": "backend-tls", "secret": {"secretName": "backend-tls"}}],
        "extraVolumeMounts": [{"name": "backend-tls", "mountPath": "/etc/cloudsms/tls", "readOnly": True}],
    }
    objects = render(values)
    (cm,) = of_kind(objects, "ConfigMap")
    data = cm["data"]
    assert data["CLOUDSMS_NATS__USER"] == "cloudsms"
    assert data["CLOUDSMS_NATS__CA_FILE"] == "/etc/cloudsms/tls/ca.pem"
    assert data["CLOUDSMS_REDIS__CA_FILE"] == "/etc/cloudsms/tls/ca.pem"
    assert data["CLOUDSMS_TELEMETRY__OTLP_CA_FILE"] == "/etc/cloudsms/tls/ca.pem"
    assert "nats-pass-123" not in str(data) and "redis-pass-456" not in str(data)
    refs = secret_refs(objects)
    for service in ("gateway", "message-ingest", "captcha-verification", "log-retention"):
        assert "CLOUDSMS_NATS__PASSWORD" in refs[service], service
        assert "CLOUDSMS_REDIS__PASSWORD" in refs[service], service
    secret = chart_secret(objects)
    assert secret is not None and "CLOUDSMS_NATS__PASSWORD" in secret["data"]
    # A Secret of yours can hold them instead, under its own key names.
    mapped = render({"secrets": {"existingSecret": "mine", "existingSecretKeys": {
        "CLOUDSMS_NATS__NKEY_SEED": {"name": "nats-user", "key": "seed"}}}})
    ref = secret_refs(mapped)["gateway"]["CLOUDSMS_NATS__NKEY_SEED"]
    assert (ref["name"], ref["key"]) == ("nats-user", "seed")
