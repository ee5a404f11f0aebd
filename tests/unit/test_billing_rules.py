"""Billing's other pure rules: credit codes, invoices, refunds, the clerk's decisions, reports."""
from datetime import date, datetime, timezone

import pytest

from services.billing.domain import invoices, refunds, reports, review, uscc
from shared.errors import Conflict, InvalidInput, RuleViolation

VALID = "91350100M000100Y43"


def test_a_real_unified_social_credit_code_is_valid():
    assert uscc.problem(VALID) is None
    assert uscc.check_character(VALID[:17]) == "3"
    assert uscc.problem(uscc.normalise(" 91350100m000100y43 ")) is None


@pytest.mark.parametrize("code, says", [
    ("91350100M000100Y44", "check character"),   # last character mistyped
    ("91350100M000100Y34", "check character"),   # two characters swapped
    ("91350100N000100Y43", "check character"),   # one character mistyped
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y433", "18 characters"),
    ("91350100M0001O0Y43", "do not occur"),      # letter O for zero
    ("9135010IM000100Y43", "do not occur"),      # letter I
    ("00350100M000100Y43", "registration authority"),
])
def test_mistyped_credit_codes_are_refused_with_what_is_wrong(code, says):
    assert says in uscc.problem(code)


def test_a_company_title_needs_a_valid_code_and_a_personal_one_none():
    assert invoices.title("company", "福建某某有限公司", "91350100m000100y43").tax_id == VALID
    assert invoices.title("personal", "张三", None) == invoices.Title("personal", "张三", None)
    with pytest.raises(InvalidInput) as refused:
        invoices.title("company", "福建某某有限公司", "91350100M000100Y44")
    assert "check character" in refused.value.extra["errors"]["tax_id"][0]
    with pytest.raises(InvalidInput) as refused:
        invoices.title("company", "", None)
    assert set(refused.value.extra["errors"]) == {"title", "tax_id"}
    with pytest.raises(InvalidInput):
        invoices.title("personal", "张三", VALID)


def test_an_invoice_follows_payment_once_until_corrected():
    me, firm = invoices.Title("personal", "张三", None), invoices.Title("company", "某公司", VALID)
    assert invoices.may_issue("paid", None, me) is False
    for status in ("open", "cancelled", "refunded"):
        with pytest.raises(invoices.OrderNotPaid):
            invoices.may_issue(status, None, me)
    assert invoices.may_issue("paid", ("I-1", me), me) is True  # the same request: answered with it
    with pytest.raises(invoices.AlreadyInvoiced) as refused:
        invoices.may_issue("paid", ("I-1", me), firm)
    assert refused.value.extra["invoice_id"] == "I-1"
    assert invoices.may_correct("blue", "issued") is False
    for kind, status in (("blue", "reversed"), ("red", "issued")):
        with pytest.raises(invoices.InvoiceNotCorrectable):
            invoices.may_correct(kind, status)
    assert invoices.may_correct("blue", "reversed", ("I-2", firm, "the employer pays"), firm,
                                "the employer pays") is True
    with pytest.raises(invoices.InvoiceNotCorrectable) as refused:
        invoices.may_correct("blue", "reversed", ("I-2", firm, "the employer pays"), me, "back")
    assert refused.value.extra["invoice_id"] == "I-2"


def test_a_refund_asked_again_is_answered_with_it_and_another_reason_names_it():
    assert refunds.repeated("R-1", "withdrew", "withdrew") is True
    with pytest.raises(refunds.NotRefundable) as refused:
        refunds.repeated("R-1", "withdrew", "ill")
    assert refused.value.extra["refund_id"] == "R-1"


def test_invoice_numbers_carry_the_shanghai_year_and_the_serial():
    new_year_in_shanghai = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)
    assert invoices.number(42, new_year_in_shanghai) == "FP20270000000042"
    assert invoices.number(7, datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc)) == "FP20260000000007"


