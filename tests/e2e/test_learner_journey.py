"""End to end: the five services as separate processes (`python -m shared.runner`), one learner
driven from enrollment to a publicly verified certificate over HTTP only."""
import pytest

from shared.ops.journey import Journey, Services
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


def test_a_learner_goes_from_enrollment_to_a_verified_certificate(running, keys):
    secret = dict(p.split(":") for p in TEST_SETTINGS["QR_PROVIDER_SECRETS"].split(","))["wechat_pay"]
    journey = Journey(Services(*(running[n].url for n in NAMES)), keys.private, secret, base_code="E2E")
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
