"""The billing service: orders, payments (QR, bank statements), the clerk's review
queue, refunds, invoices and monthly reports."""
import base64
import csv
import io
import json
import logging
from datetime import timedelta

import eventlet
import segno
from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from shared import settings
from shared.calendar import utcnow
from shared.contracts import enrollment, exam, learning
from shared.errors import InvalidInput, Unavailable
from shared.service import ServiceBase, api, event_handler, load_body
from shared.web.pagination import PageQuery, slice_page
from shared.uploads import spool
from shared.web.problems import BadSignature

from . import actions, domain, schemas
from .channels import wechatpay
from .domain import qr as qr_rules
from .domain import invoices as invoice_rules
from .domain import prices
from .domain import reports
from .invoice_pdf import invoice_pdf

ORDER_READERS = ("finance_clerk", "admin", "base_operator", "learner")
FINANCE = ("finance_clerk", "admin")
PRICE_READERS = ("admin", "finance_clerk", "base_operator")
QR_ASKERS = ("learner", "base_operator")
log = logging.getLogger(__name__)
_wechatpay_channels: dict[wechatpay.Settings, wechatpay.WeChatPayChannel] = {}


def wechatpay_fail_doc(why: str) -> dict:
    """A notification's refusal as WeChat Pay expects it, for the OpenAPI document."""
    return {"description": why, "content": {"application/json": {"schema": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}}}}}}


