"""Certificate through its event handlers and HTTP API, on the real broker and database."""
import uuid

from services.certificate import domain
from tests.support import events


def _issued(services, bus, sink, enrolled=None, score="82.5"):
    enrolled = enrolled or events.enrolled(full_name="王小明")
    bus.publish(enrolled)
    bus.publish(events.graded(enrolled, score=score))
    return enrolled, sink.expect("certificate.issued",
                                 where=lambda e: str(e.data["enrollment_id"]) == enrolled.data["enrollment_id"])


def test_a_pass_issues_one_certificate_that_anyone_can_verify(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    enrolled, issued = _issued(services, bus, sink)
    number = issued.data["certificate_number"]
    assert domain.check_number(number) and issued.data["id_number_hash"] == enrolled.data["id_number_hash"]
    bus.publish(events.graded(enrolled, score="90", attempt=1))  # another pass: no second certificate

    public = services.anonymous("certificate")
    answer = public.get("/certificate/verify", params={"number": number, "name": "王小明"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "valid", "origin": "issued", "number": number, "holder_name": "王小明", "level": "L4",
                             "issued_on": issued.data["issued_on"].isoformat(),
                             "base_name": "江西碳排放培训基地", "id_number_masked": "3604**********0071",
                             "serial": 1, "current_serial": 1,
                             "history": [{"serial": 1, "status": "valid",
                                          "since": issued.data["issued_on"].isoformat()}]}
    later, _ = _issued(services, bus, sink)
    sink.drain(quiet=1.0)
    mine = [e for e in sink.of_type("certificate.issued")
            if str(e.data["enrollment_id"]) == enrolled.data["enrollment_id"]]
    assert len(mine) == 1


def test_wrong_name_and_unknown_number_answer_alike(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    _, issued = _issued(services, bus, sink)
    public = services.anonymous("certificate")
    number = issued.data["certificate_number"]
    wrong_name = public.get("/certificate/verify", params={"number": number, "name": "李四"})
    unknown = public.get("/certificate/verify",
                         params={"number": domain.certificate_number("L4", 2026, "B001", 424242), "name": "王小明"})
    mistyped = public.get("/certificate/verify", params={"number": number[:-1] + ("Q" if number[-1] != "Q" else "R"), "name": "王小明"})
    assert wrong_name.status_code == unknown.status_code == mistyped.status_code == 404
    assert wrong_name.json() == unknown.json() == mistyped.json()
    missing = public.get("/certificate/verify", params={"number": number})
    assert missing.status_code == 422 and "name" in missing.json()["errors"]


def test_a_failed_attempt_issues_nothing_and_a_pass_before_enrolled_waits(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    failed = events.enrolled()
    bus.publish(failed)
    bus.publish(events.graded(failed, score="59.9"))
    early = events.enrolled()
    bus.publish(events.graded(early))  # before its enrolled: deferred, not lost
    bus.publish(early)
    sink.expect("certificate.issued", where=lambda e: str(e.data["enrollment_id"]) == early.data["enrollment_id"])
    assert not [e for e in sink.drain(quiet=1.0) if str(e.data["enrollment_id"]) == failed.data["enrollment_id"]]


def test_verification_is_rate_limited_per_client(services, bus):
    services.start("certificate", VERIFY_RATE_LIMIT="3/minute")
    public = services.anonymous("certificate")
    codes = [public.get("/certificate/verify", params={"number": "CEA-L4-2026-B001-000001-0", "name": "x"}).status_code
             for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    limited = public.get("/certificate/verify", params={"number": "x", "name": "y"})
    assert limited.headers["Content-Type"] == "application/problem+json"


def test_the_learner_and_their_base_read_the_certificate_others_do_not(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    enrolled, issued = _issued(services, bus, sink)
    eid = enrolled.data["enrollment_id"]
    mine = services.client("certificate", "learner", subject=enrolled.data["learner_id"]).get(
        f"/certificate/enrollments/{eid}/certificate")
    assert mine.status_code == 200 and mine.json()["number"] == issued.data["certificate_number"]
    assert mine.json()["verify_url"].startswith("http://verify.test/certificate/verify/page?number=")
    assert services.client("certificate", "base_operator", base="B001").get(
        f"/certificate/enrollments/{eid}/certificate").status_code == 200
    assert services.client("certificate", "learner", subject=str(uuid.uuid4())).get(
        f"/certificate/enrollments/{eid}/certificate").status_code == 404
    page = services.anonymous("certificate").get("/certificate/verify/page",
                                                  params={"number": issued.data["certificate_number"], "name": "王小明"})
    assert page.status_code == 200 and "有效 / Valid" in page.text and "王小明" in page.text
