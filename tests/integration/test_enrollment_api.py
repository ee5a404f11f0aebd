"""Enrollment through its HTTP API with the real broker and database."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.persistence.engine import make_engine
from tests.support import events as ev
from tests.support import enrollment_people as applicants
from tests.support import people
from tests.support.wait import wait_for


@pytest.fixture
def enrollment(services):
    services.start("enrollment")
    admin = services.client("enrollment", "admin", subject="admin-1")
    for code in ("B001", "B002"):
        assert admin.post("/enrollment/bases", people.base(code)).status_code == 201
    return services


def test_authorized_base_enrolls_and_enrolled_is_published(enrollment, bus):
    sink = bus.sink("enrollment.enrolled")
    operator = enrollment.client("enrollment", "base_operator", base="B001", subject="op-1")

    answer = operator.post("/enrollment/enrollments", applicants.application(id_number=applicants.id_number()))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "submitted" and body["base_code"] == "B001"
    assert body["id_number_masked"].startswith("3604") and "*" * 10 in body["id_number_masked"]
    assert body["mobile_masked"] == "138****8000"
    assert [(h["to_status"], h["cause"]) for h in body["history"]] == [("submitted", "application")]

    event = sink.expect("enrollment.enrolled")
    assert str(event.data["enrollment_id"]) == body["enrollment_id"]
    assert event.correlation_id == event.data["enrollment_id"]
    assert "id_number" not in event.data

    path = f"/enrollment/enrollments/{body['enrollment_id']}"
    assert operator.get(path).json()["history"][0]["to_status"] == "submitted"
    assert enrollment.client("enrollment", "admin").get(path).status_code == 200
    other_base = enrollment.client("enrollment", "base_operator", base="B002")
    assert other_base.get(path).status_code == 404
    assert other_base.get("/enrollment/enrollments").json()["total"] == 0
    assert other_base.get("/enrollment/bases/B001").status_code == 404


def test_a_learner_token_cannot_enroll_anyone(enrollment):
    learner = enrollment.client("enrollment", "learner", subject="someone")
    refused = learner.post("/enrollment/enrollments", applicants.application())
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/forbidden"


def test_a_bad_id_number_is_a_422_problem_naming_id_number_and_nothing_is_enrolled(enrollment, bus):
    sink = bus.sink("enrollment.enrolled")
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    good = applicants.id_number()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    for wrong in (bad, "36040220250229001X", "99040219900307001X"):
        answer = operator.post("/enrollment/enrollments", applicants.application(id_number=wrong))
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert problem["type"] == "/problems/invalid-id-number" and "id_number" in problem["errors"]
        assert wrong not in answer.text
    assert operator.get("/enrollment/enrollments").json()["total"] == 0
    assert sink.drain(quiet=0.5) == []


def test_an_ineligible_application_is_refused_naming_every_failed_rule(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    l4 = operator.post("/enrollment/enrollments", applicants.application(
        education={"tier": "junior_secondary_or_below", "status": "graduated"}, related_work_months=35))
    assert l4.status_code == 422
    assert l4.json()["type"] == "/problems/not-eligible"
    assert [r["rule"] for r in l4.json()["rules"]] == ["L4_EDUCATION", "L4_WORK_EXPERIENCE"]

    l3 = operator.post("/enrollment/enrollments", applicants.application(
        "L3", education={"tier": "bachelor", "status": "studying"}, work_months_since_l4=12,
        related_work_months=12))
    assert l3.status_code == 422
    assert [r["rule"] for r in l3.json()["rules"]] == ["L3_BACHELOR", "L3_L4_CERTIFICATE"]
    assert all(r["message"] for r in l3.json()["rules"])


def test_a_12_year_old_is_refused_naming_the_minimum_age_and_nothing_is_enrolled(enrollment, bus):
    sink = bus.sink("enrollment.enrolled")
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    today = date.today()
    twelve = people.id_number(born=today.replace(year=today.year - 12, day=1))
    answer = operator.post("/enrollment/enrollments", applicants.application(
        id_number=twelve, education={"tier": "secondary_vocational", "status": "studying"},
        related_work_months=0))
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "/problems/not-eligible"
    assert [r["rule"] for r in problem["rules"]] == ["MINIMUM_AGE"]
    assert "16" in problem["rules"][0]["message"]
    assert operator.get("/enrollment/enrollments").json()["total"] == 0
    assert sink.drain(quiet=0.5) == []


def test_only_a_base_with_a_valid_authorization_enrolls_and_changes_are_recorded(enrollment):
    admin = enrollment.client("enrollment", "admin", subject="admin-7")
    operator = enrollment.client("enrollment", "base_operator", base="B001")

    suspended = admin.post("/enrollment/bases/B001/suspension", {"reason": "audit found fake records"})
    assert suspended.status_code == 200 and suspended.json()["authorization"] == "suspended"
    refused = operator.post("/enrollment/enrollments", applicants.application())
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/base-not-authorized"
    assert admin.post("/enrollment/bases/B001/suspension", {"reason": "again"}).status_code == 409

    assert admin.post("/enrollment/bases/B001/reinstatement", {"reason": "records corrected"}).status_code == 200
    assert operator.post("/enrollment/enrollments", applicants.application()).status_code == 201

    today = date.today()
    for start, end, state in ((today - timedelta(days=400), today - timedelta(days=2), "expired"),
                              (today + timedelta(days=2), today + timedelta(days=400), "not_yet_valid")):
        changed = admin.put("/enrollment/bases/B001/authorization", {
            "authorized_from": start.isoformat(), "authorized_until": end.isoformat(),
            "reason": "renewal decision"})
        assert changed.status_code == 200 and changed.json()["authorization"] == state
        refused = operator.post("/enrollment/enrollments", applicants.application())
        assert refused.status_code == 403 and refused.json()["type"] == "/problems/base-not-authorized"

    history = operator.get("/enrollment/bases/B001").json()["history"]
    assert [h["action"] for h in history] == ["registered", "suspended", "reinstated",
                                              "period_changed", "period_changed"]
    assert history[1]["reason"] == "audit found fake records" and history[1]["changed_by"] == "admin-7"
    assert operator.post("/enrollment/bases/B001/suspension", {"reason": "x"}).status_code == 403
    listed = {b["code"]: b["authorization"] for b in admin.get("/enrollment/bases").json()["items"]}
    assert listed == {"B001": "not_yet_valid", "B002": "valid"}


def test_one_learner_holds_one_open_enrollment_per_level(enrollment, services):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    id_number = applicants.id_number()
    first = operator.post("/enrollment/enrollments", applicants.application(id_number=id_number))
    assert first.status_code == 201
    again = operator.post("/enrollment/enrollments", applicants.application(id_number=id_number.lower(),
                                                                              sector="steel"))
    assert again.status_code == 409 and again.json()["type"] == "/problems/open-enrollment-exists"
    assert again.json()["enrollment_id"] == first.json()["enrollment_id"]
    elsewhere = enrollment.client("enrollment", "base_operator", base="B002").post(
        "/enrollment/enrollments", applicants.application(id_number=id_number))
    assert elsewhere.status_code == 409 and "enrollment_id" not in elsewhere.json()
    other_level = operator.post("/enrollment/enrollments", applicants.application("L3", id_number=id_number))
    assert other_level.status_code == 201
    assert other_level.json()["learner_id"] == first.json()["learner_id"]

    # Concurrent applications of one new learner: exactly one is enrolled; the same
    # application sent again at once is answered with it, a different one refused.
    racing = applicants.id_number()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: operator.post("/enrollment/enrollments", applicants.application(
            id_number=racing, sector="steel" if i % 2 else "coal")), range(6)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 201, 409, 409, 409]
    assert len({a.json()["enrollment_id"] for a in answers}) == 1

    # The database itself refuses a second open enrollment of a learner and level.
    engine = make_engine(services.database_urls["enrollment"])
    try:
        with engine.begin() as conn:
            row = conn.execute(text("SELECT * FROM enrollments WHERE status = 'submitted' LIMIT 1")).mappings().one()
            copy = {**row, "enrollment_id": uuid.uuid4().hex}  # both databases read 32 hex digits
            columns = ", ".join(copy)
            with pytest.raises(IntegrityError):
                conn.execute(text(f"INSERT INTO enrollments ({columns}) VALUES "
                                  f"({', '.join(':' + c for c in copy)})"), copy)
    finally:
        engine.dispose()


def test_cancel_before_payment_emits_cancelled_and_after_payment_conflicts(enrollment, bus):
    sink = bus.sink("enrollment.cancelled")
    operator = enrollment.client("enrollment", "base_operator", base="B001", subject="op-9")
    id_number = applicants.id_number()
    unpaid = operator.post("/enrollment/enrollments", applicants.application(id_number=id_number)).json()
    path = f"/enrollment/enrollments/{unpaid['enrollment_id']}/cancellation"

    other_base = enrollment.client("enrollment", "base_operator", base="B002")
    assert other_base.post(path, {"reason": "not ours"}).status_code == 404
    assert operator.post(path, {}).status_code == 422  # a reason is required
    cancelled = operator.post(path, {"reason": "the learner changed their mind"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    last = cancelled.json()["history"][-1]
    assert (last["from_status"], last["to_status"], last["note"]) == (
        "submitted", "cancelled", "the learner changed their mind")
    event = sink.expect("enrollment.cancelled")
    assert str(event.data["enrollment_id"]) == unpaid["enrollment_id"]
    assert event.correlation_id == event.data["enrollment_id"]
    assert event.data["reason"] == "the learner changed their mind"
    assert operator.post(path, {"reason": "twice"}).status_code == 409
    # Cancelled is closed: the learner can be enrolled again.
    assert operator.post("/enrollment/enrollments", applicants.application(id_number=id_number)).status_code == 201

    paid = operator.post("/enrollment/enrollments", applicants.application()).json()
    bus.publish(ev.order_opened(paid))
    bus.publish(ev.paid(paid))
    view = f"/enrollment/enrollments/{paid['enrollment_id']}"
    wait_for(lambda: operator.get(view).json()["status"] == "active")
    admin = enrollment.client("enrollment", "admin")
    refused = admin.post(view + "/cancellation", {"reason": "too late"})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/not-cancellable"
    assert operator.get(view).json()["status"] == "active"
    assert len(sink.drain(quiet=0.5)) == 1


def test_another_base_never_rewrites_the_contact_a_base_entered_and_a_change_records_who(enrollment):
    first = enrollment.client("enrollment", "base_operator", base="B001", subject="op-1")
    second = enrollment.client("enrollment", "base_operator", base="B002", subject="op-2")
    id_number = applicants.id_number()
    ours = first.post("/enrollment/enrollments",
                      applicants.application(id_number=id_number, mobile="13911112222")).json()
    theirs = second.post("/enrollment/enrollments",
                         applicants.application("L3", id_number=id_number, mobile="13533334444"))
    assert theirs.status_code == 201 and theirs.json()["learner_id"] == ours["learner_id"]
    path = f"/enrollment/enrollments/{ours['enrollment_id']}"
    assert first.get(path).json()["mobile_masked"] == "139****2222"
    assert theirs.json()["mobile_masked"] == "135****4444"

    # The base corrects its own enrollment's contact; the change names who made it.
    assert second.put(path + "/contact", {"mobile": "13000000000", "reason": "x"}).status_code == 404
    changed = first.put(path + "/contact", {"mobile": "13700001111", "reason": "学员换号"})
    assert changed.status_code == 200 and changed.json()["mobile_masked"] == "137****1111"
    last = changed.json()["history"][-1]
    assert last["from_status"] == last["to_status"] == "submitted"
    assert last["cause"] == "contact changed by base_operator"
    assert last["note"] == "mobile 139****2222 -> 137****1111 by op-1: 学员换号"
    assert second.get(f"/enrollment/enrollments/{theirs.json()['enrollment_id']}").json()[
        "mobile_masked"] == "135****4444"
    bad = first.put(path + "/contact", {"mobile": "12345", "reason": "x"})
    assert bad.status_code == 422 and "mobile" in bad.json()["errors"]


def test_a_repeated_application_or_base_answers_what_it_made_and_a_different_one_names_it(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    application = applicants.application()
    made = operator.post("/enrollment/enrollments", application)
    assert made.status_code == 201
    again = operator.post("/enrollment/enrollments", application)
    assert again.status_code == 200 and again.json()["enrollment_id"] == made.json()["enrollment_id"]
    changed = operator.post("/enrollment/enrollments", {**application, "full_name": "李四"})
    assert changed.status_code == 409 and changed.json()["enrollment_id"] == made.json()["enrollment_id"]
    assert operator.get("/enrollment/enrollments").json()["total"] == 1

    admin = enrollment.client("enrollment", "admin", subject="admin-1")
    same = admin.post("/enrollment/bases", people.base("B001"))
    assert same.status_code == 200 and same.json()["code"] == "B001"
    other = admin.post("/enrollment/bases", people.base("B001", name="另一个基地"))
    assert other.status_code == 409 and other.json()["code"] == "B001"
    assert len(admin.get("/enrollment/bases/B001").json()["history"]) == 1


def test_the_operator_follows_a_journey_by_id_but_reads_no_enrollment(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    made = operator.post("/enrollment/enrollments", applicants.application()).json()
    sre = enrollment.client("enrollment", "operator", subject="sre-1")
    for path in ("/enrollment/enrollments", f"/enrollment/enrollments/{made['enrollment_id']}",
                 "/enrollment/bases", "/enrollment/bases/B001"):
        assert sre.get(path).status_code == 403, path
    journey = wait_for(lambda: (a := sre.get(f"/enrollment/journeys/{made['enrollment_id']}")).status_code == 200
                       and a.json())
    assert [s["type"] for s in journey["steps"]] == ["enrollment.enrolled"]
    assert made["full_name"] not in str(journey) and made["id_number_masked"] not in str(journey)


def test_the_learner_id_is_not_computable_from_the_id_number_and_known_learners_keep_theirs(enrollment, services):
    """docs/security.md: with the ID-hash key and a masked ID number, a learner id
    (in every token and event) must not be a lookup away from the full number."""
    from shared import identity
    from tests.support.services import TEST_SETTINGS
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    id_number = applicants.id_number()
    id_hash = identity.keyed_hash(id_number, TEST_SETTINGS["ID_HASH_KEY"].encode())
    learner_id = uuid.UUID(operator.post("/enrollment/enrollments",
                                         applicants.application(id_number=id_number)).json()["learner_id"])
    derived = uuid.uuid5(uuid.UUID("7d4f3c5e-1b0a-4c7e-9a51-c0a2b0e5a001"), id_hash)  # the former rule
    assert learner_id != derived and learner_id.version == 4

    # A learner recorded before (under the former, derived id) keeps it.
    known = applicants.id_number()
    known_hash = identity.keyed_hash(known, TEST_SETTINGS["ID_HASH_KEY"].encode())
    old_id = uuid.uuid5(uuid.UUID("7d4f3c5e-1b0a-4c7e-9a51-c0a2b0e5a001"), known_hash)
    engine = make_engine(services.database_urls["enrollment"])
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO learners (learner_id, id_number_hash, id_number_masked)"
                              " VALUES (:id, :hash, :masked)"),
                         {"id": old_id.hex, "hash": known_hash, "masked": identity.mask(known)})
    finally:
        engine.dispose()
    again = operator.post("/enrollment/enrollments", applicants.application(id_number=known))
    assert again.status_code == 201 and again.json()["learner_id"] == str(old_id)
