"""Bearer tokens: JWT signed with Ed25519 (EdDSA).

The domain services hold only public keys, so none of them can mint a token. The
identity service issues them, each with the id of the key that signed it (`kid`),
and publishes its keys as a JWKS; a service given `JWKS_URL` fetches and caches
them. `JWT_PUBLIC_KEY`/`JWT_PUBLIC_KEY_FILE` name keys directly, for development and
tests: `make keys` makes a key pair under var/keys and `make token ROLE=... [BASE=...]
[SUB=...]` mints a development token with it.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

ROLES = ("base_operator", "learner", "finance_clerk", "examiner", "admin", "operator")
ISSUER = "cea-identity"
AUDIENCE = "cea"
# A token that may only finish a login's setup (change the initial password, set up
# the second factor): no service but identity accepts this audience.
SETUP_AUDIENCE = "cea-identity-setup"
DEV_KEY_DIR = Path("var/keys")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    base: str | None = None


class InvalidToken(Exception):
    pass


class KeysUnavailable(InvalidToken):
    """The issuer's published keys could not be fetched and none is cached."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(public: Ed25519PublicKey) -> dict:
    """The public key as a JWK, with its RFC 7638 thumbprint as key id."""
    x = _b64(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    thumbprint = _b64(hashlib.sha256(json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x},
                                                separators=(",", ":"), sort_keys=True).encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": thumbprint, "alg": "EdDSA", "use": "sig"}


def key_from_jwk(jwk: dict) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError(f"not an Ed25519 key: {jwk.get('kty')}/{jwk.get('crv')}")
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


class JwksKeys:
    """The issuer's published keys, fetched from `url` and cached for `max_age`
    seconds. A token naming a key id not in the cache fetches again (at most every
    `min_refetch` seconds), so a new signing key verifies as soon as it is published.
    When the issuer cannot be reached the cached keys keep verifying."""

    def __init__(self, url: str, max_age: float = 300.0, min_refetch: float = 10.0, timeout: float = 3.0):
        self.url, self.max_age, self.min_refetch, self.timeout = url, max_age, min_refetch, timeout
        self.keys: dict[str, Ed25519PublicKey] | None = None
        self.fetched_at = self.tried_at = float("-inf")
        self._lock = threading.Lock()

    def key_for(self, kid: str):
        now = time.monotonic()
        if self.keys is None or now - self.fetched_at > self.max_age:
            self._fetch(now)
        elif kid not in self.keys and now - self.tried_at >= self.min_refetch:
            self._fetch(now)
        if self.keys is None:
            raise KeysUnavailable(f"the verification keys could not be fetched from {self.url}")
        return self.keys.get(kid)

    def _fetch(self, now: float) -> None:
        with self._lock:
            if now < self.tried_at:  # another greenlet fetched meanwhile
                return
            self.tried_at = time.monotonic()
            try:
                answer = requests.get(self.url, timeout=self.timeout)
                answer.raise_for_status()
                keys = {k["kid"]: key_from_jwk(k) for k in answer.json()["keys"] if "kid" in k}
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                log.warning("could not fetch the token verification keys from %s: %s", self.url, exc)
                return
            self.keys, self.fetched_at = keys, time.monotonic()


def generate_key_pair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def mint(private_pem: bytes, role: str, subject: str | None = None, base: str | None = None,
         ttl: timedelta = timedelta(hours=12)) -> str:
    """A development token (no key id): verified by the services' JWT_PUBLIC_KEY(_FILE)."""
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
    """Verifies a bearer token with the key its `kid` names in a key source (the
    issuer's JWKS; identity's own key ring), else with the configured public keys."""

    def __init__(self, public_pems: list[bytes], sources: list | None = None):
        self.keys = [serialization.load_pem_public_key(p) for p in public_pems]
        self.sources = list(sources or [])

    def _candidates(self, token: str) -> tuple[list, KeysUnavailable | None]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        found, unavailable = [], None
        if isinstance(kid, str) and kid:
            for source in self.sources:
                try:
                    key = source.key_for(kid)
                except KeysUnavailable as exc:
                    unavailable = exc
                    continue
                if key is not None:
                    found.append(key)
        return found + self.keys, unavailable

    def verify(self, token: str) -> Principal:
        last = None
        keys, unavailable = self._candidates(token)
        for key in keys:  # several keys while one rotates out
            try:
                claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE,
                                    issuer=ISSUER, options={"require": ["exp", "sub", "role"]})
                break
            except jwt.InvalidSignatureError as exc:
                last = exc
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from None
        else:
            raise unavailable or InvalidToken(str(last or "no verification key configured"))
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
