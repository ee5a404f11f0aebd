"""Scenario 5b: the events of a run replayed in random orders into fresh services.

Each service is fed, in a shuffled order (with some events twice), every event it
consumed in the recorded run, on a fresh database (enrollment's holds the
applications as they were when submitted: the rest of its state comes from events)
and with its relay off (the fresh services' own events would be new ones). The
state their handlers build — the business columns of every table events write —
must equal the recorded run's, whatever the order.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from pathlib import Path

import amqp
from sqlalchemy import create_engine, text

from shared.contracts import decode
from shared.messaging import topology
from shared.messaging.broker import connect
from shared.persistence import migrations
from shared.persistence.engine import make_engine
from tests.chaos.brokers import on_default_broker

# The business columns each service's handlers write (ids the handler draws at
# random, timestamps of handling and the certificate's sequence are left out:
# they are not facts of the journey).
DIGESTS = {
    "enrollment": [
        "SELECT enrollment_id, status, order_id, amount_due_fen, paid_at, account_valid_until, exam_score, "
        "exam_attempts, certificate_number, certificate_serial, certificate_status FROM enrollments",
        "SELECT certificate_number, id_number_hash, level, issued_on, enrollment_id, serial, revoked "
        "FROM registered_certificates"],
    "billing": [
        "SELECT enrollment_id, kind, retake_attempt, learner_id, base_code, level, full_name, amount_fen, "
        "payment_remark FROM orders",
        "SELECT enrollment_id, account_id, started_at FROM study_records"],
    "learning": [
        "SELECT enrollment_id, learner_id, level, full_name, base_code FROM enrolled_learners",
        "SELECT enrollment_id, learner_id, level, base_code, catalog_version, valid_from, valid_until, status "
        "FROM accounts"],
    "exam": ["SELECT enrollment_id, learner_id, level, coursework_completed_at FROM candidates"],
    "certificate": [
        "SELECT enrollment_id, learner_id, level, full_name, id_number_hash, id_number_masked, base_code, "
        "base_name FROM holders",
        "SELECT enrollment_id, serial, level, holder_name, id_number_hash, id_number_masked, base_code, "
        "base_name, issued_on, status, substr(number, 1, length(number) - 9) FROM certificates"],
}
# What an application leaves in enrollment's tables before any event arrives.
SUBMITTED = {"status": "submitted", "order_id": None, "amount_due_fen": None, "paid_at": None,
             "account_valid_until": None, "exam_score": None, "exam_attempts": 0, "certificate_number": None,
             "certificate_serial": None, "certificate_status": None}


def digest(url: str, service: str) -> list[list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [sorted(tuple(_plain(v) for v in row) for row in conn.execute(text(sql)))
                    for sql in DIGESTS[service]]
    finally:
        engine.dispose()


def _plain(value):
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return value.replace("-", "")
    return str(value) if value is not None else None


def seed_enrollment(recorded_url: str, fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    migrations.upgrade(engine, "services.enrollment")
    source = create_engine(recorded_url)
    try:
        with source.connect() as src, engine.begin() as dst:
            for table in ("training_bases", "learners", "enrollments"):
                rows = [dict(r._mapping) for r in src.execute(text(f"SELECT * FROM {table}"))]
                if table == "enrollments":
                    rows = [{**r, **SUBMITTED} for r in rows]
                if rows:
                    columns = ", ".join(rows[0])
                    values = ", ".join(f":{c}" for c in rows[0])
                    dst.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), rows)
    finally:
        source.dispose()
        engine.dispose()


def replay(recorded: list[tuple[str, bytes]], recorded_urls: dict, folder: Path, orders: int,
           say=print) -> dict:
    """Replay `recorded` (routing key, body) `orders` times; what differed."""
    replayed = list(DIGESTS)  # identity's logins and notices are its own subject: not replayed here
    wanted = {s: digest(recorded_urls[s], s) for s in replayed}
    empty = [f"{s}: {DIGESTS[s][i].split(' FROM ')[1].split()[0]}" for s in replayed
             for i, rows in enumerate(wanted[s]) if not rows and "registered_certificates" not in DIGESTS[s][i]
             and "study_records" not in DIGESTS[s][i]]
    if empty:  # a comparison of nothing would prove nothing
        return {"orders": 0, "deliveries": 0, "differences": [f"the recorded run left no rows in {', '.join(empty)}"]}
    consumers = topology.consumers()
    differences, counts = [], {}
    for k in range(orders):
        rng = random.Random(k)
        run_folder = Path(folder) / f"order-{k}"
        run_folder.mkdir(parents=True, exist_ok=True)
        urls = {s: f"sqlite:///{run_folder}/{s}.sqlite3" for s in replayed}
        seed_enrollment(recorded_urls["enrollment"], urls["enrollment"])
        deliveries = [(s, kind, body) for kind, body in recorded for s, types in consumers.items()
                      if kind in types and s in replayed]
        deliveries += rng.sample(deliveries, len(deliveries) // 10)  # some twice
        rng.shuffle(deliveries)
        broker = on_default_broker()
        try:
            _publish(broker.amqp_uri, deliveries)
            expected = {s: {str(decode(b).id) for t, kind, b in deliveries if t == s} for s in replayed}
            host = _start_host(run_folder, broker.amqp_uri, urls)
            try:
                _wait_handled(urls, expected)
            finally:
                host.stdin.close()
                host.wait(timeout=60)
        finally:
            broker.delete_vhost()
        for s in replayed:
            if digest(urls[s], s) != wanted[s]:
                differences.append(f"order {k}: {s} differs")
        counts[k] = len(deliveries)
        say(f"    order {k + 1}/{orders}: {len(deliveries)} deliveries, "
            f"{'identical' if not any(d.startswith(f'order {k}:') for d in differences) else 'DIFFERENT'}")
    return {"orders": orders, "differences": differences, "deliveries": sum(counts.values())}


def _publish(uri: str, deliveries) -> None:
    conn = connect(uri, name="chaos-replay", confirm_publish=True)
    try:
        channel = conn.channel()
        topology.declare_consumer_queues(channel)
        for service, kind, body in deliveries:
            channel.basic_publish(amqp.Message(body, delivery_mode=2, content_type="application/json",
                                               message_id=str(decode(body).id), type=kind),
                                  exchange="", routing_key=topology.service_queue(service))
    finally:
        conn.collect()


def _start_host(folder: Path, uri: str, urls: dict) -> subprocess.Popen:
    config = folder / "host.json"
    config.write_text(json.dumps({"amqp_uri": uri, "databases": urls}))
    host = subprocess.Popen([sys.executable, "-m", "tests.chaos.replay_host", str(config)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(folder / "host.log", "w"),
                            text=True)
    line = host.stdout.readline().strip()
    if line != "READY":
        raise RuntimeError(f"replay host did not start ({line!r}); see {folder / 'host.log'}")
    return host


def _wait_handled(urls: dict, expected: dict, timeout: float = 300) -> None:
    import time
    deadline = time.monotonic() + timeout
    for service, ids in expected.items():
        engine = create_engine(urls[service])
        try:
            while True:
                with engine.connect() as conn:
                    handled = conn.scalar(text("SELECT count(*) FROM inbox"))
                if handled >= len(ids):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} handled {handled} of {len(ids)} replayed events")
                time.sleep(0.2)  # polling the inbox, not synchronising a test
        finally:
            engine.dispose()
