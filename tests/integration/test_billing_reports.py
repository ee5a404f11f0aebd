"""The monthly report per base, JSON and CSV, through the API."""
import csv
import io

from shared.calendar import PROGRAM_TZ, utcnow
from tests.support import payments
from tests.support.billing_helpers import enroll, order_of
from tests.support.events import cancelled
from tests.support.wait import wait_for


def test_monthly_report_per_base_in_json_and_csv(services, bus):
    sink = bus.sink("billing.paid", "billing.refunded")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    provider = services.anonymous("billing")
    a1, a2, a3 = (order_of(clerk, enroll(bus, n, level, base_code="B001"))
                  for n, level in (("甲一", "L4"), ("甲二", "L3"), ("甲三", "L4")))
    gone = enroll(bus, "甲四", base_code="B001")
    b1 = order_of(clerk, enroll(bus, "乙一", base_code="B002"))
    order_of(clerk, gone)
    bus.publish(cancelled(gone))
    for order, ref in ((a1, "W1"), (a2, "W2"), (b1, "W3")):
        payments.notify(provider, order["order_id"], order["amount_fen"], ref)
    payments.notify(provider, a3["order_id"], 100, "W4")  # wrong amount: not received until settled
    sink.expect("billing.paid", where=lambda e: str(e.data["order_id"]) == b1["order_id"])
    assert clerk.post(f"/billing/orders/{a1['order_id']}/refund", {"reason": "withdrew"}).status_code == 201
    wait_for(lambda: clerk.get(f"/billing/enrollments/{gone.data['enrollment_id']}/order").json()["status"]
             == "cancelled")

    month = utcnow().astimezone(PROGRAM_TZ).strftime("%Y-%m")
    rows = clerk.get("/billing/reports/monthly", params={"from": month}).json()["items"]
    assert rows == [
        {"base_code": "B001", "month": month, "enrollments": 3, "due_fen": 390000 + 490000 + 390000,
         "received_fen": 390000 + 490000, "refunded_fen": 390000, "outstanding_fen": 390000},
        {"base_code": "B002", "month": month, "enrollments": 1, "due_fen": 390000, "received_fen": 390000,
         "refunded_fen": 0, "outstanding_fen": 0},
    ]
    operator = services.client("billing", "base_operator", base="B002")
    own = operator.get("/billing/reports/monthly", params={"from": month, "base_code": "B001"}).json()
    assert [r["base_code"] for r in own["items"]] == ["B002"]

    exported = clerk.get("/billing/reports/monthly", params={"from": month, "format": "csv", "base_code": "B001"})
    assert exported.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table == [{"base_code": "B001", "month": month, "enrollments": "3", "due_fen": "1270000",
                      "received_fen": "880000", "refunded_fen": "390000", "outstanding_fen": "390000"}]
    bad = clerk.get("/billing/reports/monthly", params={"from": "2026-13"})
    assert bad.status_code == 422 and "from" in bad.json()["errors"]  # the parameter, named
    assert clerk.get("/billing/reports/monthly").status_code == 422
    assert services.client("billing", "learner").get("/billing/reports/monthly",
                                                     params={"from": month}).status_code == 403
