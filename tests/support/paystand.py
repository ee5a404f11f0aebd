"""The WeChat Pay stand-in as its own process (python -m shared.dev.paystand serve),
with test keys made in the test's folder, and billing's settings pointing at it."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from shared.dev.paystand import keys
from tests.support.processes import ROOT, free_port
from tests.support.wait import wait_for


@functools.lru_cache(maxsize=1)
def test_keys() -> keys.KeyFiles:
    """Keys for every billing a test starts (made once per test run)."""
    return keys.ensure(Path(tempfile.mkdtemp(prefix="cea-wechatpay-")))


def billing_settings(files: keys.KeyFiles, base_url: str, notify_url: str) -> dict:
    """billing's WECHATPAY_* settings for these keys and this WeChat Pay."""
    path = files.path
    return {"WECHATPAY_MCHID": keys.DEV_MCHID, "WECHATPAY_APPID": keys.DEV_APPID,
            "WECHATPAY_MERCHANT_CERT_FILE": str(path(keys.MERCHANT_CERT)),
            "WECHATPAY_PRIVATE_KEY_FILE": str(path(keys.MERCHANT_KEY)),
            "WECHATPAY_APIV3_KEY_FILE": str(path(keys.APIV3_KEY)),
            "WECHATPAY_PUBLIC_KEY_FILE": str(path(keys.PLATFORM_PUBLIC)),
            "WECHATPAY_PUBLIC_KEY_ID": files.text(keys.PLATFORM_ID),
            "WECHATPAY_BASE_URL": base_url, "WECHATPAY_NOTIFY_URL": notify_url}


# Billing started without a stand-in: valid keys, and a WeChat Pay that cannot be reached.
UNREACHABLE = "http://127.0.0.1:9"


class PayStand:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.keys = keys.ensure(self.workdir / "wechatpay")
        self.port = free_port()
        self.log_path = self.workdir / "paystand.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "PayStand":
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.dev.paystand", "serve", "--dir", str(self.keys.directory),
                 "--port", str(self.port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        def answers():
            if self.process.poll() is not None:
                raise AssertionError(f"the stand-in exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                return requests.get(self.url + "/paystand/health", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(answers, timeout=30, interval=0.1, message="the WeChat Pay stand-in did not answer")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def billing_settings(self, billing_port: int) -> dict:
        """billing's WECHATPAY_* settings for this stand-in, billing on billing_port."""
        notify = f"http://127.0.0.1:{billing_port}/billing/payments/wechatpay/notify"
        return {"WEB_SERVER_ADDRESS": f"127.0.0.1:{billing_port}",
                **billing_settings(self.keys, self.url, notify)}

    def pay(self, out_trade_no: str, **options) -> dict:
        """The payer pays: what billing answered (`delivered`) and the notification."""
        answer = requests.post(f"{self.url}/paystand/wechatpay/orders/{out_trade_no}/pay", json=options,
                               timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()
