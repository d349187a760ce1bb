"""Prometheus: the chart's metrics port, ServiceMonitor and PrometheusRule,
and the shipped alert rules and dashboard in deploy/ (rules checked and
unit-tested with promtool; that every series they query exists is checked
by the Rust scrape test, tests/tests/it/metrics_scrape.rs)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import CHART, DEPLOY, SERVICES, of_kind, pod_spec, render

METRICS = {"metrics": {"enabled": True}}


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: scripts/chart.sh installs Debian's prometheus package (as root)"
    return path


def test_metrics_are_off_by_default(default_objects):
    (cm,) = of_kind(default_objects, "ConfigMap")
    assert cm["data"]["CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN"] == ""
    for svc in of_kind(default_objects, "Service"):
        assert "metrics" not in [p["name"] for p in svc["spec"]["ports"]]
    assert not [o for o in default_objects if o["apiVersion"].startswith("monitoring.coreos.com/")]


def test_metrics_port_on_every_service_pod_and_service():
    objects = render({**METRICS, "networkPolicy": {"enabled": True}})
    (cm,) = of_kind(objects, "ConfigMap")
    assert cm["data"]["CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN"] == "0.0.0.0:9464"
    deployments = of_kind(objects, "Deployment")
    assert len(deployments) == len(SERVICES)
    for deployment in deployments:
        (container,) = pod_spec(deployment)["containers"]
        assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in container["ports"]
    for svc in of_kind(objects, "Service"):
        assert {"name": "metrics", "port": 9464, "targetPort": "metrics", "protocol": "TCP"} in svc["spec"]["ports"]
    for policy in of_kind(objects, "NetworkPolicy"):
        ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])]
        assert 9464 in ports, policy["metadata"]["name"]


def test_service_monitor_scrapes_every_service():
    values = {"metrics": {"enabled": True, "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    objects = render(values)
    (monitor,) = of_kind(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint == {"port": "metrics", "path": "/metrics", "interval": "30s"}
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [
        s for s in of_kind(objects, "Service")
        if all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]
    assert sorted(s["metadata"]["labels"]["app.kubernetes.io/component"] for s in selected) == sorted(SERVICES)
    with pytest.raises(Exception, match="metrics.enabled"):
        render({"metrics": {"serviceMonitor": {"enabled": True}}})


def test_prometheus_rule_holds_the_shipped_alerts(tmp_path):
    assert (CHART / "files" / "alerts.yaml").read_text() == (DEPLOY / "prometheus" / "alerts.yaml").read_text(), (
        "charts/cloudsms/files/alerts.yaml must be a copy of deploy/prometheus/alerts.yaml"
    )
    objects = render({"metrics": {"prometheusRule": {"enabled": True}}})
    (rule,) = of_kind(objects, "PrometheusRule")
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"] == shipped
    # Helm left the alert templates alone: promtool accepts what the chart renders.
    rendered = tmp_path / "rules.yaml"
    rendered.write_text(yaml.safe_dump(rule["spec"]))
    subprocess.run([promtool(), "check", "rules", str(rendered)], check=True, capture_output=True)


def test_alert_rules_pass_promtool_and_their_unit_tests():
    for args in (["check", "rules", "alerts.yaml"], ["test", "rules", "alerts.test.yaml"]):
        result = subprocess.run([promtool(), *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_is_a_grafana_dashboard_over_one_datasource():
    dashboards = sorted((DEPLOY / "grafana").glob("*.json"))
    assert dashboards
    for path in dashboards:
        board = json.loads(path.read_text())
        assert board["uid"] and board["title"]
        variables = {v["name"] for v in board["templating"]["list"]}
        assert {"datasource", "job"} <= variables
        assert len(board["panels"]) >= 8
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]
                assert 'job=~"$job"' in target["expr"], f"{panel['title']}: {target['expr']}"
