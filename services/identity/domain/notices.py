"""Notices: which template, which channel, the wording of values, when to try again
and when to remind. Pure; the templates are data (services/identity/notices.yaml)."""
from __future__ import annotations

import string
from urllib.parse import urlencode
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from shared.calendar import PROGRAM_TZ

TEMPLATES_FILE = Path(__file__).resolve().parents[1] / "notices.yaml"
SECRET_KINDS = ("initial-password", "reset-code")
LEVEL_NAMES = {"L4": "四级", "L3": "三级"}
PAYMENT_CHANNELS = {"wechat_pay": "微信支付", "alipay": "支付宝", "bank_transfer": "银行转账"}
ROLE_NAMES = {"base_operator": "培训基地操作员", "finance_clerk": "财务", "examiner": "阅卷与题库",
              "admin": "管理员", "operator": "运维"}
REMINDER_DAYS = (30, 7)
REMINDER_HOUR = time(9, 0)  # nobody is texted at midnight


@dataclass(frozen=True)
class Template:
    kind: str
    to: str
    subject: str
    text: str
    secret: str | None

    @property
    def fields(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}

    def render(self, values: dict, secret: str | None = None) -> tuple[str, str]:
        """(subject, text). A missing value is a bug in the caller: KeyError."""
        if (self.secret is None) != (secret is None):
            raise ValueError(f"{self.kind}: a secret is {'needed' if self.secret else 'not expected'}")
        filled = dict(values, secret=secret) if secret is not None else values
        return self.subject, self.text.format_map(filled)


@lru_cache(maxsize=1)
def templates() -> dict[str, Template]:
    raw = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))
    found = {}
    for kind, t in raw.items():
        text = "".join(line.strip() for line in t["text"].splitlines())
        secret = t.get("secret")
        if secret is not None and secret not in SECRET_KINDS:
            raise ValueError(f"{kind}: unknown secret {secret!r}")
        found[kind] = Template(kind, t["to"], t["subject"], text, secret)
    return found


def template(kind: str) -> Template:
    return templates()[kind]


# -- channels --------------------------------------------------------------------------

def choose_channel(*, mobile: str | None, email: str | None, prefer: str) -> tuple[str, str] | None:
    """The one channel a notice goes through: the preferred one when the person has
    it, else the other; None when they have neither."""
    have = {"sms": mobile, "email": email}
    other = "email" if prefer == "sms" else "sms"
    for channel in (prefer, other):
        if have[channel]:
            return channel, have[channel]
    return None


def mask_address(channel: str, address: str) -> str:
    if channel == "sms":
        return address[:3] + "****" + address[-4:]
    local, _, domain = address.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


# -- retries and reminders -------------------------------------------------------------

def retry_after(attempts_made: int, delays: tuple[float, ...]) -> timedelta | None:
    """The wait before the next attempt, or None when the retries are spent."""
    if attempts_made > len(delays):
        return None
    return timedelta(seconds=delays[attempts_made - 1])


def next_reminder(valid_until: date, today: date, below: int | None = None) -> tuple[int, date] | None:
    """The next reminder of an account's end (30 or 7 days before), not one whose
    day has passed, and (after one was sent) only a later, smaller one."""
    for days in REMINDER_DAYS:
        if below is not None and days >= below:
            continue
        on = valid_until - timedelta(days=days)
        if on >= today:
            return days, on
    return None


def reminder_sent(days_left: int) -> int:
    """Which reminder a message sent with `days_left` stands for (a late one counts as
    the reminder it replaces), so the next is only a smaller one."""
    return min(d for d in REMINDER_DAYS if d >= min(days_left, REMINDER_DAYS[0]))


def reminder_due(on: date, now: datetime) -> bool:
    return now >= datetime.combine(on, REMINDER_HOUR, tzinfo=PROGRAM_TZ)


# -- values in the program's words ---------------------------------------------------------

def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def local_time(instant: datetime) -> str:
    t = instant.astimezone(PROGRAM_TZ)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def local_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def retake_hint(attempt_number: int) -> str:
    if attempt_number == 1:
        return "您有一次免费补考机会（首次考试后6个月内），请在学习平台选择场次报名。"
    return "如需再次参加考试，请在学习平台申请补考（需缴纳补考费）。"


def verify_url(public_base_url: str, number: str, holder_name: str) -> str:
    """The public verification page of a certificate (as the certificate service serves it)."""
    query = urlencode({"number": number, "name": holder_name})
    return f"{public_base_url.rstrip('/')}/certificate/verify/page?{query}"
