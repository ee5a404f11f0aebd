"""Where the tests read what people were told: the SMTP sink (its own process, as
`make run` starts it) and the SMS development sink's file."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from shared.ops.mailsink import Mail, read
from tests.support.processes import ROOT, free_port
from tests.support.wait import wait_for

_INITIAL = re.compile(r"初始密码：([A-Za-z0-9]+)。")
_CODE = re.compile(r"验证码：([0-9]{6})")


def initial_password(text: str) -> str:
    return _INITIAL.search(text).group(1)


def reset_code(text: str) -> str:
    return _CODE.search(text).group(1)


class MailSink:
    def __init__(self, maildir: Path):
        self.maildir, self.port, self.process = Path(maildir), free_port(), None

    def start(self) -> "MailSink":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.ops.mailsink", "--port", str(self.port), "--maildir", str(self.maildir)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self._listening, timeout=15, message="the SMTP sink did not start")
        return self

    def _listening(self) -> bool:
        assert self.process.poll() is None, "the SMTP sink exited"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def messages(self, to: str | None = None) -> list[Mail]:
        return [m for m in read(self.maildir) if to is None or m.to == to]

    def expect(self, to: str, containing: str = "", timeout: float = 20.0) -> Mail:
        return wait_for(lambda: next((m for m in self.messages(to) if containing in m.text), None),
                        timeout=timeout, message=f"no mail to {to} containing {containing!r}")


class SmsOutbox:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    def messages(self, to: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        found = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
        return [m for m in found if to is None or m["to"] == to]

    def expect(self, to: str, containing: str = "", timeout: float = 20.0) -> dict:
        return wait_for(lambda: next((m for m in self.messages(to) if containing in m["text"]), None),
                        timeout=timeout, message=f"no SMS to {to} containing {containing!r}")
