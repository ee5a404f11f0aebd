"""The WeChat Pay stand-in (development and tests): it refuses requests the merchant
did not sign, signs its answers so that the SDK verifies them, and keeps its keys."""
import json

import pytest
from cryptography.hazmat.primitives import serialization
from werkzeug.test import Client
from wechatpayv3.utils import build_authorization, load_public_key, rsa_verify

from shared.dev.paystand import keys
from shared.dev.paystand.wechatpay import WeChatPayStandIn

PATH = "/v3/pay/transactions/native"
ORDER = {"appid": keys.DEV_APPID, "mchid": keys.DEV_MCHID, "description": "碳排放管理员 报名费",
         "out_trade_no": "a" * 32, "notify_url": "http://127.0.0.1:9/n", "amount": {"total": 390000}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return keys.ensure(tmp_path_factory.mktemp("wechatpay"))


@pytest.fixture
def stand(files):
    return WeChatPayStandIn(files)


def _authorization(files, body: str, path=PATH, method="POST", serial=None, key=None):
    private = key or serialization.load_pem_private_key(files.path(keys.MERCHANT_KEY).read_bytes(), None)
    return build_authorization(path, method, keys.DEV_MCHID, serial or files.merchant_serial, private, data=body)


def test_a_signed_request_gets_a_signed_answer(files, stand):
    body = json.dumps(ORDER)
    answer = Client(stand).post(PATH, data=body, headers={"Authorization": _authorization(files, body)})
    assert answer.status_code == 200 and answer.get_json()["code_url"].startswith("weixin://")
    platform = load_public_key(files.text(keys.PLATFORM_PUBLIC))
    assert answer.headers["Wechatpay-Serial"] == files.text(keys.PLATFORM_ID)
    assert rsa_verify(answer.headers["Wechatpay-Timestamp"], answer.headers["Wechatpay-Nonce"],
                      answer.get_data(as_text=True), answer.headers["Wechatpay-Signature"], platform)


def test_unsigned_altered_or_foreign_requests_are_refused(files, stand):
    body = json.dumps(ORDER)
    other = serialization.load_pem_private_key(files.path(keys.PLATFORM_PRIVATE).read_bytes(), None)
    for headers, sent in [({}, body),
                          ({"Authorization": _authorization(files, body)}, body.replace("390000", "1")),
                          ({"Authorization": _authorization(files, body, key=other)}, body),
                          ({"Authorization": _authorization(files, body, serial="ABC123")}, body)]:
        answer = Client(stand).post(PATH, data=sent, headers=headers)
        assert answer.status_code == 401 and answer.get_json()["code"] == "SIGN_ERROR"
    assert stand.orders == {}


def test_the_keys_are_made_once(files):
    before = {name: files.path(name).read_bytes() for name in (keys.MERCHANT_KEY, keys.APIV3_KEY)}
    again = keys.ensure(files.directory)
    assert {name: again.path(name).read_bytes() for name in before} == before
    assert len(files.text(keys.APIV3_KEY).encode()) == 32
    assert files.path(keys.MERCHANT_KEY).stat().st_mode & 0o077 == 0
