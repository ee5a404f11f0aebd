"""The alert rules and the dashboard against the real thing: Debian's Prometheus
scrapes a running service (its own process) with deploy/monitoring/alerts.yml
loaded; a message put on the service's dead-letter queue makes CeaDeadLetter fire.
Every expression of the rules and the dashboard is accepted by that Prometheus and
names metrics the service really exports.

Without Debian's prometheus the test is skipped, unless CEA_REQUIRE_PROMETHEUS is set."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import amqp
import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.messaging import topology
from shared.messaging.broker import connect
from tests.support.processes import ServiceProcess, free_port
from tests.support.services import SERVICE_CLASSES
from tests.support.wait import wait_for

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",),
            "summary": ("_count", "_sum", ""), "info": ("_info",), "unknown": ("",)}


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def billing(services, tmp_path):
    process = ServiceProcess(SERVICE_CLASSES["billing"], services.config("billing"), tmp_path, "billing")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def prometheus(billing, tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CEA_REQUIRE_PROMETHEUS"):
            pytest.fail("CEA_REQUIRE_PROMETHEUS is set but prometheus is not installed (Debian: prometheus)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(MONITORING / "alerts.yml")],
        "scrape_configs": [{"job_name": "cea", "static_configs": [
            {"targets": [f"127.0.0.1:{billing.port}"], "labels": {"service": "billing"}}]}]}))
    url = f"http://127.0.0.1:{free_port()}"
    log = open(tmp_path / "prometheus.log", "wb")
    process = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                f"--web.listen-address={url[len('http://'):]}", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        def ready():
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            try:
                return requests.get(url + "/-/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(ready, timeout=60, message="Prometheus did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def query(url, expr):
    answer = requests.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def alerts(url, name):
    return [a for a in requests.get(url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            if a["labels"]["alertname"] == name]


def test_a_dead_letter_makes_the_alert_fire(prometheus, billing, services):
    scraped = wait_for(lambda: query(prometheus, 'cea_dead_letters{service="billing"}'), timeout=30,
                       message="Prometheus never scraped billing's dead letters")
    assert scraped[0]["value"][1] == "0"
    assert alerts(prometheus, "CeaDeadLetter") == []

    conn = connect(services.amqp_uri, name="test-dead-letter")
    channel = conn.channel()
    channel.basic_publish(amqp.Message(b'{"id": "not really an event"}', delivery_mode=2,
                                       application_headers={"x-cea-reason": "invalid"}),
                          exchange="", routing_key=topology.dead_letter_queue("billing"))
    conn.collect()

    fired = wait_for(lambda: [a for a in alerts(prometheus, "CeaDeadLetter") if a["state"] == "firing"],
                     timeout=60, message="CeaDeadLetter never fired")
    assert fired[0]["labels"]["service"] == "billing"
    assert fired[0]["annotations"]["summary"] == "billing: 1 dead letter(s) waiting"


def _expressions():
    rules = [r["expr"] for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
             for r in g["rules"]]
    dashboard = json.loads((MONITORING / "grafana/dashboards/cea.json").read_text())
    panels = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return rules + panels


def test_every_rule_and_dashboard_expression_runs_on_metrics_the_service_exports(prometheus, billing):
    exported = set()
    for family in text_string_to_metric_families(requests.get(billing.url + "/metrics", timeout=10).text):
        exported |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    for expr in _expressions():
        query(prometheus, expr)  # Prometheus parses and runs it
        for name in re.findall(r"\b((?:cea|process)_[a-z_]+)\b", expr):
            assert name in exported, f"{name} (in {expr}) is not a metric billing exports"
