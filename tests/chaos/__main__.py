"""`make chaos`: learners pushed through the whole flow while one fault runs, then
the invariants checked and the figures printed, scenario by scenario.

    python -m tests.chaos [--learners 200] [--only 1,2,3a] [--smoke]

Scenarios that change a broker (4, 8) or need a cluster (9) run on RabbitMQ nodes
of their own; the others on a fresh vhost of this machine's broker. Everything is
loopback. Exit status 1 when any invariant is violated. Figures also go to
var/chaos.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shared.ops.local import ROOT, SERVICES
from tests.chaos import faults, invariants
from tests.chaos.brokers import Cluster, on_default_broker
from tests.chaos.driver import Driver, prepare
from tests.chaos.system import QR_SECRET, System

console = Console(width=max(Console().width, 140))
FOLDER = ROOT / "var" / "chaos"


@dataclass
class Scenario:
    key: str
    title: str
    fault: object = None
    broker: str = "default"          # default | own (one node) | cluster (three nodes)
    database: str = "sqlite"
    heartbeat: int = 10
    doubled: bool = False
    poison: bool = False


SCENARIOS = [
    Scenario("1", "SIGKILL of a random service every ~10 s", faults.sigkill_every_10s),
    Scenario("2", "every AMQP connection of the vhost closed, every 5 s", faults.close_connections_every_5s),
    Scenario("3a", "PostgreSQL outage, 3 s then 30 s, under load", faults.postgres_outages, database="postgresql"),
    Scenario("3b", "SQLite locked by another process for 5 s, twice", faults.sqlite_locked),
    Scenario("4", "broker restart (stop_app / start_app) mid-run", faults.broker_restart, broker="own"),
    Scenario("5a", "every event delivered twice", None, doubled=True),
    Scenario("5b", "the events of 5a replayed in 20 random orders into fresh services"),
    Scenario("6", "poison events: malformed, and a handler failing until fixed", None, poison=True),
    Scenario("7", "a service paused (SIGSTOP) past two heartbeats, then resumed", faults.pause_a_service,
             heartbeat=4),
    Scenario("8", "broker memory alarm, then cleared", faults.memory_alarm, broker="own"),
    Scenario("9", "three-node cluster, quorum queues: the queues' leader node killed, later back",
             faults.kill_the_leader, broker="cluster"),
]
SMOKE = ["1", "2", "3a", "3b", "5a", "5b"]
MALFORMED_PER_SERVICE = 3


@dataclass
class Run:
    system: System
    driver: Driver
    stop: threading.Event = field(default_factory=threading.Event)
    figures: dict = field(default_factory=dict)
    cluster: Cluster | None = None
    alarm: dict | None = None

    def wait_progress(self, share: float) -> None:
        """Until `share` of the learners paid (the fault strikes mid-run), or stop."""
        while not self.stop.is_set():
            if sum(1 for learner in self.driver.learners if learner.paid) >= share * len(self.driver.learners):
                return
            time.sleep(0.2)


def run_scenario(scenario: Scenario, learners: int, recorded: dict) -> dict:
    folder = FOLDER / scenario.key
    shutil.rmtree(folder, ignore_errors=True)
    if scenario.key == "5b":
        return _replay(recorded, folder)
    cluster = None
    if scenario.broker == "default":
        broker = on_default_broker()
    else:
        cluster = Cluster(folder / "broker", 3 if scenario.broker == "cluster" else 1, 5701)
        broker = cluster.start()
    system = System(folder, broker, database=scenario.database, heartbeat=scenario.heartbeat,
                    quorum=scenario.broker == "cluster")
    doubler = None
    try:
        if scenario.doubled:
            doubler = faults.Doubler(broker.amqp_uri)
        system.start()
        started = time.monotonic()
        sitting = prepare(system.urls, system.private_key, learners, started + 120)
        driver = Driver(system.urls, system.private_key, QR_SECRET, learners, started + 900, sitting)
        run = Run(system, driver, cluster=cluster)
        finished = threading.Event()  # the whole run is over (the doubler stops then)
        threads = []
        if doubler:
            threads.append(threading.Thread(target=doubler.run, args=(finished,), daemon=True))
        fault = None
        if scenario.fault or scenario.poison:
            fault = threading.Thread(target=scenario.fault or _poison, args=(run,), daemon=True)
            threads.append(fault)
        for t in threads:
            t.start()
        driver_thread = threading.Thread(target=driver.run, daemon=True)
        driver_thread.start()
        # A scripted fault ends by itself; a continuous one (kills, closes) is stopped
        # once most learners are through, so that the drain after it can be seen.
        while driver_thread.is_alive() and fault is not None and fault.is_alive():
            done = sum(1 for learner in driver.learners if learner.certified or learner.failure)
            if done >= 0.9 * learners:
                run.stop.set()
            time.sleep(1)  # watching the run's progress
        run.stop.set()
        if fault is not None:
            fault.join(timeout=300)
        fault_end = time.monotonic()
        driver_thread.join(timeout=960)
        paid = {learner.enrollment_id for learner in driver.learners if learner.paid}
        expected = {s: MALFORMED_PER_SERVICE for s in SERVICES if _consumes(s)} if scenario.poison else {}
        check, drained_at = _drain(system, paid, expected)
        finished.set()
        for t in threads:
            t.join(timeout=60)
        if doubler:
            doubler.close()
            recorded["5a"] = (doubler.recorded, dict(system.db_urls))
            run.figures["faults"] = f"{doubler.copies} copies delivered"
        figures = {
            "scenario": scenario.key, "title": scenario.title, "learners": learners,
            "certified": check.certified, "lost": len(check.lost),
            "duplicated": sum(len(v) for v in check.duplicated.values()),
            "dead_letters": sum(check.dead_letters.values()), "expected_dead_letters": sum(expected.values()),
            "drain_seconds": round(drained_at - fault_end, 1) if drained_at else None,
            "seconds": round(time.monotonic() - started), "faults": run.figures.get("faults", ""),
            "client_retries": sum(driver.transport_errors.values()),
            "problems": check.problems(expected) + [f"learner {learner.index}: {learner.failure}"
                                                    for learner in driver.learners if learner.failure][:5]}
        if run.alarm is not None:
            alarm = run.alarm
            ok = alarm["refused_after_s"] is not None and alarm["refused_after_s"] <= 5 \
                and alarm["slowest_answer_s"] <= 5 and alarm["not_ready"]
            if not ok:
                figures["problems"].append(f"memory alarm: {alarm}")
        return figures
    finally:
        system.stop()
        broker.delete_vhost() if scenario.broker == "default" else None
        if cluster:
            cluster.destroy()


def _consumes(service: str) -> bool:
    from shared.messaging import topology
    return service in topology.consumers()


def _drain(system, paid, expected, seconds: float = 300):
    """Poll the invariants until they hold (or time is up); the check and when."""
    deadline = time.monotonic() + seconds
    while True:
        check = invariants.check(system, paid)
        if check.holds(expected):
            return check, time.monotonic()
        if time.monotonic() > deadline:
            return check, None
        time.sleep(1)  # polling the system's state


def _poison(run: Run) -> None:
    """Malformed events into every consuming service's queue (dead-lettered at once);
    and certificate's registry refusing new certificates (a trigger standing for a
    broken table) until fixed: those events are retried, dead-lettered, and replayed
    by the operator once the cause is gone — each applied exactly once."""
    import sqlite3
    from shared.messaging import topology
    from shared.messaging.broker import ConfirmingPublisher, Outgoing, connect
    from shared.ops.deadletters import DeadLetters
    system = run.system
    conn = connect(system.broker.amqp_uri, name="chaos-poison")
    publisher = ConfirmingPublisher(conn)
    garbage = [b"\xff not json", b'{"id": "nope"}', b'{"type": "billing.paid", "version": 9, "data": {}}']
    publisher.publish_all([Outgoing(key=i, body=body, exchange="", routing_key=topology.service_queue(s),
                                    properties={"delivery_mode": 2, "message_id": f"poison-{s}-{i}"})
                           for s in SERVICES if _consumes(s) for i, body in enumerate(garbage)])
    conn.collect()
    registry = system.db_urls["certificate"].removeprefix("sqlite:///")
    with sqlite3.connect(registry, timeout=30) as db:
        db.execute("CREATE TRIGGER chaos_refuse BEFORE INSERT ON certificates "
                   "BEGIN SELECT RAISE(ABORT, 'chaos: the registry refuses new certificates'); END;")
    # The cause stays until a quarter of the learners' passes were dead-lettered (at
    # most half the driver's threads: each thread waits on its learner's certificate,
    # so no more passes than threads can arrive while the cause stands); then it is
    # fixed, the retries in flight run out, and the operator replays.
    wanted = MALFORMED_PER_SERVICE + max(1, min(len(run.driver.learners) // 4, run.driver.threads // 2))
    while not run.stop.is_set() and system.broker.queues().get(
            "certificate.dead-letter", {}).get("messages", 0) < wanted:
        time.sleep(1)  # watching the dead-letter queue fill
    with sqlite3.connect(registry, timeout=30) as db:
        db.execute("DROP TRIGGER chaos_refuse")
    replayed = 0
    for _ in range(2):  # again, for a retry that gave up while the cause was being fixed
        while any(name.startswith("certificate.retry.") and q.get("messages", 0)
                  for name, q in system.broker.queues().items()):
            time.sleep(0.5)  # the retries in flight succeed now, or give up
        with DeadLetters(system.broker.amqp_uri, "certificate") as letters:
            for letter in letters.fetch():
                if letter.type == "exam.graded":
                    letters.replay(letter)
                    replayed += 1
        time.sleep(3)  # one more retry cycle before looking again
    run.figures["faults"] = (f"{MALFORMED_PER_SERVICE} malformed per service; {replayed} graded events "
                             "dead-lettered by a failing handler, replayed after the fix")


def _replay(recorded: dict, folder: Path) -> dict:
    from tests.chaos.replay import replay
    if "5a" not in recorded:
        return {"scenario": "5b", "title": "replay", "problems": ["scenario 5a did not run first"]}
    events, urls = recorded["5a"]
    started = time.monotonic()
    outcome = replay(events, urls, folder, 20, say=lambda s: console.print(s))
    return {"scenario": "5b", "title": "the events of 5a replayed in 20 random orders into fresh services",
            "learners": None, "certified": None, "lost": 0, "duplicated": 0, "dead_letters": 0,
            "expected_dead_letters": 0, "drain_seconds": None, "seconds": round(time.monotonic() - started),
            "faults": f"{outcome['orders']} orders, {outcome['deliveries']} deliveries, "
                      f"{outcome['orders'] - len({d.split(':')[0] for d in outcome['differences']})} identical",
            "client_retries": 0, "problems": outcome["differences"]}


def print_table(rows: list[dict]) -> None:
    table = Table(title="make chaos")
    for column in ("scenario", "learners", "certified", "lost", "duplicated", "dead letters", "drain s",
                   "run s", "fault", "verdict"):
        table.add_column(column, justify="left" if column in ("scenario", "fault") else "right")
    for r in rows:
        verdict = "[green]PASS[/]" if not r["problems"] else "[red]FAIL[/]"
        table.add_row(f"{r['scenario']} {r['title']}", str(r.get("learners") or "-"),
                      str(r.get("certified") if r.get("certified") is not None else "-"), str(r.get("lost", "-")),
                      str(r.get("duplicated", "-")),
                      f"{r.get('dead_letters', '-')}/{r.get('expected_dead_letters', '-')}",
                      str(r.get("drain_seconds") if r.get("drain_seconds") is not None else "-"),
                      str(r.get("seconds", "-")), r.get("faults", ""), verdict)
    console.print(table)
    for r in rows:
        for problem in r["problems"]:
            console.print(f"[red]{r['scenario']}: {problem}[/]")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--only", help="comma-separated scenario keys, e.g. 1,2,3a")
    parser.add_argument("--smoke", action="store_true", help=f"scenarios {', '.join(SMOKE)}")
    args = parser.parse_args(argv)
    keys = args.only.split(",") if args.only else SMOKE if args.smoke else [s.key for s in SCENARIOS]
    if "5b" in keys and "5a" not in keys:
        keys.insert(keys.index("5b"), "5a")
    chosen = [s for s in SCENARIOS if s.key in keys]
    rows, recorded = [], {}
    for scenario in chosen:
        console.print(f"[bold]{scenario.key}[/] {scenario.title} ({args.learners} learners)")
        try:
            row = run_scenario(scenario, args.learners, recorded)
        except Exception as exc:  # a scenario that could not run is a failure, not a crash of the suite
            row = {"scenario": scenario.key, "title": scenario.title, "problems": [f"{type(exc).__name__}: {exc}"]}
        rows.append(row)
        console.print(f"  -> {'PASS' if not row['problems'] else 'FAIL: ' + '; '.join(row['problems'][:3])}")
    print_table(rows)
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "chaos.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    return 1 if any(r["problems"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
