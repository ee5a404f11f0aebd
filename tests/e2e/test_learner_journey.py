"""End to end: the five services as separate processes (`python -m shared.runner`) behind
the gateway (nginx, deploy/gateway/nginx.conf), one learner driven from enrollment to a
publicly verified certificate over HTTP only, every call through the gateway's one port."""
import json
import os

import pytest

from shared.ops.gateway import nginx_binary
from shared.ops.journey import Journey, Services
from tests.support.gateway import RunningGateway
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

NAMES = ("enrollment", "billing", "learning", "exam", "certificate")


@pytest.fixture
def running(services, tmp_path):
    processes = {name: ServiceProcess(SERVICE_CLASSES[name], services.config(name), tmp_path, name)
                 for name in NAMES}
    try:
        for proc in processes.values():
            proc.start(wait_ready=False)
        for proc in processes.values():
            proc.wait_ready()
        yield processes
    finally:
        for proc in processes.values():
            proc.stop()


@pytest.fixture
def gateway(running, tmp_path):
    """The gateway in front of the five; without nginx (and not required) the journey
    still runs, calling each service on its own port."""
    if nginx_binary() is None and not os.environ.get("CEA_REQUIRE_GATEWAY"):
        yield None
        return
    front = RunningGateway(tmp_path / "gateway", {n: f"127.0.0.1:{running[n].port}" for n in NAMES}).start()
    yield front
    front.stop()


def test_a_learner_goes_from_enrollment_to_a_verified_certificate(running, gateway, keys):
    secret = dict(p.split(":") for p in TEST_SETTINGS["QR_PROVIDER_SECRETS"].split(","))["wechat_pay"]
    urls = [gateway.url] * len(NAMES) if gateway else [running[n].url for n in NAMES]
    journey = Journey(Services(*urls), keys.private, secret, base_code="E2E")
    journey.ensure_base()
    outcome = journey.run()

    enrollment = outcome["enrollment"]
    assert enrollment["status"] == "certified"
    assert [h["to_status"] for h in enrollment["history"]] == [
        "submitted", "awaiting_payment", "active", "coursework_complete", "exam_passed", "certified"]
    assert outcome["verified"]["status"] == "valid"
    assert outcome["verified"]["holder_name"] == outcome["name"]
    assert enrollment["certificate_number"] == outcome["certificate"]["number"]

    trail = journey._until("the whole trail", lambda: (t := journey.trail(enrollment["enrollment_id"]))
                           and {"certificate.issued"} <= {s["type"] for s in t if s["direction"] == "handled"} and t)
    emitted = [s["type"] for s in trail if s["direction"] == "emitted"]
    assert sorted(emitted) == sorted([
        "enrollment.enrolled", "billing.order-opened", "billing.paid", "learning.account-opened",
        "learning.study-started", "learning.course-completed", "exam.graded",
        "certificate.issued"])  # each exactly once
    handled = sorted((s["service"], s["type"]) for s in trail if s["direction"] == "handled")
    assert len(handled) == len(set(handled)) == 13

    if gateway is None:
        return
    # Every call went through the gateway: its access log names each service's prefix.
    logged = [json.loads(line) for line in gateway.log().splitlines() if line.startswith("{")]
    assert {entry["path"].split("/")[1] for entry in logged if entry["upstream"]} == set(NAMES)
