"""Refunds (study-started, the administrator's override) and invoices (titles,
corrections by red invoice, the PDF), through the API and event handlers."""
import io

from pypdf import PdfReader

from tests.support import payments
from tests.support.billing_helpers import enroll, order_of
from tests.support.events import study_started
from tests.support.wait import wait_for

VALID_USCC = "91350100M000100Y43"


def _paid_order(services, bus, sink, name="钱多", base="B001"):
    clerk = services.client("billing", "finance_clerk")
    event = enroll(bus, name, base_code=base)
    order = order_of(clerk, event)
    payments.notify(services.anonymous("billing"), order["order_id"], 390000, f"WX-{name}")
    sink.expect("billing.paid", where=lambda e: str(e.data["order_id"]) == order["order_id"])
    return event, order


def test_a_clerk_refunds_a_paid_order_before_study(services, bus):
    sink = bus.sink("billing.paid", "billing.refunded")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk", subject="clerk-2")
    unpaid = order_of(clerk, enroll(bus, "冯一"))
    refused = clerk.post(f"/billing/orders/{unpaid['order_id']}/refund", {"reason": "asked"})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/not-refundable"

    _, order = _paid_order(services, bus, sink)
    learner_invoice = clerk.post(f"/billing/orders/{order['order_id']}/invoices", {"title_kind": "personal"})
    assert learner_invoice.status_code == 201
    refund = clerk.post(f"/billing/orders/{order['order_id']}/refund", {"reason": "the learner withdrew"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["administrator_override"] is False and refund.json()["refunded_by"] == "clerk-2"
    event = sink.expect("billing.refunded")
    assert (str(event.data["order_id"]), event.data["amount_fen"], event.data["administrator_override"]) == \
        (order["order_id"], 390000, False)
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "refunded"
    again = clerk.post(f"/billing/orders/{order['order_id']}/refund", {"reason": "again"})
    assert again.status_code == 409
    invoices = clerk.get(f"/billing/orders/{order['order_id']}/invoices").json()["items"]
    assert [(i["kind"], i["status"], i["amount_fen"]) for i in invoices] == \
        [("blue", "reversed", 390000), ("red", "issued", -390000)]
    assert services.client("billing", "base_operator", base="B001").post(
        f"/billing/orders/{order['order_id']}/refund", {"reason": "x" * 5}).status_code == 403


def test_after_study_began_only_an_administrators_override_refunds(services, bus):
    sink = bus.sink("billing.paid", "billing.refunded")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    event = enroll(bus, "卫青")
    bus.publish(study_started(event))  # may come before billing saw the payment
    order = order_of(clerk, event)
    wait_for(lambda: clerk.get(f"/billing/orders/{order['order_id']}").json()["study_begun"])
    payments.notify(services.anonymous("billing"), order["order_id"], 390000, "WX-WQ")
    sink.expect("billing.paid")

    by_clerk = clerk.post(f"/billing/orders/{order['order_id']}/refund",
                          {"reason": "withdrew", "administrator_override": True})
    assert by_clerk.status_code == 422 and by_clerk.json()["type"] == "/problems/study-begun"
    assert by_clerk.json()["rules"][0]["code"] == "study-begun"
    admin = services.client("billing", "admin", subject="admin-1")
    no_override = admin.post(f"/billing/orders/{order['order_id']}/refund", {"reason": "withdrew"})
    assert no_override.status_code == 422
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "paid"

    granted = admin.post(f"/billing/orders/{order['order_id']}/refund",
                         {"reason": "serious illness, certified", "administrator_override": True})
    assert granted.status_code == 201 and granted.json()["administrator_override"] is True
    assert granted.json()["refunded_by"] == "admin-1" and granted.json()["refunded_role"] == "admin"
    refunded = sink.expect("billing.refunded")
    assert refunded.data["administrator_override"] is True
    assert refunded.data["reason"] == "serious illness, certified"


def _pdf_text(answer) -> str:
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)


def test_invoices_follow_payment_are_frozen_and_corrected_by_a_red_invoice(services, bus):
    sink = bus.sink("billing.paid")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    early = enroll(bus, "蒋文")
    early_order = order_of(clerk, early)
    learner = services.client("billing", "learner", subject=str(early.data["learner_id"]))
    not_yet = learner.post(f"/billing/orders/{early_order['order_id']}/invoices", {"title_kind": "personal"})
    assert not_yet.status_code == 409 and not_yet.json()["type"] == "/problems/order-not-paid"

    event, order = _paid_order(services, bus, sink, "沈月")
    learner = services.client("billing", "learner", subject=str(event.data["learner_id"]))
    path = f"/billing/orders/{order['order_id']}/invoices"
    mistyped = learner.post(path, {"title_kind": "company", "title": "福建某某有限公司",
                                   "tax_id": "91350100M000100Y44"})
    assert mistyped.status_code == 422 and "check character" in mistyped.json()["errors"]["tax_id"][0]
    other_learner = services.client("billing", "learner", subject="someone-else")
    assert other_learner.post(path, {"title_kind": "personal"}).status_code == 404
    assert services.client("billing", "base_operator", base="B002").get(path).status_code == 404

    issued = learner.post(path, {"title_kind": "personal"})
    assert issued.status_code == 201, issued.text
    first = issued.json()
    assert first["title"] == "沈月" and first["number"].startswith("FP20") and len(first["number"]) == 16
    assert learner.post(path, {"title_kind": "personal", "title": "沈小月"}).status_code == 409

    base = services.client("billing", "base_operator", base="B001")
    corrected = base.post(f"/billing/invoices/{first['invoice_id']}/correction",
                          {"title_kind": "company", "title": "福建某某有限公司", "tax_id": VALID_USCC,
                           "reason": "the employer pays"})
    assert corrected.status_code == 201, corrected.text
    red, new = corrected.json()["invoices"]
    assert (red["kind"], red["amount_fen"], red["reverses_invoice_id"]) == ("red", -390000, first["invoice_id"])
    assert (new["kind"], new["tax_id"], new["replaces_invoice_id"]) == ("blue", VALID_USCC, first["invoice_id"])
    original = learner.get(f"/billing/invoices/{first['invoice_id']}").json()
    assert original == {**first, "status": "reversed"}  # frozen: only marked reversed
    again = base.post(f"/billing/invoices/{first['invoice_id']}/correction",
                      {"title_kind": "personal", "reason": "again"})
    assert again.status_code == 409
    assert len(learner.get(path).json()["items"]) == 3

    text = _pdf_text(learner.get(f"/billing/invoices/{new['invoice_id']}/pdf"))
    assert "福建某某有限公司" in text and "3,900.00" in text and new["number"] in text
    red_text = _pdf_text(base.get(f"/billing/invoices/{red['invoice_id']}/pdf"))
    assert "-3,900.00" in red_text and "红字" in red_text
    assert other_learner.get(f"/billing/invoices/{new['invoice_id']}/pdf").status_code == 404


def test_an_issued_invoice_cannot_be_edited_in_the_database_either(tmp_path):
    import uuid
    from datetime import datetime, timezone

    import pytest
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.billing.models import Invoice, InvoiceFrozen, Order, metadata
    engine = create_engine(f"sqlite:///{tmp_path}/frozen.sqlite3")
    metadata.create_all(engine)
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        order = Order(order_id=uuid.uuid4(), enrollment_id=uuid.uuid4(), learner_id=uuid.uuid4(), base_code="B001",
                      level="L4", full_name="张三", name_key="张三", amount_fen=390000, payment_remark="张三—碳排放管理员",
                      status="paid", opened_at=now)
        invoice = Invoice(invoice_id=uuid.uuid4(), order_id=order.order_id, kind="blue", status="issued",
                          title_kind="personal", title="张三", item="评价费", amount_fen=390000, issued_at=now,
                          requested_by="l", requested_role="learner")
        session.add_all([order, invoice])
        session.flush()
        invoice.number = "FP20260000000001"  # set once, from the serial
        session.commit()
        invoice.status = "reversed"
        session.commit()
        invoice.title = "李四"
        with pytest.raises(InvoiceFrozen):
            session.commit()
        session.rollback()
        invoice.number = "FP20260000000002"
        with pytest.raises(InvoiceFrozen):
            session.commit()


def test_a_repeated_refund_invoice_or_correction_answers_what_it_made(services, bus):
    sink = bus.sink("billing.paid", "billing.refunded")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk", subject="clerk-3")
    event, order = _paid_order(services, bus, sink, "韩梅")
    learner = services.client("billing", "learner", subject=str(event.data["learner_id"]))
    path = f"/billing/orders/{order['order_id']}/invoices"
    company = {"title_kind": "company", "title": "福建某某有限公司", "tax_id": VALID_USCC}

    issued = learner.post(path, {"title_kind": "personal"})
    again = learner.post(path, {"title_kind": "personal"})
    assert issued.status_code == 201 and again.status_code == 200 and again.json() == issued.json()
    other = learner.post(path, company)
    assert other.status_code == 409 and other.json()["invoice_id"] == issued.json()["invoice_id"]

    fix = f"/billing/invoices/{issued.json()['invoice_id']}/correction"
    corrected = learner.post(fix, {**company, "reason": "the employer pays"})
    repeated = learner.post(fix, {**company, "reason": "the employer pays"})
    assert corrected.status_code == 201 and repeated.status_code == 200
    assert repeated.json() == corrected.json()
    replacement = corrected.json()["invoices"][1]["invoice_id"]
    different = learner.post(fix, {"title_kind": "personal", "reason": "back to me"})
    assert different.status_code == 409 and different.json()["invoice_id"] == replacement
    assert len(learner.get(path).json()["items"]) == 3

    refund_path = f"/billing/orders/{order['order_id']}/refund"
    refund = clerk.post(refund_path, {"reason": "the learner withdrew"})
    repeat = clerk.post(refund_path, {"reason": "the learner withdrew"})
    assert refund.status_code == 201 and repeat.status_code == 200 and repeat.json() == refund.json()
    conflicting = clerk.post(refund_path, {"reason": "another reason"})
    assert conflicting.status_code == 409 and conflicting.json()["refund_id"] == refund.json()["refund_id"]
    sink.expect("billing.refunded")
    sink.drain(quiet=0.5)
    assert len(sink.of_type("billing.refunded")) == 1  # refunded once
