"""The exam calendar a year ahead through the API, on the real broker and database:
the rule's weekends flagged by the pinned holiday calendar, published by an
administrator with a decision for every flagged month, read by learners and bases.
The expected flags are the domain's (tests/unit/test_exam_calendar.py pins 2026's)."""
from datetime import datetime, timedelta, timezone

from services.exam.domain import exam_calendar
from services.exam.holidays import LAST_YEAR, ChineseHolidays
from shared.calendar import PROGRAM_TZ, program_date
from tests.support.wait import wait_for

PROBLEM = "application/problem+json"


def _year_ahead():
    return exam_calendar.proposal(program_date(datetime.now(timezone.utc)), ChineseHolidays())


def _weekend_of(sittings, month):
    return sorted({datetime.fromisoformat(s["starts_at"]).astimezone(PROGRAM_TZ).date()
                   for s in sittings if datetime.fromisoformat(s["starts_at"]).astimezone(PROGRAM_TZ)
                   .strftime("%Y-%m") == month})


def test_an_administrator_publishes_the_year_ahead_deciding_every_flagged_month(services, bus):
    services.start("exam")
    admin = services.client("exam", "admin", subject="admin-zhao")
    learner = services.client("exam", "learner")
    base = services.client("exam", "base_operator", base="B001")
    wait_for(lambda: admin.get("/exam/sittings").json()["total"] > 0)  # the generator's 3 months
    proposed = _year_ahead()

    assert learner.get("/exam/calendar").json()["total"] == 0  # nothing published yet
    assert learner.get("/exam/calendar/proposal").status_code == 403
    shown = admin.get("/exam/calendar/proposal").json()
    assert shown["total"] == 12 and len(shown["items"]) == 12
    assert [m["month"] for m in shown["items"]] == [m.month.strftime("%Y-%m") for m in proposed]
    assert not any(m["published"] for m in shown["items"])
    assert [[f["kind"] for f in m["flags"]] for m in shown["items"]] == \
        [[f.kind for f in m.flags] for m in proposed]
    if any(m.month.year > LAST_YEAR for m in proposed):  # never a silent pass
        unknown = next(m for m in shown["items"] if int(m["month"][:4]) > LAST_YEAR)
        assert unknown["flags"][0] == {"day": unknown["saturday"], "kind": "holidays_unknown",
                                       "detail": f"holidays unknown for {unknown['month'][:4]}"}

    flagged = [m for m in proposed if m.flagged]
    if flagged:  # nothing is published while a flagged month is undecided
        refused = admin.post("/exam/calendar/publication", {"decisions": []})
        assert refused.status_code == 422 and refused.headers["Content-Type"] == PROBLEM
        assert [r["month"] for r in refused.json()["rules"]] == [m.month.strftime("%Y-%m") for m in flagged]
        assert base.get("/exam/calendar").json()["total"] == 0

    # The first month moves a week earlier (its sittings may already be generated:
    # they move); every other flagged month is confirmed.
    moved = proposed[0]
    to = moved.saturday - timedelta(days=7)
    decisions = [{"month": moved.month.strftime("%Y-%m"), "action": "move", "saturday": to.isoformat(),
                  "reason": "考点检修"}]
    decisions += [{"month": m.month.strftime("%Y-%m"), "action": "confirm", "reason": "考点已确认"}
                  for m in flagged if m is not moved]
    assert learner.post("/exam/calendar/publication", {"decisions": decisions}).status_code == 403
    published = admin.post("/exam/calendar/publication", {"decisions": decisions})
    assert published.status_code == 200, published.text
    assert published.json()["published"] == 12

    months = base.get("/exam/calendar").json()["items"]
    assert learner.get("/exam/calendar").json()["items"] == months
    assert admin.get("/exam/calendar/proposal").json()["items"] == months
    assert len(months) == 12 and all(m["published"] and m["published_by"] == "admin-zhao" for m in months)
    first = months[0]
    assert (first["decision"], first["saturday"], first["rule_saturday"], first["reason"]) == \
        ("moved", to.isoformat(), moved.saturday.isoformat(), "考点检修")
    assert {m["decision"] for m in months[1:]} <= {"rule", "confirmed"}
    assert [m["month"] for m in months if m["decision"] == "confirmed"] == \
        [m.month.strftime("%Y-%m") for m in flagged if m is not moved]

    sittings = admin.get("/exam/sittings", params={"limit": 500}).json()["items"]
    assert _weekend_of(sittings, first["month"]) == [to, to + timedelta(days=1)]
    for month in months[1:]:
        assert [d.isoformat() for d in _weekend_of(sittings, month["month"])] == [month["saturday"],
                                                                                month["sunday"]]
        assert len([s for s in sittings if s["starts_at"][:10] in (month["saturday"], month["sunday"])]) == 4

    # Publishing again publishes nothing new; a published month is not decided again.
    assert admin.post("/exam/calendar/publication", {"decisions": []}).json()["published"] == 0
    again = admin.post("/exam/calendar/publication", {"decisions": decisions[:1]})
    assert again.status_code == 409 and again.json()["months"] == [first["month"]]


def test_a_decision_that_does_not_fit_is_a_problem_and_publishes_nothing(services, bus):
    services.start("exam")
    admin = services.client("exam", "admin")
    month = _year_ahead()[1]
    key = month.month.strftime("%Y-%m")
    for bad in ({"month": key, "action": "move", "saturday": (month.saturday + timedelta(days=1)).isoformat()},
                {"month": key, "action": "move"},
                {"month": key, "action": "skip"},
                {"month": "2026-13", "action": "confirm"},
                {"month": "2099-01", "action": "confirm"}):
        answer = admin.post("/exam/calendar/publication", {"decisions": [bad]})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["Content-Type"] == PROBLEM
    assert admin.post("/exam/calendar/publication", {"decisions": "all"}).status_code == 422
    assert admin.get("/exam/calendar").json()["total"] == 0
    assert not any(m["published"] for m in admin.get("/exam/calendar/proposal").json()["items"])
    assert services.anonymous("exam").get("/exam/calendar").status_code == 401
