"""Certificates issued before this system: imported by administrators over the API,
verified publicly with their original issue date, counted by enrollment's L3 rule."""
import uuid

from services.certificate import signing
from shared.calendar import add_months, program_date, utcnow
from tests.support import enrollment_people as applicants
from tests.support import people
from tests.support.wait import wait_for

HEADER = "number,name,id_number,level,issue_date,base\r\n"


def _import(admin, body: str, encoding="utf-8"):
    return admin.request("POST", "/certificate/imports", data=body.encode(encoding),
                         headers={"Content-Type": "text/csv"})


def test_an_l3_applicant_with_an_imported_l4_of_13_months_is_eligible(services, bus):
    sink = bus.sink("certificate.imported")
    services.start("certificate")
    services.start("enrollment")
    assert services.client("enrollment", "admin").post("/enrollment/bases", people.base("B001")).status_code == 201
    operator = services.client("enrollment", "base_operator", base="B001")
    holder = applicants.id_number()
    issued = add_months(program_date(utcnow()), -13)
    admin = services.client("certificate", "admin", subject="admin-7")
    answer = _import(admin, HEADER + f"JX-L4-OLD-0042,李四,{holder},四级,{issued.isoformat()},江西老基地\r\n", "gbk")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["imported"], result["refused"]) == (1, 0) and result["results"][0]["outcome"] == "imported"
    event = sink.expect("certificate.imported", where=lambda e: e.data["certificate_number"] == "JX-L4-OLD-0042")
    assert event.data["imported_by"] == "admin-7" and event.data["import_file_sha256"] == result["file_sha256"]
    assert "id_number" not in event.data and event.data["id_number_masked"].startswith(holder[:4])

    as_l3 = applicants.application(id_number=holder, level="L3", related_work_months=30, work_months_since_l4=12,
                                   education={"tier": "junior_college", "status": "graduated"})
    enrolled = wait_for(lambda: (a := operator.post("/enrollment/enrollments", as_l3)).status_code == 201 and a)
    assert enrolled.json()["level"] == "L3"
    # The imported L4 is held: the person is not enrolled for L4 again.
    again = operator.post("/enrollment/enrollments", applicants.application(id_number=holder, level="L4"))
    assert again.status_code == 409 and again.json()["type"].endswith("already-certified")

    verified = services.anonymous("certificate").get(
        "/certificate/verify", params={"number": "jx-l4-old-0042", "name": "李四"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "valid" and verified.json()["origin"] == "imported"
    assert verified.json()["issued_on"] == issued.isoformat()
    page = services.anonymous("certificate").get("/certificate/verify/page",
                                                 params={"number": "JX-L4-OLD-0042", "name": "李四"})
    assert page.status_code == 200 and "id='origin'" in page.text and issued.isoformat() in page.text


def test_the_same_rows_import_once_and_bad_rows_are_answered_with_a_reason(services, bus):
    services.start("certificate")
    admin = services.client("certificate", "admin")
    holder = people.id_number(seq=21)
    good = f"JX-L4-2024-0007,王五,{holder},L4,2024-05-06,江西老基地\r\n"
    body = ("\ufeff" + HEADER + good + good
            + "JX-L4-2024-0008,赵六,360402199003071234,L4,2024-05-06,江西老基地\r\n"
            + f"JX-L4-2024-0009,赵六,{holder},L5,2024-05-06,江西老基地\r\n"
            + f"JX-L4-2024-0007,王五,{holder},L4,2024-05-07,江西老基地\r\n")
    first = _import(admin, body)
    assert first.status_code == 200, first.text
    outcomes = [(r["row"], r["outcome"]) for r in first.json()["results"]]
    assert outcomes == [(2, "imported"), (3, "already_imported"), (4, "refused"), (5, "refused"), (6, "refused")]
    reasons = {r["row"]: r["reasons"] for r in first.json()["results"]}
    assert reasons[4][0].startswith("id_number:") and reasons[5] == ["level: must be L4 (四级) or L3 (三级)"]
    assert "other details" in reasons[6][0]

    again = _import(admin, body).json()
    assert (again["imported"], again["already_imported"], again["refused"]) == (0, 2, 3)
    found = admin.post("/certificate/registry/search", json={"number": "JX-L4-2024-0007"}).json()
    assert found["total"] == 1
    item = found["items"][0]
    assert item["origin"] == "imported" and item["enrollment_id"] is None and item["imported_at"]
    assert item["imported_by"] and item["import_file_sha256"] == first.json()["file_sha256"]
    # Its signed file says it is an import record and verifies with the published keys.
    keys = services.anonymous("certificate").get("/certificate/keys").json()
    content = signing.verify_document(admin.get("/certificate/certificates/JX-L4-2024-0007/certificate.json").json(),
                                      keys)
    assert (content["origin"], content["issued_on"]) == ("imported", "2024-05-06")
    assert content["import_file_sha256"] == first.json()["file_sha256"]

    refused = admin.request("POST", "/certificate/imports", data=b"{}", headers={"Content-Type": "application/json"})
    assert refused.status_code == 415
    assert _import(admin, "number,name\r\nX,Y\r\n").status_code == 422
    assert services.client("certificate", "base_operator", base="B001").request(
        "POST", "/certificate/imports", data=body.encode(), headers={"Content-Type": "text/csv"}).status_code == 403
    assert uuid.UUID(item["certificate_id"])

    # An imported certificate is corrected and revoked like an issued one; its events carry no enrollment.
    sink = bus.sink("certificate.reissued", "certificate.revoked")
    assert admin.post("/certificate/certificates/JX-L4-2024-0007/corrections",
                      json={"holder_name": "王武", "reason": "name misspelt"}).status_code == 201
    reissued = sink.expect("certificate.reissued", where=lambda e: e.data["certificate_number"] == "JX-L4-2024-0007")
    assert reissued.data["enrollment_id"] is None and reissued.data["issued_on"].isoformat() == "2024-05-06"
    assert admin.post("/certificate/certificates/JX-L4-2024-0007/revocation", json={"reason": "forged"}
                      ).status_code == 200
    assert sink.expect("certificate.revoked").data["learner_id"] is None
    public = services.anonymous("certificate").get("/certificate/verify",
                                                   params={"number": "JX-L4-2024-0007", "name": "王武"}).json()
    assert (public["status"], public["serial"], public["origin"]) == ("revoked", 2, "imported")
    signed = admin.get("/certificate/certificates/JX-L4-2024-0007/credential.jwt")
    assert signed.status_code == 200 and signed.headers["Content-Disposition"].endswith('JX-L4-2024-0007.jwt"')
