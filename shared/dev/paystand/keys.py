"""Development/test WeChat Pay key material, under var/keys/wechatpay (never for production).

What a merchant gets from WeChat Pay, made up locally:
- the merchant's API key and certificate (apiclient_key.pem, apiclient_cert.pem): RSA 2048,
  the certificate's serial is the `serial_no` of every request's Authorization;
- the platform's key pair in public-key mode: WeChat Pay signs answers and notifications
  with the private key (pub_key_private.pem: the stand-in's alone) and names the public
  key (pub_key.pem) by its id (pub_key_id) in `Wechatpay-Serial`;
- the APIv3 key (apiv3.key): 32 characters, the AES-256-GCM key of notifications.
Existing files are kept: `ensure` makes only what is missing."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

DEV_DIR = Path("var/keys/wechatpay")
DEV_MCHID = "1900000001"
DEV_APPID = "wxd0000000000cea01"
DEV_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000000012026112900000000000001"

MERCHANT_KEY, MERCHANT_CERT = "apiclient_key.pem", "apiclient_cert.pem"
PLATFORM_PRIVATE, PLATFORM_PUBLIC, PLATFORM_ID = "pub_key_private.pem", "pub_key.pem", "pub_key_id"
APIV3_KEY = "apiv3.key"


@dataclass(frozen=True)
class KeyFiles:
    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    def text(self, name: str) -> str:
        return self.path(name).read_text().strip()

    @property
    def merchant_serial(self) -> str:
        return certificate_serial(self.path(MERCHANT_CERT).read_bytes())


def certificate_serial(pem: bytes) -> str:
    """The serial as WeChat Pay writes it: upper-case hexadecimal."""
    return format(x509.load_pem_x509_certificate(pem).serial_number, "X")


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def ensure(directory: Path = DEV_DIR, mchid: str = DEV_MCHID,
           public_key_id: str = DEV_PUBLIC_KEY_ID) -> KeyFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = KeyFiles(directory)
    if not files.path(MERCHANT_CERT).exists() or not files.path(MERCHANT_KEY).exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, mchid),
                          x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "development only")])
        now = datetime.now(timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
        _write(files.path(MERCHANT_KEY), _private_pem(key), private=True)
        _write(files.path(MERCHANT_CERT), cert.public_bytes(serialization.Encoding.PEM), private=False)
    if not files.path(PLATFORM_PRIVATE).exists() or not files.path(PLATFORM_PUBLIC).exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(files.path(PLATFORM_PRIVATE), _private_pem(key), private=True)
        _write(files.path(PLATFORM_PUBLIC), key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), private=False)
    if not files.path(PLATFORM_ID).exists():
        _write(files.path(PLATFORM_ID), (public_key_id + "\n").encode(), private=False)
    if not files.path(APIV3_KEY).exists():
        alphabet = string.ascii_letters + string.digits
        _write(files.path(APIV3_KEY), "".join(secrets.choice(alphabet) for _ in range(32)).encode(),
               private=True)
    return files
