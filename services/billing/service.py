"""The billing service: orders, payments, the clerk's review queue."""
from nameko.dependency_providers import Config

from shared.calendar import utcnow
from shared.contracts import enrollment
from shared.service import ServiceBase, api, event_handler, load_body
from shared.web.problems import BadSignature

from . import actions, domain, schemas

ORDER_READERS = ("finance_clerk", "admin", "base_operator", "learner")


class BillingService(ServiceBase):
    name = "billing"
    config = Config()

    def fees(self) -> domain.Fees:
        return domain.Fees({"L4": int(self.config.get("FEE_L4_FEN", 390000)),
                            "L3": int(self.config.get("FEE_L3_FEN", 490000))})

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

    # -- events ----------------------------------------------------------------

    @event_handler(enrollment.Enrolled)
    def open_order(self, tx, event):
        actions.open_order(tx, event, self.fees())

    # -- HTTP ------------------------------------------------------------------

    @api("POST", "/billing/payments/qr/<provider>", public=True, response=schemas.NotificationResult)
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

    @api("GET", "/billing/orders/<uuid:order_id>", roles=ORDER_READERS, response=schemas.Order)
    def get_order(self, request, principal, order_id):
        """An order, with the amount due and where to pay it."""
        with self.db.read() as session:
            return actions.view(actions.visible_order(session, order_id, principal), self.bank_account())

    @api("GET", "/billing/enrollments/<uuid:enrollment_id>/order", roles=ORDER_READERS,
         response=schemas.Order)
    def get_order_of_enrollment(self, request, principal, enrollment_id):
        """The order of an enrollment."""
        with self.db.read() as session:
            order = actions.order_of_enrollment(session, enrollment_id, principal)
            return actions.view(order, self.bank_account())

    @api("GET", "/billing/review", roles=("finance_clerk", "admin"), response=schemas.ReviewQueue)
    def review_queue(self, request, principal):
        """Payments waiting for a clerk: wrong amounts, unknown orders, refunds due."""
        with self.db.read() as session:
            return {"items": actions.review_queue(session)}
