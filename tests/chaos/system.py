"""One scenario's system: the five services as processes under supervisord (the same
`Stack` as `make run`), on the scenario's broker and databases, in a folder of its own.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text

from shared.ops.local import ROOT, SERVICES, Stack, relay_settings, service_programs
from shared.tokens import ensure_dev_keys
from services.certificate.signing import make_dev_key
from tests.chaos.brokers import Broker
from tests.support import infra
from tests.support.forwarder import ClosableDatabase
from tests.support.processes import free_port

QR_SECRET = "chaos-wechat-secret"


class System:
    def __init__(self, folder: Path, broker: Broker, database: str = "sqlite", heartbeat: int = 10,
                 watchdog_failures: int = 6, quorum: bool = False):
        self.folder, self.broker, self.database, self.heartbeat = Path(folder), broker, database, heartbeat
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ports = {s: free_port() for s in SERVICES}
        self.urls = {s: f"http://127.0.0.1:{p}" for s, p in self.ports.items()}
        self.forwarders: dict[str, ClosableDatabase] = {}
        self.pg_urls: dict[str, str] = {}
        self.db_urls = {s: self._database(s) for s in SERVICES}
        private, public = ensure_dev_keys(self.folder / "keys")
        self.private_key = private.read_bytes()
        signing = self.folder / "keys" / "certificate-signing.pem"
        if not signing.exists():
            make_dev_key(signing)
        env = {**os.environ, "CEA_PROFILE": "development", "AMQP_URI": broker.amqp_uri,
               "JWT_PUBLIC_KEY_FILE": str(public), "IDENTITY_TOKEN_SIGNING_KEY_FILES": str(private),
               "IDENTITY_SMTP_PORT": str(free_port()), "IDENTITY_SMS_SINK_FILE": str(self.folder / "sms.jsonl"),
               "EXAM_QUESTION_BANK_FILE": str(ROOT / "services/exam/bank/sample-questions.yaml"),
               "CEA_ID_HASH_KEY": "chaos-id-hash-key",
               "BILLING_QR_PROVIDER_SECRETS": f"wechat_pay:{QR_SECRET},alipay:chaos-alipay-secret",
               "CERTIFICATE_SIGNING_KEY_FILE": str(signing), "CERTIFICATE_SIGNING_KEY_ID": "chaos-1",
               "CERTIFICATE_PUBLIC_BASE_URL": self.urls["certificate"],
               "CERTIFICATE_VERIFY_RATE_LIMIT": "100000/minute",
               "LEARNING_DAILY_STUDY_CAP_MINUTES": "100000",
               "LEARNING_STUDY_CLOCK_ALLOWANCE_MINUTES": "100000",
               # Quick retries so that a scenario drains in minutes; the same bounded tries.
               "CEA_RETRY_DELAYS_SECONDS": "0.5,1,2", "CEA_DEFER_MAX_ATTEMPTS": "120",
               "CEA_AMQP_HEARTBEAT": str(heartbeat), "EXAM_CLOSE_INTERVAL_SECONDS": "2",
               "CEA_MAX_WORKERS": "20", "CEA_LOG_LEVEL": "WARNING"}
        for s in SERVICES:
            env[f"{s.upper()}_HTTP"] = f"127.0.0.1:{self.ports[s]}"
            env[f"{s.upper()}_DATABASE_URL"] = self.db_urls[s]
            env[f"{s.upper()}_RELAY_HTTP"] = f"127.0.0.1:{free_port()}"
        relay_settings(env)  # every service's relay a process of its own, as deployed
        if quorum:
            env["CEA_QUEUE_TYPE"] = "quorum"
        self.env = env
        self.stack = Stack(self.folder / "var", service_programs(env), env=env, watchdog_failures=watchdog_failures,
                           watchdog_grace=20)

    def _database(self, service: str) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{self.folder}/{service}.sqlite3"
        url = infra.create_database(f"chaos_{service}")
        self.pg_urls[service] = url
        forwarded = ClosableDatabase(url, port=free_port())
        self.forwarders[service] = forwarded
        return forwarded.url

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        self.stack.up(say=lambda s: None)
        late = self.stack.wait_ready(120)
        if late:
            raise RuntimeError(f"not ready: {late}; see {self.folder}/var/log/")

    def stop(self) -> None:
        try:
            self.stack.down()
        finally:
            for forwarded in self.forwarders.values():
                forwarded.stop()
            for url in self.pg_urls.values():
                infra.drop_database(url)

    # -- looking inside -------------------------------------------------------------

    def query(self, service: str, sql: str, **params) -> list[tuple]:
        """Read a service's database directly (the invariants are about stored state)."""
        if self.database == "sqlite":
            path = self.db_urls[service].removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
                return conn.execute(sql, params).fetchall()
        engine = create_engine(self.pg_urls[service].replace("postgresql://", "postgresql+psycopg2://"))
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), params)]
        finally:
            engine.dispose()

    def log_tail(self, service: str, chars: int = 2000) -> str:
        path = self.folder / "var" / "log" / f"{service}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""
