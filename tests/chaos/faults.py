"""The faults, each a function run in its own thread while the learners are driven.

A fault gets the `Run` (system, driver, a stop event, a figures dict to fill) and
returns when it is over; `run.wait_progress` lets it strike mid-run rather than
before anything happened.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time

import amqp
import requests

from shared.messaging import topology
from shared.messaging.broker import connect
from shared.ops.local import SERVICES


def sigkill_every_10s(run) -> None:
    """A random process (a service or a service's relay) is killed (SIGKILL) every
    ~10 s; the supervisor restarts it."""
    rng = random.Random(1)
    kills = []
    names = [p.name for p in run.system.stack.programs]
    while not run.stop.wait(rng.uniform(8, 12)):
        name = rng.choice(names)
        try:
            os.kill(run.system.stack.pid(name), signal.SIGKILL)
            kills.append(name)
        except (ProcessLookupError, OSError):
            pass
    run.figures["faults"] = f"{len(kills)} SIGKILLs ({len([k for k in kills if k.endswith('-relay')])} of relays)"


def close_connections_every_5s(run) -> None:
    """Every AMQP connection of the vhost closed by force, every ~5 s."""
    rounds = closed = 0
    while not run.stop.wait(5):
        try:
            closed += run.system.broker.close_connections()
            rounds += 1
        except requests.RequestException:
            pass
    run.figures["faults"] = f"{closed} connections closed in {rounds} rounds"


def postgres_outages(run) -> None:
    """PostgreSQL away for 3 s, then for 30 s, under load (every service's forwarder closed)."""
    run.wait_progress(0.2)
    for seconds in (3, 30):
        for forwarded in run.system.forwarders.values():
            forwarded.close()
        run.stop.wait(seconds)  # the outage's length
        for forwarded in run.system.forwarders.values():
            forwarded.open()
        run.wait_progress(0.5 if seconds == 3 else 0)
    run.figures["faults"] = "PostgreSQL closed 3 s, then 30 s"


def sqlite_locked(run) -> None:
    """Every service's SQLite file locked by another process's write transaction for
    5 s, twice."""
    run.wait_progress(0.2)
    for _ in range(2):
        holders = []
        for service in SERVICES:
            path = run.system.db_urls[service].removeprefix("sqlite:///")
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            holders.append(conn)
        run.stop.wait(5)  # the lock's length
        for conn in holders:
            conn.execute("ROLLBACK")
            conn.close()
        run.wait_progress(0.5)
    run.figures["faults"] = "5 SQLite files locked 5 s, twice"


def broker_restart(run) -> None:
    """The broker's application stopped and started mid-run (its own node)."""
    run.wait_progress(0.3)
    node = run.cluster.nodes[0]
    node.ctl("stop_app")
    run.stop.wait(5)
    node.ctl("start_app")
    node.wait_api()
    run.figures["faults"] = "stop_app, 5 s, start_app"


def pause_a_service(run) -> None:
    """A service paused (SIGSTOP) for longer than two heartbeats, then resumed;
    twice, on two services."""
    paused = []
    for service in ("billing", "learning"):
        run.wait_progress(0.25 if not paused else 0.5)
        pid = run.system.stack.pid(service)
        os.kill(pid, signal.SIGSTOP)
        run.stop.wait(3 * run.system.heartbeat)  # past two missed heartbeats: the broker drops it
        os.kill(pid, signal.SIGCONT)
        paused.append(service)
    run.figures["faults"] = f"SIGSTOP {3 * run.system.heartbeat} s: {', '.join(paused)}"


def memory_alarm(run) -> None:
    """The broker's memory alarm (watermark set tiny, then back): APIs that would
    publish answer 503 within 5 s instead of hanging; readiness false; all drains after."""
    run.wait_progress(0.3)
    node = run.cluster.nodes[0]
    node.ctl("set_vm_memory_high_watermark", "0.000001")
    try:
        run.figures["faults"] = _during_alarm(run)
    finally:
        node.ctl("set_vm_memory_high_watermark", "0.4")


def _during_alarm(run) -> str:
    """Post applications (each emits an event) until one answers 503; how long that
    took and the slowest answer; whether readiness turned false."""
    from shared.tokens import mint
    url = run.system.urls["enrollment"] + "/enrollment/enrollments"
    token = mint(run.system.private_key, "base_operator", base="CHAOS")
    started, slowest, refused_after = time.monotonic(), 0.0, None
    from tests.chaos.driver import random_id_number
    rng = random.Random(9)
    while time.monotonic() - started < 15 and refused_after is None:
        t = time.monotonic()
        try:
            answer = requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
                "full_name": "告警测试", "id_number": random_id_number(rng), "mobile": "13800138000",
                "level": "L4", "education": {"tier": "junior_college", "status": "graduated"},
                "related_work_months": 24, "sector": "power"})
            slowest = max(slowest, time.monotonic() - t)
            if answer.status_code == 503:
                refused_after = time.monotonic() - started
        except requests.RequestException:
            slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.2)  # an impatient operator's pace
    not_ready = requests.get(run.system.urls["enrollment"] + "/health/ready", timeout=10).status_code == 503
    run.stop.wait(15)  # the alarm lasts a while longer
    run.alarm = {"refused_after_s": refused_after, "slowest_answer_s": round(slowest, 2),
                 "not_ready": not_ready}
    return (f"503 after {refused_after:.1f} s, slowest answer {slowest:.1f} s, readiness "
            f"{'false' if not_ready else 'TRUE'}" if refused_after is not None else "never refused")


def kill_the_leader(run) -> None:
    """The node that leads most of the services' quorum queues killed (SIGKILL of its
    Erlang VM) mid-run, brought back later."""
    run.wait_progress(0.3)
    queues = run.system.broker.queues()
    leaders = [q.get("leader") or q.get("node") for name, q in queues.items() if name.endswith(".events")]
    leader = max(set(leaders), key=leaders.count)
    node = next(n for n in run.cluster.nodes if n.node == leader)
    pid = int((node.folder / "pid").read_text())
    os.kill(pid, signal.SIGKILL)
    run.wait_progress(0.6)
    node.start_again()
    run.figures["faults"] = f"killed {leader} (leader of {leaders.count(leader)} service queues), restarted"


class Doubler:
    """Every event delivered twice: a tap queue sees each publication on the events
    exchange and sends a copy straight to every queue that consumes its type. The
    taps are also the run's record, for the replay."""

    def __init__(self, uri: str):
        self.conn = connect(uri, name="chaos-doubler", confirm_publish=True)
        self.channel = self.conn.channel()
        topology.declare_consumer_queues(self.channel)
        self.channel.queue_declare("chaos.tap", durable=True, auto_delete=False)
        self.channel.queue_bind("chaos.tap", topology.EXCHANGE, routing_key="#")
        self.consumers = topology.consumers()
        self.recorded: list[tuple[str, bytes]] = []
        self.copies = 0

    def run(self, stop: threading.Event) -> None:
        self.channel.basic_consume("chaos.tap", callback=self._copy)
        while not stop.is_set():
            try:
                self.conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass

    def _copy(self, message: amqp.Message) -> None:
        kind = message.delivery_info["routing_key"]
        self.recorded.append((kind, message.body))
        for service, types in self.consumers.items():
            if kind in types:
                copy = amqp.Message(message.body, **{k: v for k, v in message.properties.items()})
                self.channel.basic_publish(copy, exchange="", routing_key=topology.service_queue(service))
                self.copies += 1
        self.channel.basic_ack(message.delivery_tag)

    def close(self) -> None:
        try:
            self.conn.collect()
        except Exception:  # gone either way
            pass
