"""Billing's API payloads."""
from marshmallow import Schema, fields, validate

from shared.web.pagination import PageQuery, page_of
from shared.web.fields import Month, ProgramDate, ProgramMoment

from .domain import prices

# More than any payment of this program (100,000 CNY): a bigger amount is a mistake.
MAX_FEN = 10_000_000

class QrNotification(Schema):
    """What a QR-payment provider posts (signed over the raw body)."""
    transaction_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    order_id = fields.UUID(required=True)
    amount_fen = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_FEN))
    paid_at = ProgramMoment(required=True)


class NotificationResult(Schema):
    settlement = fields.Str(metadata={"description": "applied, duplicate, wrong_amount, "
                                      "unknown_order or refund_due"})
    order_id = fields.UUID(allow_none=True)


class QrCode(Schema):
    order_id = fields.UUID()
    channel = fields.Str(metadata={"description": "wechat_pay"})
    out_trade_no = fields.Str(metadata={"description": "the provider's merchant order number: the order's id"})
    code_url = fields.Str(metadata={"description": "the link the code carries (weixin://wxpay/bizpayurl?pr=...)"})
    amount_fen = fields.Int()
    description = fields.Str()
    expires_at = fields.AwareDateTime()
    png_base64 = fields.Str(metadata={"description": "the code as a PNG image, base64"})


class BankAccount(Schema):
    bank = fields.Str()
    account_name = fields.Str()
    account_number = fields.Str()


class Order(Schema):
    order_id = fields.UUID()
    enrollment_id = fields.UUID()
    kind = fields.Str(metadata={"description": "enrollment (the fee) or retake (a paid retake)"})
    retake_attempt = fields.Int(metadata={"description": "0 for the enrollment's order, else the attempt"})
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
    closed_at = fields.AwareDateTime(allow_none=True)
    pay_to = fields.Nested(BankAccount)
    study_begun = fields.Bool(metadata={"description": "learning reported study (refund needs an admin)"})


OrderPage = page_of(Order)


class ReviewItem(Schema):
    id = fields.Int()
    paid_at = fields.AwareDateTime()
    payer = fields.Str(allow_none=True)
    remark = fields.Str(allow_none=True)
    outcome = fields.Str(allow_none=True, metadata={"description": "paid, recorded or rejected"})
    settled_order_id = fields.UUID(allow_none=True)
    resolved_by = fields.Str(allow_none=True)
    resolved_role = fields.Str(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution_reason = fields.Str(allow_none=True)
    reason = fields.Str()
    state = fields.Str()
    detail = fields.Str()
    created_at = fields.AwareDateTime()
    channel = fields.Str()
    reference = fields.Str()
    amount_fen = fields.Int()
    order_id = fields.UUID(allow_none=True)


ReviewQueue = page_of(ReviewItem, "ReviewQueue")


class ReviewQuery(PageQuery):
    state = fields.Str(load_default="open", validate=validate.OneOf(("open", "settled", "rejected", "all")))
    reason = fields.Str(validate=validate.OneOf(("wrong_amount", "unknown_order", "refund_due",
                                                 "unmatched", "ambiguous")))


Reason = fields.Str(required=True, validate=validate.Length(min=3, max=500),
                    metadata={"description": "Why: recorded with who and when"})


class SettleRequest(Schema):
    order_id = fields.UUID(required=True)
    reason = Reason


class RejectRequest(Schema):
    reason = Reason


# -- bank statements ---------------------------------------------------------------

LINE_STATES = ("matched", "already_paid", "order_closed", "unmatched", "wrong_amount", "ambiguous",
               "duplicate", "invalid")


class StatementUpload(Schema):
    filename = fields.Str(validate=validate.Length(max=200))
    charset = fields.Str(validate=validate.OneOf(("utf-8", "gbk", "gb18030")),
                         metadata={"description": "Force the encoding (default: a charset in the "
                                   "Content-Type, else UTF-8, else GBK)"})


class StatementImport(Schema):
    statement_id = fields.UUID()
    state = fields.Str(metadata={"description": "importing (stopped half-way: the same file again "
                                 "resumes it) or complete"})
    filename = fields.Str(allow_none=True)
    encoding = fields.Str()
    lines = fields.Int()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int(),
                         metadata={"description": "lines per state: " + ", ".join(LINE_STATES)})
    uploaded_at = fields.AwareDateTime()
    uploaded_by = fields.Str()


class StatementLine(Schema):
    line_number = fields.Int()
    state = fields.Str()
    reason = fields.Str(allow_none=True)
    reference = fields.Str(allow_none=True)
    amount_fen = fields.Int(allow_none=True)
    remark = fields.Str(allow_none=True)
    order_id = fields.UUID(allow_none=True)
    payment_id = fields.Int(allow_none=True)


StatementLines = page_of(StatementLine, "StatementLines")


