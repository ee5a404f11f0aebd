"""The progress endpoint under the exam-month load: 20,000 active learners, each
player sending a one-minute heartbeat every 60 s (≈ 330 reports/s).

The learning service runs as its own process (tests.bench.serve) on SQLite and a
fresh vhost; its database is seeded with the learners' open accounts (steady state:
they have studied before, so no `study-started` is due). Load generators in their
own processes then drive `POST /learning/accounts/<id>/progress`:

- fixed: an open-loop schedule at the offered rate; a report's latency runs from its
  scheduled instant to the answer, so a generator that falls behind counts the wait
  (no coordinated omission);
- max: a closed loop, each connection sending its next report when the last answered.

    python -m tests.bench.learning_progress [--learners 20000] [--rate 330] [--seconds 30]
                                            [--max-seconds 15] [--concurrency 16] [--threads 32] [--window 0.002]
Set BENCH_PROFILE=<file> to write a cProfile of the service.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import insert

from shared.persistence import migrations
from shared.persistence.engine import make_engine
from shared.tokens import generate_key_pair, mint
from tests.support.processes import free_port
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
GENERATORS = 2
L4_COURSES = ["F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "M01", "M02",
              "A01", "A02", "V01", "V02", "T01", "T02", "C01", "C02"]


def _learner(i: int) -> tuple[str, str]:
    return (str(uuid.uuid5(uuid.NAMESPACE_OID, f"progress-enrollment-{i}")),
            str(uuid.uuid5(uuid.NAMESPACE_OID, f"progress-learner-{i}")))


def seed(database_url: str, learners: int) -> None:
    """Open accounts as payment would have, a month ago, already studied."""
    from services.learning.models import Account, Learner
    engine = make_engine(database_url)
    migrations.upgrade(engine, "services.learning")
    now = datetime.now(timezone.utc)
    start = date.today() - timedelta(days=30)
    rows_l, rows_a = [], []
    for i in range(learners):
        eid, lid = (uuid.UUID(x) for x in _learner(i))
        rows_l.append({"enrollment_id": eid, "learner_id": lid, "level": "L4", "full_name": "张三",
                       "base_code": "B001"})
        rows_a.append({"account_id": uuid.uuid4(), "enrollment_id": eid, "learner_id": lid, "level": "L4",
                       "base_code": "B001", "catalog_version": "2026.1", "valid_from": start,
                       "valid_until": start + timedelta(days=182), "status": "active",
                       "opened_at": now - timedelta(days=30), "study_started_at": now - timedelta(days=29)})
    with engine.begin() as conn:
        conn.execute(insert(Learner.__table__), rows_l)
        conn.execute(insert(Account.__table__), rows_a)
    engine.dispose()


# -- the load generator (its own process; threads with keep-alive connections) ----------

def _generate(url: str, private_pem: bytes, learners: list[int], mode: str, rate: float,
              seconds: float, threads: int, start_at: float, out) -> None:
    tokens = {i: mint(private_pem, "learner", subject=_learner(i)[1]) for i in learners}
    host, port = url.split("//")[1].split(":")
    total = int(rate * seconds) if mode == "fixed" else None
    counter = iter(range(10**9))
    lock = threading.Lock()
    results: list[tuple[float, int]] = []  # (latency seconds, status)
    stop_at = start_at + seconds

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = []
        while True:
            with lock:
                n = next(counter)
            if total is not None and n >= total:
                break
            if mode == "fixed":
                scheduled = start_at + n / rate
                delay = scheduled - time.time()
                if delay > 0:
                    time.sleep(delay)
            else:
                scheduled = time.time()
                if scheduled >= stop_at:
                    break
            i = learners[n % len(learners)]
            eid, _ = _learner(i)
            body = json.dumps({"session_id": uuid.uuid4().hex, "course_code": L4_COURSES[n % len(L4_COURSES)],
                               "started_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
                               "minutes": 1})
            try:
                conn.request("POST", f"/learning/accounts/{eid}/progress", body,
                             {"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                status = 0
            mine.append((time.time() - scheduled, status))
        conn.close()
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((results, time.time()))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(url: str, private_pem: bytes, learners: int, mode: str, rate: float, seconds: float,
          concurrency: int, service_pid: int | None = None) -> dict:
    """Run the generators in their own processes; figures of the whole. The service's
    CPU time per report is the figure that holds on a busy machine: a single process
    can at most answer 1000 / cpu_ms_per_report reports a second."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0 + learners / 20000 * 2  # after every generator has minted its tokens
    shares = [list(range(g, learners, GENERATORS)) for g in range(GENERATORS)]
    per_rate, per_threads = rate / GENERATORS, max(1, concurrency // GENERATORS)
    procs = [ctx.Process(target=_generate, args=(url, private_pem, shares[g], mode, per_rate, seconds,
                                                  per_threads, start_at, out)) for g in range(GENERATORS)]
    for p in procs:
        p.start()
    cpu_before = _cpu_seconds(service_pid) if service_pid else None
    results, ended = [], start_at
    for _ in procs:
        part, finished = out.get(timeout=seconds * 5 + 120)
        results.extend(part)
        ended = max(ended, finished)
    cpu = _cpu_seconds(service_pid) - cpu_before if service_pid else None
    for p in procs:
        p.join(timeout=30)
    ok = sorted(latency for latency, status in results if status == 200)
    elapsed = ended - start_at
    figures = {"mode": mode, "n": len(results), "ok": len(ok), "errors": len(results) - len(ok),
               "seconds": round(elapsed, 2), "rate": round(len(ok) / elapsed, 1)}
    if cpu is not None and results:
        figures["service_cpu_ms_per_report"] = round(cpu * 1000 / len(results), 2)
    if mode == "fixed":
        figures["offered_rate"] = rate
    else:
        figures["concurrency"] = per_threads * GENERATORS
    if ok:
        figures.update(p50_ms=round(statistics.median(ok) * 1000, 1),
                       p99_ms=round(ok[min(len(ok) - 1, int(len(ok) * 0.99))] * 1000, 1),
                       max_ms=round(ok[-1] * 1000, 1))
    return figures


# -- the service process ------------------------------------------------------------

def _start_service(amqp_uri: str, database_url: str, public_pem: bytes, workdir: Path, window: float):
    port = free_port()
    config = {**TEST_SETTINGS, "AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
              "DATABASE_URL": database_url, "JWT_PUBLIC_KEY": public_pem.decode(),
              "DAILY_STUDY_CAP_MINUTES": "480", "PROGRESS_BATCH_WINDOW_SECONDS": str(window)}
    path = workdir / "learning.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.serve", SERVICE_CLASSES["learning"], str(path)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "learning.log", "ab"), text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"learning exited: {(workdir / 'learning.log').read_text()[-2000:]}")
        try:
            if requests.get(url + "/health/ready", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("learning never became ready")


def run(amqp_uri: str, learners: int = 20000, rate: float = 330, seconds: float = 30,
        max_seconds: float = 15, concurrency: int = 16, threads: int = 32, window: float = 0.002) -> dict:
    """Figures: the fixed-rate run's sustained rate and p50/p99 (top level), and the
    max-throughput run's (under "max"). `threads`: connections of the fixed run;
    `window`: the group-commit window (0: no wait; reports still share a commit when
    they queue during one)."""
    private_pem, public_pem = generate_key_pair()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir}/learning.sqlite3"
        seed(database_url, learners)
        proc, url = _start_service(amqp_uri, database_url, public_pem, workdir, window)
        try:
            drive(url, private_pem, min(learners, 500), "fixed", 100, 3, 16)  # warm-up, not counted
            fixed = drive(url, private_pem, learners, "fixed", rate, seconds, threads, proc.pid)
            top = drive(url, private_pem, learners, "max", 0, max_seconds, concurrency, proc.pid)
        finally:
            proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"n": fixed["n"], "rate": fixed["rate"], "p50_ms": fixed.get("p50_ms"),
            "p99_ms": fixed.get("p99_ms"), "learners": learners, "group_commit_window_s": window,
            "fixed": fixed, "max": top}


def main(argv=None) -> int:
    from tests.support import infra
    parser = argparse.ArgumentParser(prog="python -m tests.bench.learning_progress")
    parser.add_argument("--learners", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=330)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the max run")
    parser.add_argument("--threads", type=int, default=32, help="connections of the fixed-rate run")
    parser.add_argument("--window", type=float, default=0.002, help="group-commit window, s (0: off)")
    args = parser.parse_args(argv)
    vhost = infra.create_vhost()
    try:
        figures = run(infra.amqp_uri(vhost), args.learners, args.rate, args.seconds, args.max_seconds,
                      args.concurrency, args.threads, args.window)
    finally:
        infra.delete_vhost(vhost)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
