"""End to end: the six services as separate processes (`python -m shared.runner`) behind
the gateway (nginx, deploy/gateway/nginx.conf), one learner driven from enrollment to a
publicly verified certificate over HTTP only, every call through the gateway's one port,
with real logins: the administrator made by `make admin`, the base operator and examiner
created by it, the learner's login opened by payment; the initial passwords read from the
SMTP sink and the SMS sink; the domain services verify identity's tokens against its
published keys (JWKS)."""
import json
import os
import subprocess
import sys

import pytest

from shared.ops.gateway import nginx_binary
from shared.ops.journey import Journey, People, Services
from shared.ops.mailsink import read
from shared.tokens import generate_key_pair
from tests.support.gateway import RunningGateway
from tests.support.processes import ROOT, ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS
from tests.support.sinks import SmsOutbox

NAMES = ("enrollment", "billing", "learning", "exam", "certificate")
ADMIN_PASSWORD = "Quanguo-Tanpaifang-2026"


@pytest.fixture
def running(services, tmp_path, mail_sink):
    identity_config = {**services.config("identity"), "TOKEN_SIGNING_KEYS": generate_key_pair()[0].decode(),
                       "SMTP_PORT": str(mail_sink.port)}
    env = {**os.environ, "IDENTITY_DATABASE_URL": identity_config["DATABASE_URL"],
           "IDENTITY_ADMIN_PASSWORD": ADMIN_PASSWORD, "IDENTITY_PASSWORD_HASH_MEMORY_KIB": "8192",
           "IDENTITY_PASSWORD_HASH_TIME_COST": "1", "IDENTITY_PASSWORD_HASH_PARALLELISM": "1"}
    made = subprocess.run([sys.executable, "-m", "services.identity.admin", "--login", "e2e.admin",
                           "--name", "端到端管理员", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    identity = ServiceProcess(SERVICE_CLASSES["identity"], identity_config, tmp_path, "identity")
    jwks = {"JWKS_URL": f"{identity.url}/identity/jwks.json", "JWKS_MIN_REFETCH_SECONDS": "0"}
    processes = {name: ServiceProcess(SERVICE_CLASSES[name], {**services.config(name), **jwks}, tmp_path, name)
                 for name in NAMES}
    processes["identity"] = identity
    try:
        for proc in processes.values():
            proc.start(wait_ready=False)
        for proc in processes.values():
            proc.wait_ready()
        yield processes, json.loads(made.stdout)
    finally:
        for proc in processes.values():
            proc.stop()


@pytest.fixture
def gateway(running, tmp_path):
    """The gateway in front of the six; without nginx (and not required) the journey
    still runs, calling each service on its own port."""
    if nginx_binary() is None and not os.environ.get("CEA_REQUIRE_GATEWAY"):
        yield None
        return
    processes, _ = running
    front = RunningGateway(tmp_path / "gateway", {n: f"127.0.0.1:{p.port}" for n, p in processes.items()}).start()
    yield front
    front.stop()


def test_a_learner_goes_from_enrollment_to_a_verified_certificate(running, gateway, keys, services, mail_sink):
    processes, admin = running
    secret = dict(p.split(":") for p in TEST_SETTINGS["QR_PROVIDER_SECRETS"].split(","))["wechat_pay"]
    sms = SmsOutbox(services.workdir / "sms.jsonl")
    people = People(
        admin["login_name"], ADMIN_PASSWORD, admin["totp_secret"],
        mail=lambda to, words: next((m.text for m in read(mail_sink.maildir) if m.to == to and words in m.text), None),
        sms=lambda to, words: next((m["text"] for m in sms.messages(to) if words in m["text"]), None))
    if gateway:
        urls = Services(*([gateway.url] * len(NAMES)), identity=gateway.url)
    else:
        urls = Services(*(processes[n].url for n in NAMES), identity=processes["identity"].url)
    journey = Journey(urls, keys.private, secret, base_code="E2E", people=people)
    journey.ensure_base()
    outcome = journey.run()

    enrollment = outcome["enrollment"]
    assert enrollment["status"] == "certified"
    assert [h["to_status"] for h in enrollment["history"]] == [
        "submitted", "awaiting_payment", "active", "coursework_complete", "exam_passed", "certified"]
    assert outcome["verified"]["status"] == "valid"
    assert outcome["verified"]["holder_name"] == outcome["name"]
    assert enrollment["certificate_number"] == outcome["certificate"]["number"]
    said = " ".join(text for _, text in journey.steps)
    assert "password from the SMS" in said and "password from the e-mail" in said

    # What the learner was told, each once, in order, all delivered.
    told = [n["kind"] for n in sorted(outcome["notices"], key=lambda n: n["created_at"])]
    assert told[:2] == ["login-opened", "payment-received"] or told[:2] == ["payment-received", "login-opened"]
    assert told[2:] == ["sitting-assigned", "exam-passed", "certificate-issued"]
    assert all(n["state"] == "delivered" and n["channel"] == "sms" for n in outcome["notices"])
    received = [m["text"] for m in sms.messages(outcome["mobile"])]
    assert len(received) == 5 and outcome["certificate"]["number"] in received[-1]

    trail = journey._until("the whole trail", lambda: (t := journey.trail(enrollment["enrollment_id"]))
                           and {("certificate", "exam.graded"), ("identity", "certificate.issued")}
                           <= {(s["service"], s["type"]) for s in t if s["direction"] == "handled"}
                           and sum(s["type"] == "identity.notice-delivered" for s in t) == 5 and t)
    emitted = [s["type"] for s in trail if s["direction"] == "emitted"]
    assert sorted(emitted) == sorted([
        "enrollment.enrolled", "billing.order-opened", "billing.paid", "learning.account-opened",
        "learning.study-started", "learning.course-completed", "exam.registered", "exam.graded",
        "certificate.issued", "identity.login-opened"] + ["identity.notice-delivered"] * 5)  # each once
    handled = sorted((s["service"], s["type"]) for s in trail if s["direction"] == "handled")
    assert len(handled) == len(set(handled)) == 19

    if gateway is None:
        return
    # Every call went through the gateway: its access log names each service's prefix.
    logged = [json.loads(line) for line in gateway.log().splitlines() if line.startswith("{")]
    assert {entry["path"].split("/")[1] for entry in logged if entry["upstream"]} == set(NAMES) | {"identity"}