class BillingService(ServiceBase):
    name = "billing"
    config = Config()
    required_settings = (settings.QR_PROVIDER_SECRETS, *(
        settings.Setting(key, f"BILLING_{key}", check=settings.whole_number(1, 10**9), optional=True)
        for key in ("FEE_L4_FEN", "FEE_L3_FEN", "RETAKE_FEE_FEN", "STATEMENT_MAX_BYTES")))

    def starting_prices(self) -> list[prices.PriceEntry]:
        """The price schedule's starting entries: the configuration's fees, in
        effect until an administrator's entry takes over (domain/prices.py)."""
        return [prices.PriceEntry("L4", int(self.config.get("FEE_L4_FEN", 390000)), None),
                prices.PriceEntry("L3", int(self.config.get("FEE_L3_FEN", 490000)), None),
                prices.PriceEntry(prices.RETAKE, int(self.config.get("RETAKE_FEE_FEN", 50000)), None)]

    def schedule(self, session) -> list[prices.PriceEntry]:
        return actions.prices.schedule(session, self.starting_prices())

    def bank_account(self) -> dict:
        return {"bank": self.config.get("BANK_NAME", "中国工商银行北京分行营业部"),
                "account_name": self.config.get("BANK_ACCOUNT_NAME", "碳排放管理员职业能力评价项目办公室"),
                "account_number": self.config.get("BANK_ACCOUNT_NUMBER", "0200 0000 0000 0000 000")}

    def provider_secret(self, provider: str) -> bytes | None:
        for pair in str(self.config.get("QR_PROVIDER_SECRETS", "")).split(","):
            name, _, secret = pair.partition(":")
            if name.strip() == provider and secret:
                return secret.strip().encode()
        return None

    def wechatpay_channel(self) -> wechatpay.WeChatPayChannel:
        """The WeChat Pay channel of these settings (made once per settings)."""
        settings = wechatpay.Settings.from_config(self.config)
        if settings not in _wechatpay_channels:
            _wechatpay_channels[settings] = wechatpay.WeChatPayChannel(settings)
        return _wechatpay_channels[settings]

    # -- events ----------------------------------------------------------------

    @event_handler(enrollment.Enrolled, batch=True)
    def open_orders(self, tx, events):
        actions.open_orders(tx, events, self.schedule(tx.session))

    @event_handler(enrollment.Cancelled)
    def close_cancelled_order(self, tx, event):
        actions.cancel_order(tx, event)

    @event_handler(exam.RetakeRequired)
    def open_retake_order(self, tx, event):
        actions.open_retake_order(tx, event, self.schedule(tx.session))

    @event_handler(learning.StudyStarted)
    def record_study(self, tx, event):
        actions.record_study(tx, event)

    # -- payments ----------------------------------------------------------------

    @api("POST", "/billing/payments/qr/<provider>", public=True, request=schemas.QrNotification,
         load_request=False, response=schemas.NotificationResult,
         responses={401: "The signature does not verify, or the provider is unknown; nothing was recorded"})
    def qr_notification(self, request, provider):
        """A QR-payment provider's notification, signed with HMAC-SHA256 over the raw
        body (header X-Signature). Public to the network, but nothing happens
        unless the signature verifies with that provider's secret."""
        secret = self.provider_secret(provider)
        raw = request.get_data(cache=True)
        if secret is None or not domain.signature_valid(secret, raw,
                                                        request.headers.get("X-Signature", "")):
            raise BadSignature("the notification's signature does not verify; nothing was recorded")
        body = load_body(schemas.QrNotification(), raw)
        with self.db.transaction() as tx:
            settlement, order = actions.record_payment(
                tx, channel=provider, reference=body["transaction_id"], order_id=body["order_id"],
                amount_fen=body["amount_fen"], paid_at=body["paid_at"], now=utcnow())
        return {"settlement": settlement.value, "order_id": order.order_id if order else None}

    @api("POST", "/billing/orders/<uuid:order_id>/qr/wechatpay", roles=QR_ASKERS, response=schemas.QrCode,
         status=201, alternatives={200: "the code already made for this order, still payable"},
         responses={409: "The order is not open, or its code has expired",
                    503: "WeChat Pay could not be reached or refused the order; nothing was recorded"})
    def wechatpay_code(self, request, principal, order_id):
        """A WeChat Pay QR code for an open order (a Native order with the provider:
        our order as its out_trade_no, the exact amount, the program's name, an expiry):
        its link (code_url) and a PNG to show. Asking again answers the same code (200)
        while it can be paid, never a second provider order."""
        try:
            channel = self.wechatpay_channel()
        except wechatpay.ChannelNotConfigured as exc:
            log.error("WeChat Pay is not configured: %s", exc)
            raise Unavailable("WeChat Pay is not configured on this server") from None
        valid_for = timedelta(minutes=int(self.config.get("WECHATPAY_CODE_MINUTES", 120)))
        with self.db.transaction() as tx:
            code, new = actions.qr.wechatpay_code(tx, channel, order_id, principal, utcnow(), valid_for)
            view = actions.qr.code_view(code, qr_png(code.code_url))
        return (201 if new else 200), view

    @api("POST", "/billing/payments/wechatpay/notify", public=True, load_request=False, status=204,
         responses={400: wechatpay_fail_doc("Verified but not readable (resource, amount, merchant); "
                                            "no effect"),
                    401: wechatpay_fail_doc("The signature does not verify, the key is not ours or the "
                                            "timestamp is stale; no effect"),
                    503: wechatpay_fail_doc("The channel is not configured here; WeChat Pay retries later")})
    def wechatpay_notification(self, request):
        """WeChat Pay's payment notification (API v3), as it sends it: Wechatpay-Signature
        over timestamp, nonce and body, verified with the platform public key named by
        Wechatpay-Serial; a timestamp more than 5 minutes away refused; `resource`
        decrypted with the APIv3 key. A payment settles as every payment does (exact
        amount pays, each transaction once, else the review queue). 204 stops WeChat
        Pay's retries; a failure answers 4xx {"code": "FAIL", "message"} and does nothing."""
        raw = request.get_data(cache=True)
        try:
            channel = self.wechatpay_channel()
        except wechatpay.ChannelNotConfigured as exc:
            log.error("WeChat Pay notification not handled, the channel is not configured: %s", exc)
            return wechatpay_fail(503, "not configured")
        try:
            resource = channel.notification(request.headers, raw, utcnow())
            if resource is None:
                return Response(status=204)  # verified, not a payment: nothing to do
            paid = qr_rules.paid_transaction(resource, channel.settings.mchid, channel.settings.appid)
        except (wechatpay.BadNotification, qr_rules.NotPaid) as exc:
            # Logged without the body: who sent it and why it was refused.
            log.warning("WeChat Pay notification refused: %s", exc, extra={
                "wechatpay_serial": request.headers.get("Wechatpay-Serial", "")[:80],
                "wechatpay_timestamp": request.headers.get("Wechatpay-Timestamp", "")[:20],
                "client": request.remote_addr})
            return wechatpay_fail(getattr(exc, "status", 400), str(exc))
        with self.db.transaction() as tx:
            settlement, order = actions.qr.record_wechatpay(tx, paid, utcnow())
        log.info("WeChat Pay payment %s", settlement.value, extra={
            "transaction_id": paid.transaction_id, "out_trade_no": paid.out_trade_no,
            "order_id": str(order.order_id) if order else None})
        return Response(status=204)

    @api("POST", "/billing/statements", roles=FINANCE, query=schemas.StatementUpload,
         response=schemas.StatementImport, status=201,
         body_limit=("STATEMENT_MAX_BYTES", actions.statements.MAX_BYTES),
         media_types=("text/csv", "multipart/form-data"))
    def import_statement(self, request, principal, query):
        """Import the bank's statement: the CSV of docs/bank-statement.md as the raw
        body (text/csv) or as the form field `file` (multipart/form-data), UTF-8 or
        GBK. Every line ends in one state (counts here, lines at .../lines). The
        same file again answers its import (200) and records nothing; another file
        repeating lines counts them as duplicates."""
        # Only a multipart form is parsed as one: any other body is the file itself
        # (even curl's default form-urlencoded type).
        form = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        upload = spool(form.stream if form else request.stream)  # to a temporary file: never held whole
        try:
            if not upload.size:
                raise InvalidInput("the statement is empty", errors={"file": ["no content"]})
            charset = query.get("charset") or (form and form.mimetype_params.get("charset")) \
                or request.mimetype_params.get("charset")
            imported, new = actions.statements.import_statement(
                self.db, upload, charset=charset, filename=query.get("filename") or (form and form.filename),
                principal=principal, now=utcnow(), pause=eventlet.sleep)
            return (201 if new else 200), imported
        finally:
            upload.close()

    @api("GET", "/billing/statements/<uuid:statement_id>", roles=FINANCE, response=schemas.StatementImport)
    def get_statement(self, request, principal, statement_id):
        """An imported statement: lines per state."""
        with self.db.read() as session:
            return actions.statements.statement_view(session, statement_id)

    @api("GET", "/billing/statements/<uuid:statement_id>/lines", roles=FINANCE,
         query=schemas.StatementLinesQuery, response=schemas.StatementLines)
    def get_statement_lines(self, request, principal, statement_id, query):
        """Each line's state and reason, in file order (filter by state; paged)."""
        with self.db.read() as session:
            return actions.statements.statement_lines(session, statement_id, query)

    # -- the review queue ----------------------------------------------------------

    @api("GET", "/billing/review", roles=FINANCE, query=schemas.ReviewQuery, response=schemas.ReviewQueue)
    def review_queue(self, request, principal, query):
        """Payments waiting for a clerk: wrong amounts, unknown orders, unmatched or
        ambiguous bank lines, refunds due (state=settled/rejected/all for decisions)."""
        with self.db.read() as session:
            return actions.review.review_queue(session, query)

    @api("POST", "/billing/review/<int:item_id>/settle", roles=FINANCE, request=schemas.SettleRequest,
         response=schemas.ReviewItem)
    def settle_review_item(self, request, principal, item_id, body):
        """Settle a waiting payment to an order: it pays an open order of exactly that
        amount; otherwise the decision is recorded and activates nothing."""
        with self.db.transaction() as tx:
            return actions.review.settle(tx, item_id, body["order_id"], body["reason"], principal, utcnow())

    @api("POST", "/billing/review/<int:item_id>/reject", roles=FINANCE, request=schemas.RejectRequest,
         response=schemas.ReviewItem)
    def reject_review_item(self, request, principal, item_id, body):
        """Reject a waiting payment (not the program's, returned to the payer...), with the reason."""
        with self.db.transaction() as tx:
            return actions.review.reject(tx, item_id, body["reason"], principal, utcnow())

    # -- orders --------------------------------------------------------------------------

    @api("GET", "/billing/orders/<uuid:order_id>", roles=ORDER_READERS, response=schemas.Order)
    def get_order(self, request, principal, order_id):
        """An order, with the amount due and where to pay it."""
        with self.db.read() as session:
            order = actions.visible_order(session, order_id, principal)
            return actions.view(order, self.bank_account(), actions.study_begun(session, order.enrollment_id))

    @api("GET", "/billing/enrollments/<uuid:enrollment_id>/order", roles=ORDER_READERS,
         response=schemas.Order)
    def get_order_of_enrollment(self, request, principal, enrollment_id):
        """The enrollment's order (its fee)."""
        with self.db.read() as session:
            order = actions.order_of_enrollment(session, enrollment_id, principal)
            return actions.view(order, self.bank_account())

    @api("GET", "/billing/enrollments/<uuid:enrollment_id>/orders", roles=ORDER_READERS,
         query=PageQuery, response=schemas.OrderPage)
    def get_orders_of_enrollment(self, request, principal, enrollment_id, query):
        """Every order of an enrollment: its fee and its paid retakes."""
        with self.db.read() as session:
            orders = actions.orders_of_enrollment(session, enrollment_id, principal)
            return slice_page([actions.view(o, self.bank_account()) for o in orders], query)

    @api("POST", "/billing/orders/<uuid:order_id>/refund", roles=FINANCE, request=schemas.RefundRequest,
         response=schemas.Refund, status=201)
    def refund_order(self, request, principal, order_id, body):
        """Refund a paid order: a clerk before study has begun; after, only an
        administrator with administrator_override and a reason. Emits billing.refunded.
        The same refund again answers it (200); another reason: 409 with `refund_id`."""
        with self.db.transaction() as tx:
            refund, new = actions.refunds.refund(tx, order_id, body["reason"], body["administrator_override"],
                                                 principal, utcnow())
            return (201 if new else 200), refund

    # -- the price schedule ----------------------------------------------------------------

    @api("POST", "/billing/prices", roles=("admin",), request=schemas.PriceRequest,
         response=schemas.PriceEntry, status=201)
    def set_price(self, request, principal, body):
        """Record a price (L4, L3 or retake, in fen) from 00:00 Asia/Shanghai of its
        effective date (today or later). Appended to the history, never edited; an
        order already opened keeps its amount. Another entry of the same kind and
        date: the last recorded wins."""
        with self.db.transaction() as tx:
            row = actions.prices.record(tx, body, principal, utcnow())
            return actions.prices.view(actions.prices.entry(row))

    @api("GET", "/billing/prices", roles=PRICE_READERS, response=schemas.PriceSchedule)
    def get_prices(self, request, principal):
        """The price of each kind in effect now, and the entries still to come."""
        with self.db.read() as session:
            return actions.prices.current(self.schedule(session), utcnow())

    @api("GET", "/billing/prices/history", roles=PRICE_READERS, query=PageQuery,
         response=schemas.PriceHistory)
    def get_price_history(self, request, principal, query):
        """Every entry in the order recorded: the starting prices (the configuration's),
        then each administrator's, with who, when and why."""
        with self.db.read() as session:
            return slice_page([actions.prices.view(e) for e in self.schedule(session)], query)

    # -- invoices -----------------------------------------------------------------------

    @api("POST", "/billing/orders/<uuid:order_id>/invoices", roles=ORDER_READERS,
         request=schemas.InvoiceRequest, response=schemas.Invoice, status=201)
    def request_invoice(self, request, principal, order_id, body):
        """Invoice a paid order: a personal title, or a company title with its unified
        social credit code. Issued at once, then frozen. The same request again answers
        the invoice (200); another title while it is live: 409 with its `invoice_id`."""
        with self.db.transaction() as tx:
            title = self._title(tx.session, order_id, principal, body)
            invoice, new = actions.invoices.request(tx, order_id, title, principal, utcnow())
            return (201 if new else 200), invoice

    @api("GET", "/billing/orders/<uuid:order_id>/invoices", roles=ORDER_READERS, query=PageQuery,
         response=schemas.InvoicePage)
    def list_invoices(self, request, principal, order_id, query):
        """The order's invoices, red ones included, in issue order."""
        with self.db.read() as session:
            return slice_page(actions.invoices.of_order(session, order_id, principal), query)

    @api("GET", "/billing/invoices/<uuid:invoice_id>", roles=ORDER_READERS, response=schemas.Invoice)
    def get_invoice(self, request, principal, invoice_id):
        """One invoice record."""
        with self.db.read() as session:
            return actions.invoices.invoice_of(session, invoice_id, principal)[0]

    @api("POST", "/billing/invoices/<uuid:invoice_id>/correction", roles=ORDER_READERS,
         request=schemas.CorrectionRequest, response=schemas.Invoices, status=201)
    def correct_invoice(self, request, principal, invoice_id, body):
        """Correct an issued invoice: a red invoice reverses it and a new one replaces
        it (both returned); the original stays, marked reversed. The same correction
        again answers the two (200); another one: 409 with the replacement's `invoice_id`."""
        with self.db.transaction() as tx:
            _, order = actions.invoices.invoice_of(tx.session, invoice_id, principal)
            title = self._title(tx.session, order.order_id, principal, body)
            made, new = actions.invoices.correct(tx, invoice_id, title, body["reason"], principal, utcnow())
            return (201 if new else 200), {"invoices": made}

    @api("GET", "/billing/invoices/<uuid:invoice_id>/pdf", roles=ORDER_READERS, produces=("application/pdf",))
    def invoice_pdf(self, request, principal, invoice_id):
        """The invoice as a PDF (application/pdf)."""
        with self.db.read() as session:
            invoice, order = actions.invoices.invoice_of(session, invoice_id, principal)
        return Response(invoice_pdf(invoice, order, self.bank_account()), content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{invoice["number"]}.pdf"'})

    def _title(self, session, order_id, principal, body) -> invoice_rules.Title:
        name = body.get("title")
        if not name and body["title_kind"] == invoice_rules.PERSONAL:
            name = actions.visible_order(session, order_id, principal).full_name
        return invoice_rules.title(body["title_kind"], name, body.get("tax_id"))

    # -- reports ---------------------------------------------------------------------------

    @api("GET", "/billing/reports/monthly", roles=FINANCE + ("base_operator",), query=schemas.ReportQuery,
         produces=("text/csv",),
         response=schemas.Report)
    def monthly_report(self, request, principal, query):
        """Per base and month (Asia/Shanghai): enrollments, amounts due, received,
        refunded, outstanding, in fen. format=csv for a spreadsheet (every row; the
        JSON is paged). A base operator gets its own base only."""
        first = reports.parse_month(query["from_"])
        last = reports.parse_month(query["to"]) if query.get("to") else first
        # A base operator sees its own base (a token without one: no base at all).
        base = (principal.base or "-") if principal.role == "base_operator" else query.get("base_code")
        with self.db.read() as session:
            rows = actions.reports.monthly(session, first, last, base)
        if query["format"] == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(reports.FIELDS)
            writer.writerows([getattr(r, f) for f in reports.FIELDS] for r in rows)
            return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="billing-{first:%Y-%m}.csv"'})
        return slice_page([vars(r) for r in rows], query)


def qr_png(link: str) -> str:
    """The code to scan, as a PNG, base64."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=6, border=4)
    return base64.b64encode(out.getvalue()).decode()


def wechatpay_fail(status: int, message: str) -> Response:
    """The failure answer WeChat Pay documents: 4xx/5xx with {"code": "FAIL", "message"}."""
    return Response(json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False), status=status,
                    content_type="application/json")
