"""The certificate's signed file and PDF: downloaded by the learner and their base,
verified offline against the published keys, the PDF's QR code leading to the page."""
import io
import json
import uuid

import pypdf
import zxingcpp

from services.certificate import signing, verify_file
from tests.support import certificate_flow


def test_the_signed_file_verifies_offline_against_the_published_keys(services, bus, tmp_path):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    enrolled, issued = certificate_flow.issue(bus, sink, full_name="王小明")
    eid = enrolled.data["enrollment_id"]

    keys = services.anonymous("certificate").get("/certificate/keys")
    assert keys.status_code == 200
    assert keys.json()["keys"][0] | {"x": None} == {"kty": "OKP", "crv": "Ed25519", "kid": "test-1",
                                                     "use": "sig", "alg": "EdDSA", "x": None}
    learner = services.client("certificate", "learner", subject=enrolled.data["learner_id"])
    answer = learner.get(f"/certificate/enrollments/{eid}/certificate.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    document = answer.json()
    assert document["key_id"] == "test-1"
    content = signing.verify_document(document, keys.json())
    assert content["number"] == issued.data["certificate_number"] and content["holder_name"] == "王小明"
    assert content["serial"] == 1 and content["issued_on"] == issued.data["issued_on"].isoformat()

    (tmp_path / "cert.json").write_bytes(answer.content)
    (tmp_path / "keys.json").write_bytes(keys.content)
    assert verify_file.main([str(tmp_path / "cert.json"), "--keys", str(tmp_path / "keys.json")]) == 0
    forged = {**document, "content": {**document["content"], "level": "L3"}}
    (tmp_path / "forged.json").write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    assert verify_file.main([str(tmp_path / "forged.json"), "--keys", str(tmp_path / "keys.json")]) == 1

    base = services.client("certificate", "base_operator", base="B001")
    assert base.get(f"/certificate/enrollments/{eid}/certificate.json").json() == document
    other_base = services.client("certificate", "base_operator", base="B999")
    assert other_base.get(f"/certificate/enrollments/{eid}/certificate.json").status_code == 404
    assert services.anonymous("certificate").get(f"/certificate/enrollments/{eid}/certificate.json").status_code == 401


def test_the_pdf_shows_the_certificate_and_its_qr_code_leads_to_the_verification_page(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    enrolled, issued = certificate_flow.issue(bus, sink, full_name="欧阳小芳", base_name="江西碳排放培训基地")
    eid = enrolled.data["enrollment_id"]
    learner = services.client("certificate", "learner", subject=enrolled.data["learner_id"])
    verify_url = learner.get(f"/certificate/enrollments/{eid}/certificate").json()["verify_url"]

    answer = learner.get(f"/certificate/enrollments/{eid}/certificate.pdf")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf"
    page = pypdf.PdfReader(io.BytesIO(answer.content)).pages[0]
    text = page.extract_text()
    for shown in ("《碳排放管理员职业能力水平评价证书》", "欧阳小芳", issued.data["certificate_number"],
                  issued.data["id_number_masked"], "四级", issued.data["issued_on"].isoformat(),
                  "江西碳排放培训基地", "有效 / Valid"):
        assert shown in text, shown
    assert "换发序号" not in text  # a first issue shows no serial
    codes = [c.text for image in page.images for c in zxingcpp.read_barcodes(image.image)]
    assert codes == [verify_url]
    assert verify_url.startswith("http://verify.test/certificate/verify/page?number=")

    # the QR's page answers for this certificate
    path_and_query = verify_url.removeprefix("http://verify.test")
    assert "有效 / Valid" in services.anonymous("certificate").get(path_and_query).text
    base = services.client("certificate", "base_operator", base="B001")
    assert base.get(f"/certificate/enrollments/{eid}/certificate.pdf").status_code == 200
    stranger = services.client("certificate", "learner", subject=str(uuid.uuid4()))
    assert stranger.get(f"/certificate/enrollments/{eid}/certificate.pdf").status_code == 404
