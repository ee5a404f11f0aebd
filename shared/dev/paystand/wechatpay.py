"""A local stand-in of WeChat Pay API v3 (Native payments), as its documentation
defines the HTTP exchange: development and tests only, no internet needed.

- POST /v3/pay/transactions/native: a Native order, answering {code_url};
- GET  /v3/pay/transactions/out-trade-no/<out_trade_no>?mchid=...: the transaction;
- POST /v3/pay/transactions/out-trade-no/<out_trade_no>/close: 204.
Every request must carry the merchant's `Authorization: WECHATPAY2-SHA256-RSA2048 ...`
(verified with the merchant certificate's public key, its serial checked); every
answer is signed with the platform private key (Wechatpay-Signature over
"timestamp\\nnonce\\nbody\\n", Wechatpay-Serial naming the public key id).

A test (or a developer) makes a learner pay with
POST /paystand/wechatpay/orders/<out_trade_no>/pay  {"send": true, "timestamp": <unix>}:
the order is paid and the notification sent to its notify_url exactly as WeChat Pay
sends it (TRANSACTION.SUCCESS, `resource` encrypted AEAD_AES_256_GCM with the APIv3
key, signed headers); the answer holds what billing replied and the notification
itself (headers and body), to replay or alter."""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography import x509
from werkzeug.routing import Map, Rule
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from . import keys as key_files

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CHINA = timezone(timedelta(hours=8))
CLOCK_SKEW_SECONDS = 300
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def rfc3339(at: datetime) -> str:
    return at.astimezone(CHINA).isoformat(timespec="seconds")


def sign(private_key, message: str) -> str:
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_key, message: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message.encode(),
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def encrypt_resource(apiv3_key: str, plaintext: str, associated_data: str = "transaction") -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's
    aead = AESGCM(apiv3_key.encode())
    ciphertext = aead.encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated_data,
            "nonce": nonce}


