"""The development and test SMTP server: it accepts every message and keeps it in a
Maildir, where `make demo` and the tests read what people were sent. Never used in
production, where identity's SMTP_HOST is the organisation's mail server.

    python -m shared.ops.mailsink --port 8025 --maildir var/mail

`make run` starts it (a `Program` in shared/ops/local.py); the tests start their own.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    reference: str


def read(maildir: Path | str) -> list[Mail]:
    """Every message the sink holds, oldest first."""
    path = Path(maildir)
    if not (path / "new").exists():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    found = []
    for key in sorted(box.keys(), key=lambda k: (path / "new" / k).stat().st_mtime_ns
                      if (path / "new" / k).exists() else 0):
        message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        found.append(Mail(to=str(message["To"]), subject=str(message["Subject"]),
                          text=body.get_content().strip() if body else "",
                          reference=str(message.get("X-CEA-Notice", ""))))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.ops.mailsink", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", default="var/mail")
    args = parser.parse_args(argv)
    for sub in ("tmp", "new", "cur"):
        (Path(args.maildir) / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, keeping mail in {args.maildir}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
