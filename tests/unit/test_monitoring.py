"""deploy/monitoring as Prometheus and Grafana read it: the alert rules pass
`promtool check rules` and their unit tests (`promtool test rules`), the compose
scrape configuration passes `promtool check config`, and the dashboard is one
Grafana can provision. (tests/integration/test_alerts.py runs them against a live
service.) promtool is Debian's `prometheus` package; without it these are skipped
unless CEA_REQUIRE_PROMETHEUS is set."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.ops import local

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
ALERTS = ("CeaDeadLetter", "CeaOutboxStuck", "CeaQueueWithoutConsumers", "CeaBrokerDisconnected",
          "CeaHttp5xxRate", "CeaReadinessFlapping")


def promtool(*args) -> str:
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CEA_REQUIRE_PROMETHEUS"):
            pytest.fail("CEA_REQUIRE_PROMETHEUS is set but promtool is not installed (Debian: prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    done = subprocess.run([tool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_alert_rules_pass_promtool_and_their_unit_tests():
    assert "SUCCESS: 7 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def test_every_alert_the_operators_asked_for_is_there_and_unit_tested():
    rules = {r["alert"] for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    assert set(ALERTS) <= rules
    tests = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert tested == rules  # each rule is seen firing at least once


def test_the_compose_scrape_configuration_passes_promtool_and_scrapes_every_service():
    promtool("check", "config", "prometheus.yml")
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    cea = next(job for job in config["scrape_configs"] if job["job_name"] == "cea")
    labelled = {t["labels"]["service"]: t["targets"][0] for t in cea["static_configs"]}
    assert set(labelled) == set(local.SERVICES)
    assert all(address.startswith(f"{name}:") for name, address in labelled.items())


def test_the_dashboard_is_provisioned_from_the_prometheus_data_source():
    grafana = MONITORING / "grafana"
    source = yaml.safe_load((grafana / "datasources/prometheus.yml").read_text())["datasources"][0]
    provider = yaml.safe_load((grafana / "dashboards/cea.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards"  # the folder mounted
    dashboard = json.loads((grafana / "dashboards/cea.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for p in panels:
        assert p["datasource"]["uid"] == source["uid"], p["title"]
        assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
        assert 0 <= p["gridPos"]["x"] and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]
    titles = " ".join(p["title"].lower() for p in panels)
    for subject in ("dead letters", "consumers", "outbox", "handler latency", "http latency", "5xx"):
        assert subject in titles, subject
