"""The two ways a notice reaches a person, behind one small interface:

    channels.send(channel, address, subject, text, reference)

raises `ChannelFailed` when the channel did not take the message (the notice is then
tried again later). E-mail goes over SMTP (in development and tests to the SMTP sink,
`python -m shared.ops.mailsink`). SMS goes through a provider adapter: `http` posts to
the provider's HTTP API; `sink` (development, tests) appends what would be sent to a
file, one JSON object a line.
"""
from __future__ import annotations

import json
import smtplib
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import requests
from nameko.extensions import DependencyProvider

from shared.settings import CannotStart


class ChannelFailed(Exception):
    """The channel did not accept the message; the reason never quotes its text."""


class Email:
    def __init__(self, host: str, port: int, sender: str, security: str = "none",
                 username: str = "", password: str = "", timeout: float = 10.0):
        self.host, self.port, self.sender, self.security = host, port, sender, security
        self.username, self.password, self.timeout = username, password, timeout

    def send(self, address: str, subject: str, text: str, reference: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, address, subject
        message["Message-ID"] = make_msgid(idstring=reference)
        message["X-CEA-Notice"] = reference
        message.set_content(text, charset="utf-8")
        try:
            smtp_cls = smtplib.SMTP_SSL if self.security == "ssl" else smtplib.SMTP
            with smtp_cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelFailed(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}"[:300]) from None


class SmsSink:
    """Development and tests: what would be sent, appended to a file."""

    def __init__(self, path: str):
        self.path = Path(path)

    def send(self, address: str, subject: str, text: str, reference: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"to": address, "text": text, "reference": reference,
                                      "at": datetime.now(timezone.utc).isoformat()}, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise ChannelFailed(f"SMS sink {self.path}: {exc}") from None


class SmsHttp:
    """A provider's HTTP API: POST {to, text, reference} with a bearer key; any 2xx
    is accepted. The reference lets the provider drop a repeated request."""

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, address: str, subject: str, text: str, reference: str) -> None:
        try:
            answer = requests.post(self.url, json={"to": address, "text": text, "reference": reference},
                                   headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ChannelFailed(f"SMS provider: {type(exc).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise ChannelFailed(f"SMS provider answered {answer.status_code}")


class Channels(DependencyProvider):
    def setup(self):
        c = self.container.config
        self.email = Email(str(c.get("SMTP_HOST", "127.0.0.1")), int(c.get("SMTP_PORT", 8025)),
                           str(c.get("MAIL_FROM", "碳排放管理员 <noreply@cea.invalid>")),
                           str(c.get("SMTP_SECURITY", "none")), str(c.get("SMTP_USERNAME") or ""),
                           str(c.get("SMTP_PASSWORD") or ""))
        provider = str(c.get("SMS_PROVIDER", "sink"))
        if provider == "sink":
            self.sms = SmsSink(str(c.get("SMS_SINK_FILE", "var/sms/outbox.jsonl")))
        elif provider == "http":
            if not c.get("SMS_HTTP_URL") or not c.get("SMS_HTTP_TOKEN"):
                raise CannotStart("SMS_PROVIDER=http needs SMS_HTTP_URL and SMS_HTTP_TOKEN")
            self.sms = SmsHttp(str(c["SMS_HTTP_URL"]), str(c["SMS_HTTP_TOKEN"]))
        else:
            raise CannotStart(f"SMS_PROVIDER is {provider!r}: sink or http")

    def get_dependency(self, worker_ctx):
        return self

    def send(self, channel: str, address: str, subject: str, text: str, reference: str) -> None:
        (self.sms if channel == "sms" else self.email).send(address, subject, text, reference)
