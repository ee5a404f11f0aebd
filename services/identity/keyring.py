"""Identity's signing keys: the first signs new tokens, every one is published (JWKS)
so that tokens signed by a key being rotated out keep verifying until they expire.

Keys come from `TOKEN_SIGNING_KEY_FILES` (comma-separated PEM files, the signing key
first) or `TOKEN_SIGNING_KEYS` (PEM text, one or more keys, for tests). Rotation is
docs/identity.md, "Keys": put a new key first, keep the old one listed for one access
token lifetime, then drop it.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.extensions import DependencyProvider

from shared.settings import CannotStart
from shared.tokens import AUDIENCE, ISSUER, SETUP_AUDIENCE, InvalidToken, public_jwk
from shared.web.server import ApiServer

_PEM = re.compile(r"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", re.S)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def jwk(self) -> dict:
        return public_jwk(self.private.public_key())


def load_keys(config: dict) -> list[SigningKey]:
    pems = _PEM.findall(str(config.get("TOKEN_SIGNING_KEYS") or ""))
    for path in filter(None, (p.strip() for p in str(config.get("TOKEN_SIGNING_KEY_FILES") or "").split(","))):
        if not Path(path).exists():
            raise CannotStart(f"TOKEN_SIGNING_KEY_FILES names {path}, which does not exist")
        pems += _PEM.findall(Path(path).read_text())
    keys = []
    for pem in pems:
        key = serialization.load_pem_private_key(pem.encode(), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CannotStart("a token signing key is not an Ed25519 key")
        keys.append(SigningKey(public_jwk(key.public_key())["kid"], key))
    if not keys:
        raise CannotStart("no token signing key: set TOKEN_SIGNING_KEY_FILES (or TOKEN_SIGNING_KEYS)")
    return keys


class KeyRing(DependencyProvider):
    """The service's signing keys; also a key source of its own HTTP server's token
    verifier, so identity's endpoints accept the tokens identity issues."""

    server = ApiServer()

    def setup(self):
        self.keys = load_keys(self.container.config)
        self.by_kid = {k.kid: k for k in self.keys}

    def start(self):
        self.server.verifier.sources.insert(0, self)

    def get_dependency(self, worker_ctx):
        return self

    # -- a key source ----------------------------------------------------------

    def key_for(self, kid: str):
        found = self.by_kid.get(kid)
        return found.private.public_key() if found else None

    def jwks(self) -> dict:
        return {"keys": [k.jwk for k in self.keys]}

    # -- tokens ------------------------------------------------------------------

    def mint(self, *, subject: str, role: str, base: str | None, now: datetime, ttl,
             audience: str = AUDIENCE, **claims) -> str:
        signing = self.keys[0]
        body = {"iss": ISSUER, "aud": audience, "sub": subject, "role": role, "iat": now,
                "exp": now + ttl, "jti": str(uuid.uuid4()), **claims}
        if base:
            body["base"] = base
        return jwt.encode(body, signing.private, algorithm="EdDSA", headers={"kid": signing.kid})

    def verify(self, token: str, audiences=(AUDIENCE, SETUP_AUDIENCE)) -> dict:
        """Claims of a token identity issued, for its own endpoints that also take a
        setup token (changing the password, setting up the second factor)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.key_for(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidToken("not signed by a key of this issuer")
            return jwt.decode(token, key, algorithms=["EdDSA"], audience=list(audiences), issuer=ISSUER,
                              options={"require": ["exp", "sub", "role", "aud"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None


def new_key_file(path: Path) -> str:
    """Write a new Ed25519 signing key (mode 600); its key id."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return public_jwk(key.public_key())["kid"]
