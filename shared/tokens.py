"""Bearer tokens: JWT signed with Ed25519 (EdDSA).

Services hold only public keys, so no service can mint a token; in production an
identity provider at the gateway issues them. For development, `make keys` makes a
key pair under var/keys and `make token ROLE=... [BASE=...] [SUB=...]` mints one.
"""
from __future__ import annotations

import argparse
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROLES = ("base_operator", "learner", "finance_clerk", "examiner", "admin", "operator")
ISSUER = "cea-identity"
AUDIENCE = "cea"
DEV_KEY_DIR = Path("var/keys")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    base: str | None = None


class InvalidToken(Exception):
    pass


def generate_key_pair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def mint(private_pem: bytes, role: str, subject: str | None = None, base: str | None = None,
         ttl: timedelta = timedelta(hours=12)) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "base_operator" and not base:
        raise ValueError("a base_operator token names its base")
    now = datetime.now(timezone.utc)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject or str(uuid.uuid4()), "role": role,
              "iat": now, "exp": now + ttl}
    if base:
        claims["base"] = base
    return jwt.encode(claims, serialization.load_pem_private_key(private_pem, None), algorithm="EdDSA")


class TokenVerifier:
    def __init__(self, public_pems: list[bytes]):
        self.keys = [serialization.load_pem_public_key(p) for p in public_pems]

    def verify(self, token: str) -> Principal:
        last = None
        for key in self.keys:  # several keys while one rotates out
            try:
                claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE,
                                    issuer=ISSUER, options={"require": ["exp", "sub", "role"]})
                break
            except jwt.InvalidSignatureError as exc:
                last = exc
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from None
        else:
            raise InvalidToken(str(last or "no verification key configured"))
        if claims["role"] not in ROLES:
            raise InvalidToken(f"unknown role {claims['role']!r}")
        return Principal(subject=claims["sub"], role=claims["role"], base=claims.get("base"))


def ensure_dev_keys(directory: Path = DEV_KEY_DIR) -> tuple[Path, Path]:
    private, public = directory / "jwt-private.pem", directory / "jwt-public.pem"
    if not private.exists():
        directory.mkdir(parents=True, exist_ok=True)
        priv, pub = generate_key_pair()
        private.write_bytes(priv)
        private.chmod(0o600)
        public.write_bytes(pub)
    return private, public


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.tokens")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keys", help="create the development key pair under var/keys")
    m = sub.add_parser("mint", help="mint a development token")
    m.add_argument("--role", required=True, choices=ROLES)
    m.add_argument("--base")
    m.add_argument("--sub")
    m.add_argument("--hours", type=float, default=12)
    args = parser.parse_args(argv)
    private, _ = ensure_dev_keys()
    if args.command == "mint":
        print(mint(private.read_bytes(), args.role, args.sub, args.base, timedelta(hours=args.hours)))


if __name__ == "__main__":
    sys.exit(main())