class StatementLinesQuery(PageQuery):
    state = fields.Str(validate=validate.OneOf(LINE_STATES))


# -- refunds ---------------------------------------------------------------------------

class RefundRequest(Schema):
    reason = Reason
    administrator_override = fields.Bool(load_default=False, metadata={
        "description": "An administrator overrides the rule once study has begun"})


class Refund(Schema):
    refund_id = fields.UUID()
    order_id = fields.UUID()
    amount_fen = fields.Int()
    reason = fields.Str()
    administrator_override = fields.Bool()
    refunded_by = fields.Str()
    refunded_role = fields.Str()
    refunded_at = fields.AwareDateTime()


# -- invoices ---------------------------------------------------------------------------

class InvoiceRequest(Schema):
    title_kind = fields.Str(required=True, validate=validate.OneOf(("personal", "company")))
    title = fields.Str(validate=validate.Length(min=1, max=200), metadata={
        "description": "The buyer: a company's name, or a person's (default: the learner)"})
    tax_id = fields.Str(validate=validate.Length(max=40), metadata={
        "description": "The company's unified social credit code (18 characters)"})


class CorrectionRequest(InvoiceRequest):
    reason = Reason


class Invoice(Schema):
    invoice_id = fields.UUID()
    number = fields.Str()
    order_id = fields.UUID()
    kind = fields.Str(metadata={"description": "blue (an invoice) or red (红字, reverses one)"})
    status = fields.Str(metadata={"description": "issued, or reversed (by a red invoice)"})
    title_kind = fields.Str()
    title = fields.Str()
    tax_id = fields.Str(allow_none=True)
    item = fields.Str()
    amount_fen = fields.Int(metadata={"description": "negative on a red invoice"})
    issued_at = fields.AwareDateTime()
    requested_by = fields.Str()
    requested_role = fields.Str()
    reverses_invoice_id = fields.UUID(allow_none=True)
    replaces_invoice_id = fields.UUID(allow_none=True)
    reason = fields.Str(allow_none=True)


class Invoices(Schema):
    """What a correction made: the red invoice and the new one."""
    invoices = fields.List(fields.Nested(Invoice))


InvoicePage = page_of(Invoice)


# -- reports -----------------------------------------------------------------------------

class ReportQuery(PageQuery):
    from_ = Month(required=True, data_key="from", metadata={"description": "First month, YYYY-MM"})
    to = Month(metadata={"description": "Last month, YYYY-MM (default: from)"})
    base_code = fields.Str(validate=validate.Length(min=1, max=32))
    format = fields.Str(load_default="json", validate=validate.OneOf(("json", "csv")))


class ReportRow(Schema):
    base_code = fields.Str()
    month = fields.Str()
    enrollments = fields.Int()
    due_fen = fields.Int()
    received_fen = fields.Int()
    refunded_fen = fields.Int()
    outstanding_fen = fields.Int()


Report = page_of(ReportRow, "Report")


# -- the price schedule -------------------------------------------------------------

class PriceRequest(Schema):
    """An administrator's new price: from 00:00 Asia/Shanghai of `effective_from`."""
    kind = fields.Str(required=True, validate=validate.OneOf(prices.KINDS),
                      metadata={"description": "L4 or L3 (the level's fee) or retake (a paid retake)"})
    amount_fen = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=prices.MAX_FEN))
    effective_from = ProgramDate(required=True, metadata={
        "description": "Today (Asia/Shanghai) or later, at most two years ahead; in effect from 00:00 "
                       "Asia/Shanghai of that date. Another entry of the same kind and date: the last "
                       "recorded wins (both stay in the history)."})
    reason = fields.Str(validate=validate.Length(min=3, max=500), load_default=None,
                        metadata={"description": "Why, recorded with who and when"})


class PriceEntry(Schema):
    kind = fields.Str()
    amount_fen = fields.Int()
    amount_display = fields.Str()
    effective_from = fields.Date(allow_none=True, metadata={
        "description": "null for a starting price (the configuration's), in effect since always"})
    takes_effect_at = fields.AwareDateTime(allow_none=True)
    sequence = fields.Int(allow_none=True, metadata={"description": "the order entries were recorded in"})
    recorded_by = fields.Str(metadata={"description": "the administrator, or `configuration`"})
    recorded_at = fields.AwareDateTime(allow_none=True)
    reason = fields.Str(allow_none=True)


class PriceSchedule(Schema):
    """The price of each kind in effect now, and the entries still to come."""
    at = fields.AwareDateTime()
    in_effect = fields.Dict(keys=fields.Str(), values=fields.Int(),
                            metadata={"description": "kind -> fen, now"})
    entries = fields.List(fields.Nested(PriceEntry),
                          metadata={"description": "per kind: the entry in effect, then those to come"})


PriceHistory = page_of(PriceEntry, "PriceHistory")
