"""A service's settings, checked when it starts.

Each service lists what it needs (`required_settings` on its class, besides the
broker, database and token keys every service needs). At start every one is
checked and every problem named at once: a service that would answer 500s for
want of a key does not start. Outside the development profile (`CEA_PROFILE`,
production unless set) a secret that is missing, empty or one of the development
values published in this repository refuses the start as well; in the development
profile it is allowed, and said in the log's first line and in /health/ready.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from nameko.extensions import SharedExtension

log = logging.getLogger("shared.settings")

DEVELOPMENT, PRODUCTION = "development", "production"
PROFILES = (DEVELOPMENT, PRODUCTION)

# Values that ship in this repository (deploy/dev.env, the compose file's fallbacks,
# RabbitMQ's and the compose database's default passwords): anyone can read them.
DEVELOPMENT_SECRETS = frozenset({
    "dev-only-id-hash-key-do-not-use-in-production",
    "dev-wechat-secret", "dev-alipay-secret",
    "guest", "cea",
})


def load_config(path: str) -> dict:
    """A process's config.yaml with `${VAR:default}` read from the environment (as
    nameko reads it), or a JSON file of settings."""
    import json

    import yaml
    from nameko.cli.main import setup_yaml_parser
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            return json.load(f)
        setup_yaml_parser()
        return yaml.safe_load(f)


class CannotStart(Exception):
    """The service cannot start as configured (a setting is missing, the HTTP port is
    taken): said once, plainly, and the process exits 2."""


@dataclass(frozen=True)
class Setting:
    key: str                 # in the service's config
    env: str                 # what an operator sets
    secret: bool = False     # development values refused outside development
    # Why a present value is refused (or None); `secrets` pulls the secret parts out
    # of a compound value (a URL's password, "provider:secret" pairs).
    check: Callable[[str], str | None] | None = None
    secrets: Callable[[str], list[str]] = lambda value: [value]
    optional: bool = False
    # Why a value is refused outside the development profile (a development-only value,
    # such as the study clock allowance that lets the demo study a curriculum in seconds).
    outside_development: Callable[[str], str | None] | None = None

    def problems(self, config: dict, profile: str) -> list[str]:
        raw = config.get(self.key)
        value = "" if raw is None else str(raw).strip()
        if not value:
            return [] if self.optional else [f"{self.key} is missing (set {self.env})"]
        found = []
        if self.check and (why := self.check(value)):
            found.append(f"{self.key} ({self.env}) {why}")
        elif (self.outside_development and profile != DEVELOPMENT
              and (why := self.outside_development(value))):
            found.append(f"{self.key} ({self.env}) {why} outside the development profile "
                         f"(CEA_PROFILE=development)")
        if self.secret and profile != DEVELOPMENT:
            parts = self.secrets(value)
            if any(not p.strip() for p in parts):
                found.append(f"{self.key} ({self.env}) has an empty secret")
            elif any(p.strip() in DEVELOPMENT_SECRETS for p in parts):
                found.append(f"{self.key} ({self.env}) is a development value, published in the "
                             f"repository; set a secret of this deployment (or CEA_PROFILE=development)")
        return found


def url_password(value: str) -> list[str]:
    password = urlsplit(value).password
    return [password] if password is not None else []


def provider_secrets(value: str) -> list[str]:
    return [pair.partition(":")[2] for pair in value.split(",") if pair.strip()]


def _provider_pairs(value: str) -> str | None:
    bad = [p.strip() for p in value.split(",") if p.strip() and ":" not in p]
    return f"must be provider:secret pairs separated by commas (not {bad[0]!r})" if bad else None


def whole_number(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return f"must be a whole number, not {value!r}"
        return None if low <= number <= high else f"must be between {low} and {high}, not {number}"
    return check


def rate(value: str) -> str | None:
    from limits import parse
    try:
        parse(value)
    except ValueError:
        return f"must be a rate such as 30/minute, not {value!r}"
    return None


def _key_files(value: str) -> str | None:
    files = [p.strip() for p in value.split(",") if p.strip()]
    missing = [f for f in files if not Path(f).is_file()]
    return f"names no readable file: {', '.join(missing)}" if missing else None


AMQP_URI = Setting("AMQP_URI", "AMQP_URI", secret=True, secrets=url_password)
DATABASE_URL = Setting("DATABASE_URL", "<SERVICE>_DATABASE_URL", secret=True, secrets=url_password)
ID_HASH_KEY = Setting("ID_HASH_KEY", "CEA_ID_HASH_KEY", secret=True)
QR_PROVIDER_SECRETS = Setting("QR_PROVIDER_SECRETS", "BILLING_QR_PROVIDER_SECRETS", secret=True,
                              check=_provider_pairs, secrets=provider_secrets)
TRUSTED_PROXY_HOPS = Setting("TRUSTED_PROXY_HOPS", "CEA_TRUSTED_PROXY_HOPS", check=whole_number(0, 5),
                             optional=True)


def _token_keys(config: dict, profile: str, issues_tokens: bool = False) -> list[str]:
    """Something must verify bearer tokens: identity's published keys (JWKS_URL), the
    issuer's own key ring (identity), or public key files (development tokens)."""
    if config.get("JWT_PUBLIC_KEY"):
        return []
    jwks_url = str(config.get("JWKS_URL") or "").strip()
    if jwks_url and urlsplit(jwks_url).scheme not in ("http", "https"):
        return [f"JWKS_URL (JWKS_URL) must be an http(s) URL, not {jwks_url!r}"]
    if jwks_url or issues_tokens:  # key files, if any, add development tokens
        return []
    value = str(config.get("JWT_PUBLIC_KEY_FILE") or "").strip()
    if not value:
        return ["JWT_PUBLIC_KEY_FILE is missing (set JWKS_URL to identity's published keys, or "
                "JWT_PUBLIC_KEY_FILE to the public keys that verify bearer tokens)"]
    why = _key_files(value)
    return [f"JWT_PUBLIC_KEY_FILE (JWT_PUBLIC_KEY_FILE) {why}"] if why else []


