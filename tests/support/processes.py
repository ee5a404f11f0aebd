"""Services as separate operating-system processes (`python -m shared.runner`, as
they run in production), for the tests that kill them and for the end-to-end journey."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
RUNNER = [sys.executable, "-m", "shared.runner"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    def __init__(self, target: str, config: dict, workdir: Path, label: str):
        self.target, self.label, self.workdir = target, label, Path(workdir)
        self.port = free_port()
        self.config = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}"}
        self.config_path = self.workdir / f"{label}.yaml"
        self.log_path = self.workdir / f"{label}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready: bool = True, **overrides) -> "ServiceProcess":
        self.config.update({k: str(v) for k, v in overrides.items()})
        self.config_path.write_text(yaml.safe_dump(self.config, allow_unicode=True))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*RUNNER, "--config", str(self.config_path), self.target],
                                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.label} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                return requests.get(self.url + "/health/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(ready, timeout=timeout, interval=0.1, message=f"{self.label} not ready")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acks, no flush — a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops it; the exit status."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
