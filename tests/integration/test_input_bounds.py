"""Inputs that reached the database unbounded and answered 500 (issue: integers past
2^63, dates the program cannot mean): each is a 4xx problem now, and nothing is written."""
import json
import uuid

import pytest

from tests.support.payments import sign

HUGE = 2**63
NUMBERS = (str(HUGE), "99999999999999999999")


@pytest.fixture
def running(services):
    for name in ("enrollment", "billing", "learning", "exam", "certificate"):
        services.start(name)
    return services


def _status(answer):
    assert answer.headers["Content-Type"] == "application/problem+json", answer.text
    return answer.status_code


@pytest.mark.parametrize("number", NUMBERS)
def test_integers_past_what_a_column_holds_are_refused(running, number):
    admin = {n: running.client(n, "admin") for n in ("enrollment", "billing", "certificate")}
    assert _status(admin["enrollment"].get(f"/enrollment/enrollments?offset={number}")) == 422
    assert _status(admin["billing"].get(f"/billing/review?offset={number}")) == 422
    assert _status(admin["billing"].post(f"/billing/review/{number}/settle",
                                         {"order_id": str(uuid.uuid4()), "reason": "found it"})) == 404
    assert _status(admin["certificate"].post("/certificate/registry/search", {"page": int(number)})) == 422
    learner = running.client("exam", "learner", subject=str(uuid.uuid4()))
    assert _status(learner.put(f"/exam/papers/{uuid.uuid4()}/answers/{number}", {"answer": "A"})) == 404
    body = json.dumps({"transaction_id": "tx-huge", "order_id": str(uuid.uuid4()), "amount_fen": int(number),
                       "paid_at": "2026-11-20T10:00:00+08:00"}).encode()
    qr = running.anonymous("billing").post("/billing/payments/qr/wechat_pay", data=body, headers=sign(body))
    assert _status(qr) == 422 and "amount_fen" in qr.json()["errors"]


def test_dates_the_program_cannot_mean_are_refused_and_nothing_is_written(running):
    billing = running.client("billing", "admin")
    for month in ("0000-01", "9999-01", "2026-13"):
        answer = billing.get("/billing/reports/monthly", params={"from": month})
        assert _status(answer) == 422 and "from" in answer.json()["errors"]
    exam = running.client("exam", "admin")
    sitting = exam.post("/exam/sittings", {"starts_at": "9999-12-31T23:59:59Z", "level": "L4", "capacity": 10})
    assert _status(sitting) == 422 and "starts_at" in sitting.json()["errors"]
    assert not [s for s in exam.get("/exam/sittings").json()["items"] if s["starts_at"].startswith("9999")]
    learning = running.client("learning", "admin")
    extension = learning.post(f"/learning/accounts/{uuid.uuid4()}/extensions",
                              {"valid_until": "9999-12-31", "reason": "long leave"})
    assert _status(extension) == 422 and "valid_until" in extension.json()["errors"]
    enrollment = running.client("enrollment", "admin")
    base = enrollment.post("/enrollment/bases", {"code": "B777", "name": "x", "contact": "0791-1",
                                                 "authorized_from": "2026-01-01", "authorized_until": "9999-12-31"})
    assert _status(base) == 422 and "authorized_until" in base.json()["errors"]
    assert enrollment.get("/enrollment/bases/B777").status_code == 404
