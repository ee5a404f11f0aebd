"""An enrollment's states (services/enrollment/domain/lifecycle.py), without a service."""
import pytest

from services.enrollment.domain.lifecycle import (NotCancellable, Status, advance, cancel,
                                                  expires_with_account, is_open)

S = Status


def test_status_only_moves_forward_so_a_late_event_changes_nothing():
    assert advance(S.SUBMITTED, S.ACTIVE) == S.ACTIVE  # paid before order-opened
    assert advance(S.ACTIVE, S.AWAITING_PAYMENT) is None  # the late order-opened
    assert advance(S.EXAM_PASSED, S.COURSEWORK_COMPLETE) is None
    assert advance(S.ACTIVE, S.ACTIVE) is None


def test_exits_are_final_and_a_certified_enrollment_does_not_exit():
    for exit_ in (S.CANCELLED, S.REFUNDED, S.EXPIRED):
        assert advance(exit_, S.ACTIVE) is None and advance(exit_, S.CERTIFIED) is None
        assert not is_open(exit_)
    assert advance(S.ACTIVE, S.REFUNDED) == S.REFUNDED
    assert advance(S.CERTIFIED, S.REFUNDED) is None and not is_open(S.CERTIFIED)


@pytest.mark.parametrize("status", [S.SUBMITTED, S.AWAITING_PAYMENT])
def test_an_unpaid_enrollment_can_be_cancelled(status):
    assert cancel(status) == S.CANCELLED


@pytest.mark.parametrize("status", [S.ACTIVE, S.COURSEWORK_COMPLETE, S.EXAM_PASSED, S.CERTIFIED,
                                    S.CANCELLED, S.REFUNDED, S.EXPIRED])
def test_after_payment_or_once_closed_cancelling_is_refused(status):
    with pytest.raises(NotCancellable):
        cancel(status)


def test_account_expiry_closes_only_an_enrollment_without_complete_coursework():
    assert expires_with_account(S.ACTIVE, coursework_complete=False)
    assert not expires_with_account(S.ACTIVE, coursework_complete=True)  # course-completed still on its way
    for status in (S.COURSEWORK_COMPLETE, S.EXAM_PASSED, S.CERTIFIED, S.CANCELLED, S.REFUNDED):
        assert not expires_with_account(status, coursework_complete=False)


def test_an_application_is_a_repeat_only_when_every_recorded_field_is_the_same():
    from services.enrollment import domain
    recorded = {"full_name": "张三", "mobile": "13800138000", "education_tier": "bachelor",
                "education_status": "graduated", "related_work_months": 12, "work_months_since_l4": 0,
                "sector": "power", "invoice_title": None, "status": "active"}
    assert domain.same_request(recorded, {**recorded, "status": "ignored"}, domain.APPLICATION_FIELDS)
    assert not domain.same_request(recorded, {**recorded, "mobile": "13900139000"}, domain.APPLICATION_FIELDS)
    assert not domain.same_request(recorded, {**recorded, "invoice_title": "某公司"}, domain.APPLICATION_FIELDS)
