"""Billing test helpers: the events its producers would send, statement files, orders."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

from shared.contracts import new_event
from shared.contracts.enrollment import Cancelled
from shared.contracts.exam import RetakeRequired
from shared.contracts.learning import StudyStarted
from tests.support import events
from tests.support.wait import wait_for


def _ids(of):
    return uuid.UUID(str(of.data["enrollment_id"])), uuid.UUID(str(of.data["learner_id"]))


def cancelled(of):
    enrollment_id, learner_id = _ids(of)
    return new_event(Cancelled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id, "level": of.data["level"],
        "base_code": of.data["base_code"], "reason": "the learner withdrew",
        "cancelled_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def retake_required(of, attempt=3):
    enrollment_id, learner_id = _ids(of)
    return new_event(RetakeRequired, {
        "enrollment_id": enrollment_id, "learner_id": learner_id, "level": of.data["level"],
        "attempt_number": attempt, "reason": "free_retake_used", "required_at": datetime.now(timezone.utc)},
        correlation_id=enrollment_id)


def study_started(of):
    enrollment_id, learner_id = _ids(of)
    return new_event(StudyStarted, {
        "account_id": uuid.uuid4(), "enrollment_id": enrollment_id, "learner_id": learner_id,
        "started_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def enroll(bus, full_name="张三", level="L4", base_code="B001"):
    event = events.enrolled(full_name=full_name, level=level, base_code=base_code)
    bus.publish(event)
    return event


def order_of(clerk, event, timeout=15.0) -> dict:
    """The enrollment's order, once billing has opened it."""
    path = f"/billing/enrollments/{event.data['enrollment_id']}/order"

    def found():
        answer = clerk.get(path)
        return answer.json() if answer.status_code == 200 else None
    return wait_for(found, timeout=timeout, message=f"no order for {event.data['full_name']}")


HEADER = ["交易日期", "交易时间", "交易流水号", "贷方金额", "对方户名", "对方账号", "附言"]


def statement(rows, preamble=("账号,0200 0000 0000 0000 000",)) -> str:
    """rows: (reference, amount, remark) or full 7-cell rows."""
    out = io.StringIO()
    for line in preamble:
        out.write(line + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for n, row in enumerate(rows):
        if len(row) == 3:
            reference, amount, remark = row
            at = datetime(2026, 11, 20, 8) + timedelta(seconds=n)
            row = [f"{at:%Y-%m-%d}", f"{at:%H:%M:%S}", reference, amount, "付款人", "6222020200112233445", remark]
        writer.writerow(row)
    return out.getvalue()


def upload(clerk, text: str, encoding="gbk", **params):
    return clerk.post("/billing/statements", data=text.encode(encoding), params=params,
                      headers={"Content-Type": "text/csv"})
