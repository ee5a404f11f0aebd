"""Services running inside the test process as real nameko containers, on the
test's vhost and databases."""
from __future__ import annotations

import importlib
from pathlib import Path

import requests
from nameko.containers import ServiceContainer

from shared.tokens import mint
from shared.web.server import ApiServer
from tests.support import paystand
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVICE_CLASSES = {
    "enrollment": "services.enrollment.service:EnrollmentService",
    "billing": "services.billing.service:BillingService",
    "learning": "services.learning.service:LearningService",
    "exam": "services.exam.service:ExamService",
    "certificate": "services.certificate.service:CertificateService",
    "identity": "services.identity.service:IdentityService",
}

# What the services need besides the broker and database, for tests.
TEST_SETTINGS = {
    "PROFILE": "development",  # the broker is the local guest
    "ID_HASH_KEY": "test-id-hash-key",
    "RETRY_DELAYS_SECONDS": "0.2,0.4,0.8",
    "DEFER_MAX_ATTEMPTS": "20",
    "QR_PROVIDER_SECRETS": "wechat_pay:test-wechat-secret,alipay:test-alipay-secret",
    "DAILY_STUDY_CAP_MINUTES": "100000",
    "STUDY_CLOCK_ALLOWANCE_MINUTES": "100000",  # as the development profile (deploy/dev.env)
    "PUBLIC_BASE_URL": "http://verify.test",
    "VERIFY_RATE_LIMIT": "1000/minute",
    # certificate's signing key: a test-only Ed25519 key, never used elsewhere
    "SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\n"
                   "MC4CAQAwBQYDK2VwBCIEIB+vH7tqrL/mP53GKIpKohJW1GvKbuZUUo8XyQSi/LJG\n"
                   "-----END PRIVATE KEY-----\n",
    "SIGNING_KEY_ID": "test-1",
    # identity: cheap password hashes, quick notices and retries
    "PASSWORD_HASH_MEMORY_KIB": "8192",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_PARALLELISM": "1",
    "NOTICE_INTERVAL_SECONDS": "0.1",
    "NOTICE_RETRY_SECONDS": "0.2,0.4,0.8",
    "LOGIN_RATE_LIMIT": "1000/minute",
    "QUESTION_BANK_FILE": str(ROOT / "services" / "exam" / "bank" / "sample-questions.yaml"),
}


def load_class(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class RunningServices:
    def __init__(self, amqp_uri: str, database_url_for, keys, workdir=None):
        self.amqp_uri = amqp_uri
        self.database_url_for = database_url_for
        self.keys = keys
        self.workdir = workdir
        self.containers: dict[str, ServiceContainer] = {}
        self.database_urls: dict[str, str] = {}

    def config(self, name: str, **overrides) -> dict:
        if name not in self.database_urls:
            self.database_urls[name] = self.database_url_for(name)
        config = {
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": "127.0.0.1:0",
            "DATABASE_URL": self.database_urls[name],
            "JWT_PUBLIC_KEY": self.keys.public.decode(),
            **TEST_SETTINGS,
        }
        if name == "billing":  # WeChat Pay: test keys; tests of the channel start the stand-in
            config.update(paystand.billing_settings(paystand.test_keys(), paystand.UNREACHABLE,
                                                    paystand.UNREACHABLE + "/billing/payments/wechatpay/notify"))
        if name == "identity":  # signs with the test key pair; SMS to a file; SMTP: see mail_sink
            config.update(TOKEN_SIGNING_KEYS=self.keys.private.decode(),
                          SMS_SINK_FILE=f"{self.workdir}/sms.jsonl", SMTP_PORT="1")
        config.update({k: str(v) for k, v in overrides.items()})
        return config

    def start(self, name_or_cls, **overrides) -> ServiceContainer:
        cls = load_class(SERVICE_CLASSES[name_or_cls]) if isinstance(name_or_cls, str) else name_or_cls
        container = ServiceContainer(cls, self.config(cls.name, **overrides))
        container.start()
        self.containers[cls.name] = container
        # Ready means the consumer holds its queue and the relay its connection.
        wait_for(lambda: requests.get(self.url(cls.name) + "/health/ready", timeout=5).status_code == 200,
                 timeout=30, message=f"{cls.name} never became ready")
        return container

    def stop(self, name: str) -> None:
        self.containers.pop(name).stop()

    def url(self, name: str) -> str:
        server = next(e for e in self.containers[name].extensions if isinstance(e, ApiServer))
        return f"http://127.0.0.1:{server.port}"

    def client(self, name: str, role: str, **claims) -> "Client":
        return Client(self.url(name), mint(self.keys.private, role, **claims))

    def anonymous(self, name: str) -> "Client":
        return Client(self.url(name), None)

    def stop_all(self):
        for name in list(self.containers):
            try:
                self.stop(name)
            except Exception:  # one failing stop must not leave the others running
                self.containers.pop(name, None)


class Client:
    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, **kwargs) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)