class Problem(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class WeChatPayStandIn:
    def __init__(self, files: key_files.KeyFiles, mchid: str = key_files.DEV_MCHID,
                 appid: str = key_files.DEV_APPID):
        self.mchid, self.appid = mchid, appid
        certificate = x509.load_pem_x509_certificate(files.path(key_files.MERCHANT_CERT).read_bytes())
        self.merchant_key = certificate.public_key()
        self.merchant_serial = format(certificate.serial_number, "X")
        self.platform_key = serialization.load_pem_private_key(
            files.path(key_files.PLATFORM_PRIVATE).read_bytes(), password=None)
        self.public_key_id = files.text(key_files.PLATFORM_ID)
        self.apiv3_key = files.text(key_files.APIV3_KEY)
        self.orders: dict[str, dict] = {}
        self.lock = threading.Lock()
        by_number = "/v3/pay/transactions/out-trade-no/<out_trade_no>"
        self.urls = Map([
            Rule("/v3/pay/transactions/native", methods=["POST"], endpoint="native"),
            Rule(by_number, methods=["GET"], endpoint="query"),
            Rule(by_number + "/close", methods=["POST"], endpoint="close"),
            Rule("/paystand/wechatpay/orders/<out_trade_no>/pay", methods=["POST"], endpoint="pay"),
            Rule("/paystand/health", methods=["GET"], endpoint="health"),
        ])

    # -- WSGI -------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = self.urls.bind_to_environ(environ).match()
            if endpoint in ("pay", "health"):  # the stand-in's own controls: unsigned
                response = getattr(self, endpoint)(request, **values)
            else:
                self.authenticate(request)
                status, payload = getattr(self, endpoint)(request, **values)
                response = self.signed(status, payload)
        except Problem as problem:
            response = self.signed(problem.status, {"code": problem.code, "message": problem.message})
        except HTTPException as exc:
            code = "NOT_FOUND" if exc.code == 404 else "INVALID_REQUEST"
            response = self.signed(exc.code or 400, {"code": code, "message": exc.description or exc.name})
        return response(environ, start_response)

    def signed(self, status: int, payload: dict | None) -> Response:
        """An answer as WeChat Pay signs it (the empty body of a 204 too)."""
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        headers = self.signature_headers(body)
        headers["Request-ID"] = uuid.uuid4().hex
        return Response(body, status=status, headers=headers,
                        content_type="application/json" if body else None)

    def signature_headers(self, body: str, timestamp: int | None = None) -> dict:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16).upper()
        return {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": sign(self.platform_key, f"{timestamp}\n{nonce}\n{body}\n"),
                "Wechatpay-Serial": self.public_key_id, "Wechatpay-Signature-Type": SIGNATURE_TYPE}

    def authenticate(self, request: Request) -> None:
        """The merchant's request signature: method, path with query, timestamp, nonce, body."""
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        fields = dict(AUTH_FIELD.findall(params))
        if scheme != SIGNATURE_TYPE or not {"mchid", "nonce_str", "signature", "timestamp",
                                            "serial_no"} <= fields.keys():
            raise Problem(401, "SIGN_ERROR", "Authorization 缺失或格式错误")
        if fields["mchid"] != self.mchid:
            raise Problem(401, "SIGN_ERROR", "商户号与签名不匹配")
        if fields["serial_no"].upper() != self.merchant_serial:
            raise Problem(401, "SIGN_ERROR", "商户证书序列号有误")
        stamp = fields["timestamp"]
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > CLOCK_SKEW_SECONDS:
            raise Problem(401, "SIGN_ERROR", "请求时间戳过期")
        target = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
        message = (f"{request.method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n"
                   f"{request.get_data(as_text=True)}\n")
        if not verify(self.merchant_key, message, fields["signature"]):
            raise Problem(401, "SIGN_ERROR", "签名错误")

    # -- the API ------------------------------------------------------------------

    def native(self, request):
        body = self._json(request)
        for field in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount"):
            if not body.get(field):
                raise Problem(400, "PARAM_ERROR", f"缺少参数 {field}")
        if body["mchid"] != self.mchid or body["appid"] != self.appid:
            raise Problem(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not OUT_TRADE_NO.match(str(body["out_trade_no"])):
            raise Problem(400, "PARAM_ERROR", "out_trade_no 格式错误")
        if len(body["description"]) > 127:
            raise Problem(400, "PARAM_ERROR", "description 过长")
        total = body["amount"].get("total") if isinstance(body["amount"], dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise Problem(400, "PARAM_ERROR", "amount.total 必须为正整数（分）")
        expire = None
        if body.get("time_expire"):
            try:
                expire = datetime.fromisoformat(body["time_expire"])
            except ValueError:
                raise Problem(400, "PARAM_ERROR", "time_expire 格式错误") from None
            if expire.tzinfo is None or expire <= datetime.now(timezone.utc):
                raise Problem(400, "PARAM_ERROR", "time_expire 已过期或缺少时区")
        with self.lock:
            order = self.orders.get(body["out_trade_no"])
            if order is not None:
                if order["trade_state"] == "SUCCESS":
                    raise Problem(400, "ORDERPAID", "该订单已支付")
                if order["trade_state"] == "CLOSED":
                    raise Problem(400, "ORDERCLOSED", "该订单已关闭")
                if order["amount"] != total or order["description"] != body["description"]:
                    raise Problem(400, "INVALID_REQUEST", "201 商户订单号重复")
                return 200, {"code_url": order["code_url"]}
            order = {"out_trade_no": body["out_trade_no"], "description": body["description"],
                     "amount": total, "notify_url": body["notify_url"], "time_expire": expire,
                     "attach": body.get("attach", ""), "trade_state": "NOTPAY",
                     "code_url": "weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(6),
                     "transaction_id": None, "success_time": None}
            self.orders[order["out_trade_no"]] = order
        return 200, {"code_url": order["code_url"]}

    def query(self, request, out_trade_no):
        if request.args.get("mchid") != self.mchid:
            raise Problem(400, "PARAM_ERROR", "mchid 与商户号不符")
        return 200, self.transaction(self._order(out_trade_no))

    def close(self, request, out_trade_no):
        if self._json(request).get("mchid") != self.mchid:
            raise Problem(400, "PARAM_ERROR", "mchid 与商户号不符")
        with self.lock:
            order = self._order(out_trade_no)
            if order["trade_state"] == "SUCCESS":
                raise Problem(400, "ORDERPAID", "该订单已支付")
            order["trade_state"] = "CLOSED"
        return 204, None

    def transaction(self, order: dict) -> dict:
        states = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭"}
        out = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": order["out_trade_no"],
               "trade_type": "NATIVE", "trade_state": order["trade_state"],
               "trade_state_desc": states[order["trade_state"]], "attach": order["attach"],
               "amount": {"total": order["amount"], "currency": "CNY"}}
        if order["trade_state"] == "SUCCESS":
            out.update(transaction_id=order["transaction_id"], bank_type="OTHERS",
                       success_time=rfc3339(order["success_time"]), payer={"openid": "o-standin-payer"})
            out["amount"].update(payer_total=order["amount"], payer_currency="CNY")
        return out

    # -- the stand-in's controls ---------------------------------------------------

    def health(self, request):
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    def pay(self, request, out_trade_no):
        """The payer scans and pays: the order succeeds (once), the notification is
        made and, unless {"send": false}, sent to the order's notify_url.
        {"timestamp": <unix seconds>} signs it at another time (a stale one)."""
        options = self._json(request) if request.get_data() else {}
        with self.lock:
            order = self._order(out_trade_no)
            if order["trade_state"] == "CLOSED":
                raise Problem(400, "ORDERCLOSED", "该订单已关闭")
            if order["trade_state"] == "NOTPAY":
                if order["time_expire"] and order["time_expire"] <= datetime.now(timezone.utc):
                    raise Problem(400, "ORDER_EXPIRED", "二维码已过期")
                now = datetime.now(timezone.utc)
                order.update(trade_state="SUCCESS", success_time=now,
                             transaction_id=f"4200{now.astimezone(CHINA):%Y%m%d}{secrets.randbelow(10**16):016d}")
            transaction = self.transaction(order)
        headers, body = self.notification(transaction, options.get("timestamp"))
        answer = {"transaction_id": transaction["transaction_id"],
                  "notification": {"url": order["notify_url"], "headers": headers, "body": body}}
        if options.get("send", True):
            try:
                reply = requests.post(order["notify_url"], data=body.encode(), headers=headers, timeout=10)
                answer["delivered"] = {"status": reply.status_code, "body": reply.text}
            except requests.RequestException as exc:
                answer["delivered"] = {"status": None, "body": str(exc)}
        return Response(json.dumps(answer, ensure_ascii=False), content_type="application/json")

    def notification(self, transaction: dict, timestamp: int | None = None) -> tuple[dict, str]:
        now = datetime.now(timezone.utc)
        body = json.dumps({
            "id": str(uuid.uuid4()), "create_time": rfc3339(now), "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": encrypt_resource(self.apiv3_key, json.dumps(transaction, ensure_ascii=False))},
            ensure_ascii=False)
        headers = self.signature_headers(body, timestamp)
        headers["Content-Type"] = "application/json"
        return headers, body

    # -- helpers -------------------------------------------------------------------

    def _order(self, out_trade_no: str) -> dict:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise Problem(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    @staticmethod
    def _json(request) -> dict:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            raise Problem(400, "PARAM_ERROR", "请求体不是JSON") from None
        if not isinstance(body, dict):
            raise Problem(400, "PARAM_ERROR", "请求体不是JSON对象")
        return body
