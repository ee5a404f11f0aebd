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


@contract("billing.paid", 1, producer="billing", consumers=("enrollment", "learning"))
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
