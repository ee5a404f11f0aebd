"""Refunds, pure: a clerk's decision before study begins, an administrator's override after."""
from __future__ import annotations

from shared.errors import Conflict, RuleViolation

from . import OrderKind, OrderStatus


class NotRefundable(Conflict):
    slug = "not-refundable"


class StudyBegun(RuleViolation):
    slug = "study-begun"


def repeated(refund_id, refunded_because: str, reason: str) -> bool:
    """An order is refunded once. The same refund asked again (same reason) is
    answered with it; another reason is refused, naming the refund."""
    if refunded_because == reason:
        return True
    raise NotRefundable(f"the order was refunded already (refund {refund_id})", refund_id=str(refund_id))


def check(order_status: str, order_kind: str, study_begun: bool, role: str, override: bool) -> bool:
    """Whether the refund is an administrator's override; raises when refused."""
    if order_kind != OrderKind.ENROLLMENT.value:
        raise NotRefundable("only an enrollment's order is refunded here; a retake fee is not")
    if order_status != OrderStatus.PAID.value:
        raise NotRefundable(f"the order is {order_status}: only a paid order can be refunded")
    if not study_begun:
        return False
    if role == "admin" and override:
        return True
    raise StudyBegun("study has begun on this enrollment: a refund needs an administrator's override",
                     rules=[{"code": "study-begun",
                             "message": "the learner has studied; only an administrator can refund, "
                                        "with override set and a reason"}])
