"""A certificate's signature: the canonical form, every field covered, key rotation,
and the offline verification command."""
import copy
import json
import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.certificate import domain, signing, verify_file
from shared.settings import CannotStart

CERTIFICATE = SimpleNamespace(
    certificate_id=uuid.UUID("0b8e4c1e-8d52-4a55-9a1c-2f5a0c1b7e01"),
    number=domain.certificate_number("L4", 2026, "B001", 7), serial=1, level="L4",
    holder_name="王小明", id_number_masked="3604**********0071", issued_on=date(2026, 11, 26),
    base_code="B001", base_name="江西碳排放培训基地")


def _signer(key_id="k-2026", retired=()):
    return signing.Signer(key_id, Ed25519PrivateKey.generate(), tuple(retired))


def test_the_canonical_form_is_sorted_compact_utf8_json():
    content = domain.signed_content(CERTIFICATE)
    assert set(content) == set(domain.SIGNED_FIELDS) and "status" not in content
    assert domain.canonical_bytes(content).decode("utf-8") == (
        '{"base_code":"B001","base_name":"江西碳排放培训基地",'
        '"certificate_id":"0b8e4c1e-8d52-4a55-9a1c-2f5a0c1b7e01","holder_name":"王小明",'
        '"id_number_masked":"3604**********0071","issued_on":"2026-11-26","level":"L4",'
        f'"number":"{CERTIFICATE.number}","serial":1,"title":"碳排放管理员职业能力水平评价证书"}}')
    with pytest.raises(ValueError):
        domain.canonical_bytes({**content, "status": "valid"})  # status is never signed


def test_a_signed_document_verifies_with_the_published_keys():
    signer = _signer()
    document = signer.document(domain.signed_content(CERTIFICATE))
    assert signing.verify_document(document, signer.key_set()) == domain.signed_content(CERTIFICATE)
    assert signer.key_set()["keys"][0]["kid"] == "k-2026"


@pytest.mark.parametrize("field", domain.SIGNED_FIELDS)
def test_changing_any_field_breaks_verification(field):
    signer = _signer()
    document = signer.document(domain.signed_content(CERTIFICATE))
    forged = copy.deepcopy(document)
    value = forged["content"][field]
    forged["content"][field] = value + 1 if isinstance(value, int) else value[:-1] + ("X" if value[-1] != "X" else "Y")
    with pytest.raises(signing.BadDocument, match="does not match"):
        signing.verify_document(forged, signer.key_set())


def test_a_removed_or_added_field_or_a_foreign_key_fails():
    signer = _signer()
    document = signer.document(domain.signed_content(CERTIFICATE))
    dropped = copy.deepcopy(document)
    del dropped["content"]["base_name"]
    added = copy.deepcopy(document)
    added["content"]["note"] = "x"
    for doc in (dropped, added):
        with pytest.raises(signing.BadDocument):
            signing.verify_document(doc, signer.key_set())
    impostor = _signer("k-2026")  # same key id, other key
    with pytest.raises(signing.BadDocument, match="does not match"):
        signing.verify_document(document, impostor.key_set())
    with pytest.raises(signing.BadDocument, match="not among the published keys"):
        signing.verify_document({**document, "key_id": "nope"}, signer.key_set())


def test_documents_signed_with_a_retired_key_still_verify_after_rotation():
    old = _signer("k-2025")
    document = old.document(domain.signed_content(CERTIFICATE))
    new = _signer("k-2026", retired=[("k-2025", old.private.public_key())])
    assert [k["kid"] for k in new.key_set()["keys"]] == ["k-2026", "k-2025"]
    assert signing.verify_document(document, new.key_set())["number"] == CERTIFICATE.number
    assert new.document(domain.signed_content(CERTIFICATE))["key_id"] == "k-2026"


def test_the_signer_is_loaded_from_config_with_retired_public_keys(tmp_path):
    private = Ed25519PrivateKey.generate()
    (tmp_path / "signing.pem").write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "old.pem").write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    signer = signing.load_signer({"SIGNING_KEY_FILE": str(tmp_path / "signing.pem"), "SIGNING_KEY_ID": "k2",
                                  "RETIRED_PUBLIC_KEYS": f"k1={tmp_path / 'old.pem'}"})
    assert [k["kid"] for k in signer.key_set()["keys"]] == ["k2", "k1"]
    with pytest.raises(CannotStart, match="signing key"):
        signing.load_signer({"SIGNING_KEY_FILE": str(tmp_path / "absent.pem"), "SIGNING_KEY_ID": "k2"})


def test_the_offline_command_says_valid_or_not(tmp_path, capsys):
    signer = _signer()
    document = signer.document(domain.signed_content(CERTIFICATE))
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(signer.key_set()))
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    bad.write_text(json.dumps({**document, "content": {**document["content"], "level": "L3"}}), encoding="utf-8")
    assert verify_file.main([str(good), "--keys", str(keys)]) == 0
    assert "VALID" in capsys.readouterr().out
    assert verify_file.main([str(bad), "--keys", str(keys)]) == 1
    assert "NOT VALID" in capsys.readouterr().out
    assert verify_file.main([str(tmp_path / "absent.json"), "--keys", str(keys)]) == 2


def test_a_correction_must_change_something_and_a_revoked_certificate_stays_revoked():
    domain.check_correction("valid", "王小明", "h1", "王晓明", None)
    domain.check_correction("valid", "王小明", "h1", None, "h2")
    with pytest.raises(domain.NothingToCorrect):
        domain.check_correction("valid", "王小明", "h1", " 王小明 ", "h1")
    with pytest.raises(domain.CertificateRevoked):
        domain.check_correction("revoked", "王小明", "h1", "王晓明", None)
    with pytest.raises(domain.ChangedMeanwhile):
        domain.check_correction("superseded", "王小明", "h1", "王晓明", None)
    with pytest.raises(domain.CertificateRevoked):
        domain.check_revocation("revoked")
    domain.check_revocation("valid")


def test_the_service_config_reads_the_signing_key_from_the_environment(tmp_path, monkeypatch):
    """services/certificate/config.yaml as `nameko run` reads it."""
    import yaml
    from nameko.cli.main import setup_yaml_parser

    key = signing.make_dev_key(tmp_path / "signing.pem")
    monkeypatch.setenv("CERTIFICATE_SIGNING_KEY_FILE", str(key))
    monkeypatch.setenv("CERTIFICATE_SIGNING_KEY_ID", "k-2027")
    monkeypatch.setenv("CEA_ID_HASH_KEY", "secret")
    setup_yaml_parser()
    path = Path(__file__).resolve().parents[2] / "services/certificate/config.yaml"
    config = yaml.safe_load(path.read_text())
    assert config["ID_HASH_KEY"] == "secret" and config["VERIFY_RATE_LIMIT"] == "30/minute"
    assert [k["kid"] for k in signing.load_signer(config).key_set()["keys"]] == ["k-2027"]
