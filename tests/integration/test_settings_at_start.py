"""A service process checks its settings before it serves (architecture.md, "Faults and
edges"): exit 2 with every problem named; the development profile says what it is."""
import json

import requests

from shared.settings import load_config
from tests.support.processes import ROOT, ServiceProcess
from tests.support.services import SERVICE_CLASSES

EXIT_CANNOT_START = 2


def _process(services, tmp_path, name, **overrides):
    config = {**services.config(name), **{k: v for k, v in overrides.items() if v is not None}}
    for key in [k for k, v in overrides.items() if v is None]:
        config.pop(key, None)
    return ServiceProcess(SERVICE_CLASSES[name], config, tmp_path, name)


def test_a_missing_id_hash_key_stops_the_start_and_is_named(services, tmp_path):
    proc = _process(services, tmp_path, "enrollment", ID_HASH_KEY=None).start(wait_ready=False)
    assert proc.process.wait(timeout=60) == EXIT_CANNOT_START
    assert "ID_HASH_KEY is missing (set CEA_ID_HASH_KEY)" in proc.log()


def test_outside_development_a_published_secret_stops_the_start(services, tmp_path):
    proc = _process(services, tmp_path, "billing", PROFILE="production",
                    QR_PROVIDER_SECRETS="wechat_pay:dev-wechat-secret").start(wait_ready=False)
    assert proc.process.wait(timeout=60) == EXIT_CANNOT_START
    log = proc.log()
    assert "QR_PROVIDER_SECRETS (BILLING_QR_PROVIDER_SECRETS) is a development value" in log
    assert "AMQP_URI (AMQP_URI) is a development value" in log  # guest:guest


def test_the_development_profile_says_so_first_and_in_readiness(services, tmp_path):
    logging = load_config(str(ROOT / "services/certificate/config.yaml"))["LOGGING"]  # JSON lines
    proc = _process(services, tmp_path, "certificate", PROFILE="development", LOGGING=logging).start()
    try:
        ready = requests.get(proc.url + "/health/ready", timeout=10).json()
        assert ready["profile"] == "development" and "development" in ready["warning"]
        first = next(line for line in proc.log().splitlines() if line.startswith("{"))
        assert "DEVELOPMENT PROFILE" in json.loads(first)["message"]
    finally:
        assert proc.stop() == 0