def test_a_clerk_refunds_before_study_and_only_an_admin_override_after():
    assert refunds.check("paid", "enrollment", study_begun=False, role="finance_clerk", override=False) is False
    assert refunds.check("paid", "enrollment", study_begun=False, role="admin", override=True) is False
    with pytest.raises(RuleViolation) as refused:
        refunds.check("paid", "enrollment", study_begun=True, role="finance_clerk", override=True)
    assert refused.value.extra["rules"][0]["code"] == "study-begun"
    with pytest.raises(refunds.StudyBegun):
        refunds.check("paid", "enrollment", study_begun=True, role="admin", override=False)
    assert refunds.check("paid", "enrollment", study_begun=True, role="admin", override=True) is True


def test_only_a_paid_enrollment_order_is_refunded():
    for status in ("open", "cancelled", "refunded"):
        with pytest.raises(refunds.NotRefundable):
            refunds.check(status, "enrollment", False, "finance_clerk", False)
    with pytest.raises(Conflict):
        refunds.check("paid", "retake", False, "admin", True)


def test_settling_pays_only_an_open_order_of_exactly_that_amount():
    assert review.settle("open", "open", 390000, 390000) == review.Outcome.PAID
    assert review.settle("open", "open", 390000, 380000) == review.Outcome.RECORDED
    assert review.settle("open", "paid", 390000, 390000) == review.Outcome.RECORDED
    assert review.settle("open", "cancelled", 390000, 390000) == review.Outcome.RECORDED
    for state in ("settled", "rejected"):
        with pytest.raises(review.AlreadyResolved):
            review.settle(state, "open", 390000, 390000)
        with pytest.raises(review.AlreadyResolved):
            review.reject(state)
    assert review.reject("open") == review.Outcome.REJECTED


def test_a_month_is_a_shanghai_calendar_month():
    assert reports.month_of(datetime(2026, 10, 31, 15, 59, 59, tzinfo=timezone.utc)) == "2026-10"
    assert reports.month_of(datetime(2026, 10, 31, 16, 0, 0, tzinfo=timezone.utc)) == "2026-11"
    start, end = reports.bounds(date(2026, 11, 1), date(2026, 12, 1))
    assert start == datetime(2026, 10, 31, 16, tzinfo=timezone.utc)
    assert end == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)
    assert [m.month for m in reports.months(date(2026, 11, 1), date(2027, 2, 1))] == [11, 12, 1, 2]


def test_month_parameters_are_checked():
    assert reports.parse_month("2026-02") == date(2026, 2, 1)
    for bad in ("2026-13", "2026-2", "26-02", "", "2026-02-01"):
        with pytest.raises(InvalidInput):
            reports.parse_month(bad)
    with pytest.raises(InvalidInput):
        reports.months(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(InvalidInput):
        reports.months(date(2020, 1, 1), date(2026, 1, 1))


def test_report_rows_count_due_received_refunded_and_outstanding_by_month_and_base():
    report = reports.report_for(date(2026, 10, 1), date(2026, 11, 1))
    last_instant_of_october = datetime(2026, 10, 31, 15, 59, 59, tzinfo=timezone.utc)
    first_instant_of_november = datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)
    report.order_opened("B001", last_instant_of_october, 390000, True, "paid")
    report.order_opened("B001", first_instant_of_november, 490000, True, "open")
    report.order_opened("B001", first_instant_of_november, 390000, True, "cancelled")
    report.order_opened("B002", first_instant_of_november, 50000, False, "open")
    report.order_opened("B001", datetime(2026, 12, 1, tzinfo=timezone.utc), 390000, True, "open")
    report.received("B001", first_instant_of_november, 390000)
    report.refunded("B001", first_instant_of_november, 390000)
    rows = {(r.base_code, r.month): r for r in report.table()}
    assert set(rows) == {("B001", "2026-10"), ("B001", "2026-11"), ("B002", "2026-11")}
    assert vars(rows["B001", "2026-10"]) == dict(base_code="B001", month="2026-10", enrollments=1, due_fen=390000,
                                                 received_fen=0, refunded_fen=0, outstanding_fen=0)
    assert vars(rows["B001", "2026-11"]) == dict(base_code="B001", month="2026-11", enrollments=1, due_fen=490000,
                                                 received_fen=390000, refunded_fen=390000,
                                                 outstanding_fen=490000)
    assert (rows["B002", "2026-11"].enrollments, rows["B002", "2026-11"].due_fen) == (0, 50000)
