"""The gateway (Debian's nginx with deploy/gateway/nginx.conf) in front of whatever a
test runs: written into the test's folder by the same class `make run` uses.

Without nginx the tests that need it are skipped, unless CEA_REQUIRE_GATEWAY is set
(CI sets it: there they must run)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from shared.ops.gateway import INSTALL_HINT, Gateway, nginx_binary
from tests.support.processes import free_port
from tests.support.wait import wait_for


def require_nginx() -> str:
    nginx = nginx_binary()
    if nginx is None:
        if os.environ.get("CEA_REQUIRE_GATEWAY"):
            pytest.fail(f"CEA_REQUIRE_GATEWAY is set but nginx is not installed ({INSTALL_HINT})")
        pytest.skip(f"nginx is not installed ({INSTALL_HINT})")
    return nginx


class RunningGateway:
    def __init__(self, directory: Path, upstreams: dict[str, str], origins=()):
        self.nginx = require_nginx()
        # nginx's workers drop root for `nobody`, which may not enter pytest's folders
        self.home = Path(tempfile.mkdtemp(prefix=f"cea-gateway-{Path(directory).name}-"))
        self.home.chmod(0o755)
        self.config = Gateway(self.home, f"127.0.0.1:{free_port()}", upstreams, list(origins))
        self.log_path = Path(directory) / "nginx.log"
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.config.url

    def start(self) -> "RunningGateway":
        self.config.write()
        problem = self.config.check(self.nginx)
        assert problem is None, problem
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.config.command(self.nginx), stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=20, interval=0.05, message="the gateway never answered")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"nginx exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(self.config.health_url, timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        shutil.rmtree(self.home, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
