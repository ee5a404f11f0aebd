"""Enrollment's handlers of the other services' events, through the real broker (what one
event changes alone: tests/actions/test_enrollment_reactions.py)."""
from datetime import date, timedelta

import pytest

from shared import identity
from tests.support import events as ev
from tests.support import enrollment_people as applicants
from tests.support import people
from tests.support.services import TEST_SETTINGS
from tests.support.wait import wait_for

ID_KEY = TEST_SETTINGS["ID_HASH_KEY"].encode()


@pytest.fixture
def operator(services):
    services.start("enrollment")
    assert services.client("enrollment", "admin").post("/enrollment/bases", people.base("B001")).status_code == 201
    return services.client("enrollment", "base_operator", base="B001")


def enroll(operator, **overrides) -> dict:
    answer = operator.post("/enrollment/enrollments", applicants.application(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def status_of(operator, enrollment) -> dict:
    return operator.get(f"/enrollment/enrollments/{enrollment['enrollment_id']}").json()


def until(operator, enrollment, condition) -> dict:
    def met():
        view = status_of(operator, enrollment)
        return view if condition(view) else None
    return wait_for(met)


def test_account_expiry_closes_only_an_enrollment_whose_coursework_is_not_complete(operator, bus):
    studying, complete = enroll(operator), enroll(operator)
    for e in (studying, complete):
        bus.publish(ev.paid(e))
    bus.publish(ev.course_completed(complete))
    until(operator, complete, lambda v: v["status"] == "coursework_complete")
    until(operator, studying, lambda v: v["status"] == "active")

    end = date.today() - timedelta(days=1)
    bus.publish(ev.account_expired(studying, end, coursework_complete=False))
    bus.publish(ev.account_expired(complete, end, coursework_complete=True))
    expired = until(operator, studying, lambda v: v["status"] == "expired")
    assert expired["account_valid_until"] == end.isoformat()
    kept = until(operator, complete, lambda v: any("right to sit the exam" in (h["note"] or "")
                                                  for h in v["history"]))
    assert kept["status"] == "coursework_complete"

    # An administrator's extension after the expiry reopens the enrollment.
    later = date.today() + timedelta(days=60)
    bus.publish(ev.account_extended(studying, end, later, reason="hospitalised, certificate seen"))
    reopened = until(operator, studying, lambda v: v["status"] == "active")
    assert reopened["account_valid_until"] == later.isoformat()
    assert "hospitalised" in reopened["history"][-1]["note"]

    # A moved sitting is a note the base sees; the status stays.
    bus.publish(ev.sitting_changed(complete, "moved", reason="network outage at the centre"))
    noted = until(operator, complete, lambda v: "network outage" in (v["history"][-1]["note"] or ""))
    assert noted["status"] == "coursework_complete"
    assert noted["history"][-1]["cause"] == "exam.sitting-changed"


def test_the_l3_route_follows_the_registry_issued_reissued_and_revoked(operator, bus):
    long_ago = date.today() - timedelta(days=800)
    as_l3 = dict(level="L3", education={"tier": "junior_college", "status": "graduated"},
                 related_work_months=30, work_months_since_l4=14)

    # A certificate recorded under a mistyped ID, then reissued under the right one.
    corrected = applicants.id_number()
    wrong_hash = identity.keyed_hash(applicants.id_number(), ID_KEY)
    right_hash = identity.keyed_hash(corrected, ID_KEY)
    source = ev.elsewhere()
    bus.publish(ev.certificate_issued(source, wrong_hash, "CEA4-0001", long_ago))
    bus.publish(ev.certificate_reissued(source, right_hash, "CEA4-0001", long_ago, serial=2))

    def l3_answer(id_number):
        return operator.post("/enrollment/enrollments", applicants.application(id_number=id_number, **as_l3))

    wait_for(lambda: l3_answer(corrected).status_code == 201)

    # A certificate younger than 12 months does not open the route.
    young = applicants.id_number()
    bus.publish(ev.certificate_issued(ev.elsewhere(), identity.keyed_hash(young, ID_KEY), "CEA4-0002",
                                      date.today() - timedelta(days=100)))
    refused = wait_for(lambda: (a := l3_answer(young)).status_code == 422
                       and "L3_L4_CERTIFICATE_AGE" in [r["rule"] for r in a.json()["rules"]]
                       and a.json())
    assert [r["rule"] for r in refused["rules"]] == [
        "L3_BACHELOR", "L3_L4_CERTIFICATE_AGE", "L3_WORK_AFTER_L4_IMPOSSIBLE"]

    # An L4 enrollment certified here, then its certificate revoked.
    holder = applicants.id_number()
    holder_hash = identity.keyed_hash(holder, ID_KEY)
    l4 = enroll(operator, id_number=holder)
    bus.publish(ev.certificate_issued(l4, holder_hash, "CEA4-0003", long_ago))
    until(operator, l4, lambda v: v["status"] == "certified")
    again = operator.post("/enrollment/enrollments", applicants.application(id_number=holder))
    assert again.status_code == 409 and again.json()["type"] == "/problems/already-certified"

    bus.publish(ev.certificate_reissued(l4, holder_hash, "CEA4-0003", long_ago, serial=2,
                                        reason="the name was misspelt"))
    reissued = until(operator, l4, lambda v: v["certificate_serial"] == 2)
    assert reissued["certificate_status"] == "valid" and "misspelt" in reissued["history"][-1]["note"]

    bus.publish(ev.certificate_revoked(l4, holder_hash, "CEA4-0003", reason="forged work record"))
    revoked = until(operator, l4, lambda v: v["certificate_status"] == "revoked")
    assert revoked["status"] == "certified" and "forged work record" in revoked["history"][-1]["note"]
    closed = l3_answer(holder)
    assert closed.status_code == 422
    assert [r["rule"] for r in closed.json()["rules"]] == ["L3_BACHELOR", "L3_L4_CERTIFICATE"]
    assert "revoked" in closed.json()["rules"][1]["message"]
    # Without a valid certificate the learner may be enrolled for L4 again.
    assert operator.post("/enrollment/enrollments", applicants.application(id_number=holder)).status_code == 201
