"""Billing's orders through its handlers, called as written, on its migrated SQLite
database (tests/support/actions_db.py); delivery stays with
tests/integration/test_billing*.py and the learner's journey (tests/e2e)."""
import uuid

import pytest

from services.billing.actions import orders
from services.billing.service import BillingService
from shared.messaging.consumer import Defer
from shared.tokens import Principal
from tests.support import events

CLERK = Principal(subject="clerk-1", role="finance_clerk", base=None)


def _billing():
    service = BillingService()
    service.config = {}  # the fees' defaults, as in config.yaml
    return service


def test_enrolled_opens_one_order_for_the_exact_fee_of_its_level(actions_db):
    db, billing = actions_db("billing"), _billing()
    l4, l3 = events.enrolled(level="L4"), events.enrolled(full_name="李四", level="L3")
    db.handle(billing.open_orders, l4)
    db.handle(billing.open_orders, l3)

    opened = {e.data["enrollment_id"]: e for e in db.emitted("billing.order-opened")}
    with db.read() as session:
        order = orders.order_of_enrollment(session, uuid.UUID(l4.data["enrollment_id"]), CLERK)
        other = orders.order_of_enrollment(session, uuid.UUID(l3.data["enrollment_id"]), CLERK)
    assert (order.amount_fen, order.payment_remark, order.status) == (390000, "张三—碳排放管理员", "open")
    assert other.amount_fen == 490000
    assert opened[order.enrollment_id].data["amount_fen"] == 390000
    assert opened[order.enrollment_id].causation_id == l4.id


def test_a_cancellation_closes_the_open_order_and_one_before_the_order_waits(actions_db):
    db, billing = actions_db("billing"), _billing()
    enrolled = events.enrolled()
    with pytest.raises(Defer):
        db.handle(billing.close_cancelled_order, events.cancelled(enrolled))
    db.handle(billing.open_orders, enrolled)
    db.handle(billing.close_cancelled_order, events.cancelled(enrolled))
    with db.read() as session:
        order = orders.order_of_enrollment(session, uuid.UUID(enrolled.data["enrollment_id"]), CLERK)
    assert order.status == "cancelled" and order.closed_at
