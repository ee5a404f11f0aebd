"""The project hop: N events pre-published to a service's real queue, the real
service (outbox and inbox on, real database) started on them, and the time until
its last outgoing event reaches a sink queue (after the broker confirmed it).

Some hops need a projection first (learning needs `enrollment.enrolled` before
`billing.paid`): those events go through the service untimed, then the service
stops, the timed events are pre-published and it starts again."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pika

from shared.contracts import encode, new_event
from shared.contracts.billing import Paid
from shared.contracts.enrollment import Enrolled
from shared.contracts.exam import Graded
from shared.messaging import topology
from shared.persistence import migrations
from shared.persistence.engine import make_engine
from shared.tokens import generate_key_pair
from tests.support import infra
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
BENCH_PUBLIC_KEY = generate_key_pair()[1].decode()  # the hop takes no HTTP calls; a key is required


def _enrolled(i):
    eid = uuid.uuid5(uuid.NAMESPACE_OID, f"bench-{i}")
    return new_event(Enrolled, {
        "enrollment_id": eid, "learner_id": uuid.uuid5(uuid.NAMESPACE_OID, f"learner-{i}"), "level": "L4",
        "full_name": "张三", "id_number_hash": f"{i:064x}", "id_number_masked": "3604**********0071",
        "base_code": "B001", "base_name": "江西碳排放培训基地", "enrolled_on": date(2026, 11, 24),
        "enrolled_at": datetime.now(timezone.utc)}, correlation_id=eid)


def _paid(i):
    e = _enrolled(i).data
    return new_event(Paid, {
        "order_id": uuid.uuid4(), "enrollment_id": uuid.UUID(e["enrollment_id"]),
        "learner_id": uuid.UUID(e["learner_id"]), "amount_fen": 390000, "channel": "wechat_pay",
        "payment_reference": f"T{i}", "paid_at": datetime.now(timezone.utc)},
        correlation_id=uuid.UUID(e["enrollment_id"]))


def _graded(i):
    e = _enrolled(i).data
    return new_event(Graded, {
        "attempt_id": uuid.uuid4(), "enrollment_id": uuid.UUID(e["enrollment_id"]),
        "learner_id": uuid.UUID(e["learner_id"]), "level": "L4", "sitting_id": uuid.uuid4(),
        "attempt_number": 1, "score": Decimal("82.5"), "passed": True, "graded_at": datetime.now(timezone.utc)},
        correlation_id=uuid.UUID(e["enrollment_id"]))


@dataclass
class Hop:
    service: str
    incoming: str
    outgoing: str
    make: object
    prepare: object = None  # events the service must have handled first


HOPS = [
    Hop("billing", "enrollment.enrolled", "billing.order-opened", _enrolled),
    Hop("learning", "billing.paid", "learning.account-opened", _paid, prepare=_enrolled),
    Hop("certificate", "exam.graded", "certificate.issued", _graded, prepare=_enrolled),
]


class Broker:
    def __init__(self, amqp_uri):
        self.params = pika.URLParameters(amqp_uri)
        self.conn = pika.BlockingConnection(self.params)
        self.ch = self.conn.channel()

    def declare(self, sink_type):
        self.ch.exchange_declare(topology.EXCHANGE, "topic", durable=True)
        for service, types in topology.consumers().items():
            self.ch.queue_declare(topology.service_queue(service), durable=True,
                                  arguments=topology.queue_arguments())
            for t in types:
                self.ch.queue_bind(topology.service_queue(service), topology.EXCHANGE, t)
        self.ch.queue_declare("bench.sink", durable=True)
        self.ch.queue_purge("bench.sink")
        self.ch.queue_bind("bench.sink", topology.EXCHANGE, sink_type)

    def publish(self, events):
        """Publish with confirms a window at a time (SelectConnection, as fast as it goes)."""
        bodies = [(e.type, encode(e)) for e in events]
        state = {"sent": 0, "confirmed": 0}

        def on_channel(ch):
            ch.confirm_delivery(lambda frame: on_confirm(ch, frame))
            pump(ch)

        def pump(ch):
            while state["sent"] < len(bodies) and state["sent"] - state["confirmed"] < 2000:
                rk, body = bodies[state["sent"]]
                ch.basic_publish(topology.EXCHANGE, rk, body, pika.BasicProperties(delivery_mode=2))
                state["sent"] += 1

        def on_confirm(ch, frame):
            m = frame.method
            state["confirmed"] = m.delivery_tag if m.multiple else state["confirmed"] + 1
            if state["confirmed"] >= len(bodies):
                ch.connection.close()
            else:
                pump(ch)

        conn = pika.SelectConnection(self.params, on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                                     on_close_callback=lambda c, r: c.ioloop.stop())
        conn.ioloop.start()

    def drain_sink(self, n, timeout=300.0) -> float:
        """Wait for n messages on the sink; the instant the last one arrived."""
        got, last = 0, None
        deadline = time.time() + timeout
        self.ch.basic_qos(prefetch_count=1000)
        for method, _, _ in self.ch.consume("bench.sink", auto_ack=True, inactivity_timeout=5):
            if method is None:
                if time.time() > deadline:
                    raise TimeoutError(f"sink got {got}/{n}")
                continue
            got += 1
            last = time.time()
            if got >= n:
                break
        self.ch.cancel()
        return last

    def close(self):
        self.conn.close()


def _service(hop, amqp_uri, database_url, workdir: Path):
    """The service, and its outbox relay as a process of its own beside it (as
    deployed); the instant the service began consuming."""
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "DATABASE_URL": database_url,
              "JWT_PUBLIC_KEY": BENCH_PUBLIC_KEY, **TEST_SETTINGS, "OUTBOX_RELAY": "false"}
    path = workdir / f"{hop.service}.json"
    path.write_text(json.dumps(config))
    log = open(workdir / f"{hop.service}.log", "ab")
    relay = subprocess.Popen([sys.executable, "-m", "shared.messaging.relay_process", "--config", str(path),
                              hop.service], cwd=ROOT, stdout=log, stderr=log)
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.serve", SERVICE_CLASSES[hop.service], str(path)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    if not line.startswith("T0 "):
        relay.kill()
        raise RuntimeError(f"{hop.service} did not start; see {workdir}")
    proc.relay = relay
    return proc, float(line.split()[1])


def _stop(proc):
    proc.stdin.close()
    proc.relay.terminate()
    for p in (proc, proc.relay):
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


def run(hop: Hop, amqp_uri: str, n: int, database: str = "sqlite") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if database == "postgresql":
            database_url = infra.create_database(f"bench_{hop.service}")
        else:
            database_url = f"sqlite:///{workdir}/{hop.service}.sqlite3"
        engine = make_engine(database_url)
        migrations.upgrade(engine, f"services.{hop.service}")
        engine.dispose()
        broker = Broker(amqp_uri)
        try:
            if hop.prepare:
                broker.declare(hop.prepare(0).type if False else hop.outgoing)
                broker.ch.queue_purge(topology.service_queue(hop.service))
                broker.publish([hop.prepare(i) for i in range(n)])
                proc, _ = _service(hop, amqp_uri, database_url, workdir)
                _wait_empty(broker, topology.service_queue(hop.service))
                _stop(proc)
            broker.declare(hop.outgoing)
            broker.ch.queue_purge(topology.service_queue(hop.service))
            broker.publish([hop.make(i) for i in range(n)])
            proc, t0 = _service(hop, amqp_uri, database_url, workdir)
            try:
                t1 = broker.drain_sink(n)
            finally:
                _stop(proc)
        finally:
            broker.close()
            if database == "postgresql":
                infra.drop_database(database_url)
    return {"n": n, "seconds": t1 - t0, "rate": n / (t1 - t0), "database": database}


def _wait_empty(broker, queue, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = broker.ch.queue_declare(queue, passive=True)
        if q.method.message_count == 0:
            # Delivered is not yet committed: wait until nothing is unacked either.
            time.sleep(1.0)
            if broker.ch.queue_declare(queue, passive=True).method.message_count == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{queue} did not drain")
