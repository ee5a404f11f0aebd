"""Billing test helpers: enrollments played by the bus, orders, statement files (the events
themselves come from tests/support/events.py)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from tests.support import events
from tests.support.wait import wait_for


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
