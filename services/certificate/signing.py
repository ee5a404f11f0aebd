"""Ed25519 signatures over a certificate's canonical content, and the published keys.

The service signs with one private key (`SIGNING_KEY_FILE`, or `SIGNING_KEY` as PEM
text) named by `SIGNING_KEY_ID`. It publishes that key's public half and every
retired one (`RETIRED_PUBLIC_KEYS`: `<key id>=<public PEM file>,...`) as a JSON Web
Key Set (RFC 8037 `OKP`/`Ed25519`), so a new key can take over while documents
signed with an old one still verify. `python -m services.certificate.signing keys`
makes a development key under var/keys (`make keys`).
"""
from __future__ import annotations

import argparse
import base64
import sys

import jwt
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.settings import CannotStart

from . import domain, talent_export

ALGORITHM = "Ed25519"
DEV_KEY_FILE = Path("var/keys/certificate-signing.pem")


class BadDocument(Exception):
    """The document does not verify: why, in a sentence."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk(key_id: str, public: Ed25519PublicKey) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "kid": key_id, "use": "sig", "alg": "EdDSA",
            "x": _b64(_raw(public))}


def certificate_file(content: dict, key_id: str, signature: str) -> dict:
    """The downloadable certificate file: its content, the key id and the signature."""
    return {"content": content, "algorithm": ALGORITHM, "key_id": key_id, "signature": signature}


@dataclass(frozen=True)
class Signer:
    key_id: str
    private: Ed25519PrivateKey
    retired: tuple[tuple[str, Ed25519PublicKey], ...] = ()

    def document(self, content: dict) -> dict:
        """Sign `content`: the certificate file."""
        signature = self.private.sign(domain.canonical_bytes(content))
        return certificate_file(content, self.key_id, _b64(signature))

    def sign_manifest(self, manifest: dict) -> dict:
        """A talent registry export's manifest, signed over its canonical JSON."""
        signature = self.private.sign(talent_export.canonical_bytes(manifest))
        return {"manifest": manifest, "algorithm": ALGORITHM, "key_id": self.key_id, "signature": _b64(signature)}

    def sign_jwt(self, claims: dict, typ: str = "vc+jwt") -> str:
        """A compact JWS (EdDSA) of `claims`, naming the key: a credential (`vc+jwt`)."""
        return jwt.encode(claims, self.private, algorithm="EdDSA",
                          headers={"kid": self.key_id, "typ": typ, "cty": "vc"})

    def key_set(self) -> dict:
        """What `GET /certificate/keys` publishes: the signing key first, then retired ones."""
        keys = [jwk(self.key_id, self.private.public_key())]
        keys += [jwk(kid, public) for kid, public in self.retired]
        return {"keys": keys}


def load_signer(config: dict) -> Signer:
    """From the service's config; a missing key stops the service with a clear message."""
    key_id = str(config.get("SIGNING_KEY_ID") or "").strip()
    pem = config.get("SIGNING_KEY")
    path = str(config.get("SIGNING_KEY_FILE") or "").strip()
    if not pem and path and Path(path).is_file():
        pem = Path(path).read_text()
    if not pem or not key_id:
        raise CannotStart("certificate needs a signing key: set CERTIFICATE_SIGNING_KEY_FILE (an Ed25519 "
                           "private key, PEM; `make keys` makes a development one) and "
                           "CERTIFICATE_SIGNING_KEY_ID")
    try:
        private = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)
    except (ValueError, TypeError) as exc:
        raise CannotStart(f"the certificate signing key is not a readable private key (PEM): {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise CannotStart("the certificate signing key must be an Ed25519 key")
    retired = []
    for item in filter(None, (s.strip() for s in str(config.get("RETIRED_PUBLIC_KEYS") or "").split(","))):
        kid, _, file = item.partition("=")
        public = serialization.load_pem_public_key(Path(file.strip()).read_bytes())
        if not isinstance(public, Ed25519PublicKey):
            raise RuntimeError(f"retired key {kid} is not an Ed25519 key")
        retired.append((kid.strip(), public))
    return Signer(key_id, private, tuple(retired))


def verify_document(document: dict, key_set: dict) -> dict:
    """The content of a certificate file whose signature verifies with the published
    key it names; BadDocument otherwise. Status (revoked, superseded) is online only."""
    try:
        content, key_id, signature = document["content"], document["key_id"], document["signature"]
    except (KeyError, TypeError):
        raise BadDocument("not a certificate file: it needs content, key_id and signature") from None
    if document.get("algorithm", ALGORITHM) != ALGORITHM:
        raise BadDocument(f"unknown signature algorithm {document.get('algorithm')!r}")
    key = next((k for k in key_set.get("keys", []) if k.get("kid") == key_id), None)
    if key is None:
        raise BadDocument(f"key {key_id!r} is not among the published keys")
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise BadDocument(f"key {key_id!r} is not an Ed25519 key")
    try:
        public = Ed25519PublicKey.from_public_bytes(_unb64(key["x"]))
        public.verify(_unb64(signature), domain.canonical_bytes(content))
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        raise BadDocument("the signature does not match the content: the file was altered "
                          "or was not signed by the program") from None
    return content


def verify_jwt(token: str, key_set: dict, typ: str = "vc+jwt") -> dict:
    """The claims of a credential whose EdDSA signature verifies with the published key
    its header names (`kid`); BadDocument otherwise. Status is checked separately."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BadDocument(f"not a JWT: {exc}") from None
    if header.get("alg") != "EdDSA" or header.get("typ") != typ:
        raise BadDocument(f"expected alg EdDSA and typ {typ}, got {header.get('alg')!r}, {header.get('typ')!r}")
    key = next((k for k in key_set.get("keys", []) if k.get("kid") == header.get("kid")), None)
    if key is None or key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise BadDocument(f"key {header.get('kid')!r} is not among the published Ed25519 keys")
    try:
        return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"],
                          options={"verify_aud": False, "verify_exp": True})
    except jwt.PyJWTError as exc:
        raise BadDocument(f"the credential does not verify: {exc}") from None


def verify_manifest(signed: dict, key_set: dict) -> dict:
    """The manifest of an export whose signature verifies with the published key it
    names; BadDocument otherwise. (The files are checked against its hashes.)"""
    try:
        manifest, key_id, signature = signed["manifest"], signed["key_id"], signed["signature"]
    except (KeyError, TypeError):
        raise BadDocument("not a signed manifest: it needs manifest, key_id and signature") from None
    key = next((k for k in key_set.get("keys", []) if k.get("kid") == key_id), None)
    if key is None or key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise BadDocument(f"key {key_id!r} is not among the published Ed25519 keys")
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(key["x"])).verify(
            _unb64(signature), talent_export.canonical_bytes(manifest))
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        raise BadDocument("the manifest's signature does not match it") from None
    return manifest


def make_dev_key(path: Path = DEV_KEY_FILE) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.write_bytes(pem)
        path.chmod(0o600)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.certificate.signing")
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys", help="make the development signing key (var/keys) if absent")
    keys.add_argument("--file", type=Path, default=DEV_KEY_FILE)
    args = parser.parse_args(argv)
    make_dev_key(args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
