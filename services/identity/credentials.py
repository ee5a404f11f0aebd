"""The secret-handling machinery: argon2id hashes (computed in a thread so a hash does
not stall the service's other greenlets), refresh token values and TOTP codes.
Nothing here logs; nothing secret leaves it but to its owner."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from nameko.extensions import DependencyProvider

ISSUER_NAME = "碳排放管理员"


class Hasher:
    """argon2id with the configured cost (RFC 9106's second recommended option by
    default: 64 MiB, 3 passes, 4 lanes)."""

    def __init__(self, memory_kib: int = 65536, time_cost: int = 3, parallelism: int = 4):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                     parallelism=parallelism, type=Type.ID)
        # Compared against when the login is unknown, so that it takes as long.
        self.dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, secret: str) -> str:
        return tpool.execute(self.hasher.hash, secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        try:
            return tpool.execute(self.hasher.verify, stored or self.dummy, secret) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


class Credentials(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.hasher = Hasher(int(config.get("PASSWORD_HASH_MEMORY_KIB", 65536)),
                             int(config.get("PASSWORD_HASH_TIME_COST", 3)),
                             int(config.get("PASSWORD_HASH_PARALLELISM", 4)))

    def get_dependency(self, worker_ctx):
        return self.hasher


def refresh_token() -> tuple[str, str]:
    """(the value given to the client, the SHA-256 kept): 256 random bits need no
    slow hash."""
    value = secrets.token_urlsafe(32)
    return value, token_digest(value)


def token_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


# -- TOTP (RFC 6238, 30-second steps, 6 digits) ---------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, login_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login_name, issuer_name=ISSUER_NAME)


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (this one or a neighbour, for clock drift), or
    None when it matches none or was used already (a code works once)."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None
