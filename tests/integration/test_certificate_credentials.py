"""A wallet's view: the certificate as a vc+jwt credential, verified with nothing but
the published keys (JWKS) and the published status list; a revocation flips its bit."""
import base64
import gzip
from urllib.parse import urlsplit

import jwt

from tests.support import certificate_flow


def _verify(token: str, key_set: dict) -> dict:
    """What any verifier does, with PyJWT alone: the key the header names, EdDSA."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "vc+jwt" and header["alg"] == "EdDSA"
    key = next(k for k in key_set["keys"] if k["kid"] == header["kid"])
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"])


def _bit(public, keys: dict, status: dict) -> bool:
    answer = public.get(urlsplit(status["statusListCredential"]).path)  # the test's service, not the public host
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/vc+jwt")
    listed = _verify(answer.text, keys)
    assert "BitstringStatusListCredential" in listed["type"]
    subject = listed["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == status["statusPurpose"]
    body = subject["encodedList"]
    assert body[0] == "u"
    bits = gzip.decompress(base64.urlsafe_b64decode(body[1:] + "=" * (-len(body[1:]) % 4)))
    index = int(status["statusListIndex"])
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def test_a_credential_verifies_with_the_published_keys_and_a_revocation_flips_its_bit(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    enrolled, issued = certificate_flow.issue(bus, sink)
    _, other = certificate_flow.issue(bus, sink)
    learner = services.client("certificate", "learner", subject=enrolled.data["learner_id"])
    public = services.anonymous("certificate")
    keys = public.get("/certificate/keys").json()

    answer = learner.get(f"/certificate/enrollments/{enrolled.data['enrollment_id']}/certificate.jwt")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/vc+jwt")
    claims = _verify(answer.text, keys)
    number = issued.data["certificate_number"]
    assert claims["credentialSubject"]["certificate"]["number"] == number
    assert claims["credentialSubject"]["name"] == "王小明"
    assert claims["id"] == f"urn:uuid:{issued.data['certificate_id']}"
    status = claims["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert _bit(public, keys, status) is False

    admin = services.client("certificate", "admin")
    assert admin.post(f"/certificate/certificates/{number}/revocation", json={"reason": "forged work record"}
                      ).status_code == 200
    assert _bit(public, keys, status) is True
    # The other certificate's bit is untouched.
    other_token = admin.get(f"/certificate/certificates/{other.data['certificate_number']}/credential.jwt")
    assert other_token.status_code == 200
    other_status = _verify(other_token.text, keys)["credentialStatus"]
    assert other_status["statusListIndex"] != status["statusListIndex"] and _bit(public, keys, other_status) is False

    # A correction supersedes the old record: its bit flips, the reissue's stays 0.
    corrected = admin.post(f"/certificate/certificates/{other.data['certificate_number']}/corrections",
                           json={"holder_name": "王晓明", "reason": "name misspelt"})
    assert corrected.status_code == 201, corrected.text
    assert _bit(public, keys, other_status) is True
    reissue = _verify(admin.get(f"/certificate/certificates/{other.data['certificate_number']}/credential.jwt"
                                ).text, keys)
    assert reissue["credentialSubject"]["certificate"]["serial"] == 2
    assert _bit(public, keys, reissue["credentialStatus"]) is False

    assert services.client("certificate", "learner").get(
        f"/certificate/enrollments/{enrolled.data['enrollment_id']}/certificate.jwt").status_code == 404
    assert public.get(f"/certificate/certificates/{number}/credential.jwt").status_code == 401
