"""Events produced by the billing service."""
from marshmallow import fields, validate

from .fields import described, fen, level, moment, text, uuid
from .registry import EventData, contract

CHANNELS = ("bank_transfer", "wechat_pay", "alipay")


@contract("billing.order-opened", 1, producer="billing", consumers=("enrollment",))
class OrderOpened(EventData):
    """An order for the enrollment's full fee is open and awaits payment."""

    order_id = uuid("The order.")
    enrollment_id = uuid("The enrollment the order charges for.")
    level = level()
    amount_fen = fen("The amount due, in fen (390000 for L4, 490000 for L3).")
    payment_remark = text("The remark a bank transfer must carry: <full name>—碳排放管理员.")
    opened_at = moment("When the order was opened.")


@contract("billing.paid", 1, producer="billing", consumers=("enrollment", "learning", "identity"))
class Paid(EventData):
    """The order was paid with exactly its amount. Emitted once per order,
    whatever the number of notifications or statement lines that reported it."""

    order_id = uuid("The order.")
    enrollment_id = uuid("The enrollment that is now paid.")
    learner_id = uuid("The learner.")
    amount_fen = fen("The amount received, in fen.")
    channel = described(fields.Str, "How it was paid: bank_transfer, wechat_pay or alipay.",
                        validate=validate.OneOf(CHANNELS))
    payment_reference = text("The provider's transaction id or the bank statement line's reference.")
    paid_at = moment("When the payment was made, as the provider or bank reports it.")


@contract("billing.refunded", 1, producer="billing", consumers=("enrollment", "learning", "identity"))
class Refunded(EventData):
    """A clerk refunded a paid order. Before any study was recorded this is the
    clerk's decision; after, it needed an administrator's override (recorded).
    Enrollment marks the enrollment refunded; learning closes the account."""
    order_id = uuid("The refunded order.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    amount_fen = fen("The amount refunded, in fen.")
    reason = text("The clerk's reason.")
    administrator_override = described(fields.Bool, "True when study had begun and an "
                                       "administrator overrode the rule.")
    refunded_at = moment("When the refund was recorded.")


@contract("billing.retake-paid", 1, producer="billing", consumers=("exam",))
class RetakePaid(EventData):
    """The paid retake order opened on `exam.retake-required` was paid with exactly
    its amount: exam allows the registration for that attempt."""
    order_id = uuid("The retake order.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    attempt_number = described(fields.Int, "The attempt the payment allows (as exam asked).",
                               strict=True, validate=validate.Range(min=2))
    amount_fen = fen("The amount received, in fen.")
    paid_at = moment("When the payment was made.")
