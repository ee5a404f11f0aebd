"""Learner lifecycles per second: the five services as processes, learners driven
concurrently from enrollment to a verified certificate over HTTP."""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.ops.journey import Journey, Services
from shared.tokens import generate_key_pair
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

NAMES = ("enrollment", "billing", "learning", "exam", "certificate")


def run(amqp_uri: str, learners: int, concurrency: int) -> dict:
    private, public = generate_key_pair()
    secret = dict(p.split(":") for p in TEST_SETTINGS["QR_PROVIDER_SECRETS"].split(","))["wechat_pay"]
    with tempfile.TemporaryDirectory() as tmp:
        processes = {}
        for name in NAMES:
            config = {"AMQP_URI": amqp_uri, "DATABASE_URL": f"sqlite:///{tmp}/{name}.sqlite3",
                      "JWT_PUBLIC_KEY": public.decode(), **TEST_SETTINGS}
            processes[name] = ServiceProcess(SERVICE_CLASSES[name], config, Path(tmp), name)
        try:
            for proc in processes.values():
                proc.start(wait_ready=False)
            for proc in processes.values():
                proc.wait_ready()
            urls = Services(*(processes[n].url for n in NAMES))
            Journey(urls, private, secret, base_code="BENCH").ensure_base()

            def one(_):
                return Journey(urls, private, secret, base_code="BENCH", timeout=120).run()

            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                outcomes = list(pool.map(one, range(learners)))
            seconds = time.perf_counter() - started
        finally:
            for proc in processes.values():
                proc.stop()
    assert all(o["verified"]["status"] == "valid" for o in outcomes)
    return {"n": learners, "seconds": seconds, "rate": learners / seconds}