def problems(settings, config: dict, issues_tokens: bool = False) -> tuple[str, list[str]]:
    """(profile, every problem of these settings in this config)."""
    profile = str(config.get("PROFILE") or PRODUCTION).strip().lower()
    found = [] if profile in PROFILES else [
        f"PROFILE (CEA_PROFILE) must be {' or '.join(PROFILES)}, not {profile!r}"]
    found += _token_keys(config, profile, issues_tokens)
    for setting in settings:
        found += setting.problems(config, profile)
    return profile, found


class Settings(SharedExtension):
    """Checks the service's settings before anything is served.

    The check runs when the container is built (so the profile is the first line the
    service logs) and refuses the start from `setup()` with every problem named."""

    profile = PRODUCTION
    found: list[str] = []

    def bind(self, container):
        bound = super().bind(container)
        if not getattr(bound, "_checked", False):
            bound._checked = True
            common = (AMQP_URI, DATABASE_URL, TRUSTED_PROXY_HOPS)
            own = tuple(getattr(container.service_cls, "required_settings", ()))
            bound.profile, bound.found = problems(common + own, container.config,
                                                  getattr(container.service_cls, "issues_tokens", False))
            bound.announce(container.service_name)
        return bound

    def announce(self, service: str) -> None:
        if self.profile == DEVELOPMENT:
            log.warning("DEVELOPMENT PROFILE: %s accepts the development secrets published in the "
                        "repository; never expose it (CEA_PROFILE=development)", service,
                        extra={"profile": self.profile})
        else:
            log.info("%s starting with the %s profile", service, self.profile,
                     extra={"profile": self.profile})

    def setup(self):
        if self.found:
            raise CannotStart("; ".join(self.found))
