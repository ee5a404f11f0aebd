"""Billing's API payloads."""
from marshmallow import Schema, fields, validate

PROVIDERS = ("wechat_pay", "alipay")


class QrNotification(Schema):
    """What a QR-payment provider posts (signed over the raw body)."""
    transaction_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    order_id = fields.UUID(required=True)
    amount_fen = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    paid_at = fields.AwareDateTime(required=True)


class NotificationResult(Schema):
    settlement = fields.Str(metadata={"description": "applied, duplicate, wrong_amount, "
                                      "unknown_order or refund_due"})
    order_id = fields.UUID(allow_none=True)


class BankAccount(Schema):
    bank = fields.Str()
    account_name = fields.Str()
    account_number = fields.Str()


class Order(Schema):
    order_id = fields.UUID()
    enrollment_id = fields.UUID()
    learner_id = fields.UUID()
    base_code = fields.Str()
    level = fields.Str()
    full_name = fields.Str()
    amount_fen = fields.Int()
    amount_display = fields.Str(metadata={"description": "The amount in yuan, for display"})
    currency = fields.Str()
    payment_remark = fields.Str()
    status = fields.Str()
    opened_at = fields.AwareDateTime()
    paid_at = fields.AwareDateTime(allow_none=True)
    pay_to = fields.Nested(BankAccount)


class ReviewItem(Schema):
    id = fields.Int()
    reason = fields.Str()
    state = fields.Str()
    detail = fields.Str()
    created_at = fields.AwareDateTime()
    channel = fields.Str()
    reference = fields.Str()
    amount_fen = fields.Int()
    order_id = fields.UUID(allow_none=True)


class ReviewQueue(Schema):
    items = fields.List(fields.Nested(ReviewItem))
