"""Corrections reissue the number with the next serial (the old one superseded);
revocation marks it revoked. Both are administrators' acts, with a reason, and emit
the event enrollment reflects."""
import io
from datetime import date

import pypdf

from services.certificate import signing
from shared.identity import keyed_hash, mask
from tests.support import certificate_flow, people
from tests.support.certificate_flow import ID_KEY


def test_a_correction_reissues_the_number_with_the_next_serial_and_supersedes_the_old(services, bus):
    sink = bus.sink("certificate.issued", "certificate.reissued")
    services.start("certificate")
    enrolled, issued = certificate_flow.issue(bus, sink, full_name="王小名")
    number, eid = issued.data["certificate_number"], enrolled.data["enrollment_id"]
    learner = services.client("certificate", "learner", subject=enrolled.data["learner_id"])
    old_file = learner.get(f"/certificate/enrollments/{eid}/certificate.json").json()
    admin = services.client("certificate", "admin")
    right_id = people.id_number(seq=21)

    answer = admin.post(f"/certificate/certificates/{number}/corrections",
                        json={"holder_name": "王小明", "id_number": right_id, "reason": "姓名与身份证号录入错误"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["serial"] == 2 and answer.json()["number"] == number
    reissued = sink.expect("certificate.reissued")
    assert reissued.correlation_id == enrolled.correlation_id
    assert reissued.data["serial"] == 2 and reissued.data["certificate_number"] == number
    assert str(reissued.data["superseded_certificate_id"]) == str(issued.data["certificate_id"])
    assert reissued.data["holder_name"] == "王小明" and reissued.data["id_number_masked"] == mask(right_id)
    assert reissued.data["id_number_hash"] == keyed_hash(right_id, ID_KEY)
    assert reissued.data["issued_on"] == issued.data["issued_on"]

    public = services.anonymous("certificate")
    current = public.get("/certificate/verify", params={"number": number, "name": "王小明"}).json()
    assert (current["status"], current["serial"], current["current_serial"]) == ("valid", 2, 2)
    assert current["id_number_masked"] == mask(right_id)
    assert [(h["serial"], h["status"]) for h in current["history"]] == [(1, "superseded"), (2, "valid")]
    old = public.get("/certificate/verify", params={"number": number, "name": "王小名"}).json()
    assert (old["status"], old["serial"], old["current_serial"]) == ("superseded", 1, 2)
    page = public.get("/certificate/verify/page", params={"number": number, "name": "王小名"}).text
    assert "已更正换发 / Superseded" in page and "replaced by serial 2" in page

    keys = public.get("/certificate/keys").json()
    new_file = learner.get(f"/certificate/enrollments/{eid}/certificate.json").json()
    assert signing.verify_document(new_file, keys)["serial"] == 2
    assert signing.verify_document(old_file, keys)["holder_name"] == "王小名"  # authentic, but superseded
    pdf = pypdf.PdfReader(io.BytesIO(learner.get(f"/certificate/enrollments/{eid}/certificate.pdf").content))
    text = pdf.pages[0].extract_text()
    assert "王小明" in text and "serial 2" in text and mask(right_id) in text

    # the registry shows the current serial; superseded ones on request
    found = admin.post("/certificate/registry/search", json={"number": number}).json()["items"]
    assert [(i["serial"], i["status"], i["correction_reason"]) for i in found] == [(2, "valid", "姓名与身份证号录入错误")]
    everything = admin.post("/certificate/registry/search", json={"number": number, "include_superseded": True})
    assert sorted(i["serial"] for i in everything.json()["items"]) == [1, 2]
    assert admin.post("/certificate/registry/search", json={"id_number": right_id}).json()["total"] == 1

    third = admin.post(f"/certificate/certificates/{number}/corrections",
                       json={"holder_name": "王晓明", "reason": "名字再次更正"})
    assert third.status_code == 201 and third.json()["serial"] == 3
    assert sink.expect("certificate.reissued", where=lambda e: e.data["serial"] == 3)


def test_a_correction_is_refused_when_wrong_or_changing_nothing_and_changes_nothing(services, bus):
    sink = bus.sink("certificate.issued", "certificate.reissued")
    services.start("certificate")
    _, issued = certificate_flow.issue(bus, sink, full_name="王小明")
    number = issued.data["certificate_number"]
    admin = services.client("certificate", "admin")
    url = f"/certificate/certificates/{number}/corrections"

    bad_id = admin.post(url, json={"id_number": "360402199003071234", "reason": "录入错误"})
    assert bad_id.status_code == 422 and "id_number" in bad_id.json()["errors"]
    no_reason = admin.post(url, json={"holder_name": "王晓明"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    blank = admin.post(url, json={"holder_name": "  ", "reason": "录入错误"})
    assert blank.status_code == 422 and "holder_name" in blank.json()["errors"]
    same = admin.post(url, json={"holder_name": "王小明", "reason": "录入错误"})
    assert same.status_code == 422 and same.json()["type"] == "/problems/nothing-to-correct"
    assert admin.post("/certificate/certificates/CEA-L4-2026-B001-999999-0/corrections",
                      json={"holder_name": "王晓明", "reason": "录入错误"}).status_code == 404
    assert services.client("certificate", "base_operator", base="B001").post(
        url, json={"holder_name": "王晓明", "reason": "录入错误"}).status_code == 403
    verified = services.anonymous("certificate").get("/certificate/verify",
                                                      params={"number": number, "name": "王小明"}).json()
    assert (verified["status"], verified["current_serial"]) == ("valid", 1)
    assert not sink.of_type("certificate.reissued")


def test_an_administrator_revokes_with_a_reason_and_verification_shows_it(services, bus):
    sink = bus.sink("certificate.issued", "certificate.revoked")
    services.start("certificate")
    enrolled, issued = certificate_flow.issue(bus, sink, full_name="赵六")
    number = issued.data["certificate_number"]
    admin = services.client("certificate", "admin")
    url = f"/certificate/certificates/{number}/revocation"

    assert admin.post(url, json={}).status_code == 422
    assert services.client("certificate", "base_operator", base="B001").post(
        url, json={"reason": "考试作弊"}).status_code == 403
    answer = admin.post(url, json={"reason": "考试作弊，证书撤销"})
    assert answer.status_code == 200 and answer.json()["status"] == "revoked"
    revoked = sink.expect("certificate.revoked")
    assert revoked.correlation_id == enrolled.correlation_id
    assert revoked.data["reason"] == "考试作弊，证书撤销" and revoked.data["certificate_number"] == number
    assert revoked.data["id_number_hash"] == issued.data["id_number_hash"] and revoked.data["level"] == "L4"

    public = services.anonymous("certificate")
    verified = public.get("/certificate/verify", params={"number": number, "name": "赵六"}).json()
    assert verified["status"] == "revoked" and verified["history"] == [
        {"serial": 1, "status": "revoked", "since": verified["history"][0]["since"]}]
    assert date.fromisoformat(verified["history"][0]["since"])
    assert "reason" not in str(verified) and "作弊" not in str(verified)  # the reason is not public
    assert "已撤销 / Revoked" in public.get("/certificate/verify/page", params={"number": number, "name": "赵六"}).text

    again = admin.post(url, json={"reason": "再次撤销"})
    assert again.status_code == 409 and again.json()["type"] == "/problems/certificate-revoked"
    corrected = admin.post(f"/certificate/certificates/{number}/corrections",
                           json={"holder_name": "赵陆", "reason": "姓名错误"})
    assert corrected.status_code == 409
    sink.drain(quiet=0.5)
    assert len(sink.of_type("certificate.revoked")) == 1


def test_a_repeated_correction_answers_the_reissue_it_made(services, bus):
    sink = bus.sink("certificate.issued", "certificate.reissued")
    services.start("certificate")
    _, issued = certificate_flow.issue(bus, sink, full_name="王小名")
    admin = services.client("certificate", "admin")
    url = f"/certificate/certificates/{issued.data['certificate_number']}/corrections"
    correction = {"holder_name": "王小明", "reason": "姓名录入错误"}
    made = admin.post(url, json=correction)
    again = admin.post(url, json=correction)
    assert made.status_code == 201 and again.status_code == 200 and again.json() == made.json()
    assert admin.post(url, json={"holder_name": "王小明", "reason": "另一个理由"}).status_code == 422
    sink.expect("certificate.reissued")
    sink.drain(quiet=0.5)
    assert len(sink.of_type("certificate.reissued")) == 1
