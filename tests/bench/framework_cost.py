"""What the framework costs an HTTP request: the CPU time per request of a trivial
route — a service's `GET /health/live` (nameko, the project's ApiServer and its
middleware) — against a bare Werkzeug app answering the same on the same eventlet
WSGI server (`eventlet.wsgi.Server` with nameko's HttpOnlyProtocol, as ApiServer
builds it). Each server in its own process; the load generator (keep-alive
connections, closed loop) in this one. CPU time is the server process's user +
system time from /proc/<pid>/stat, its idle rate (measured just before) taken off.

    python -m tests.bench.framework_cost [--requests 3000] [--concurrency 8] [--small]"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import http.client

from shared.tokens import generate_key_pair
from tests.support import infra
from tests.support.processes import ServiceProcess, free_port
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 1.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    return parse_cpu(Path(f"/proc/{pid}/stat").read_text())


def parse_cpu(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS


def per_request(cpu: float, idle_rate: float, seconds: float, requests: int) -> float:
    """Microseconds of CPU per request: the CPU used, less what the process burns idle."""
    return max(0.0, cpu - idle_rate * seconds) / requests * 1e6


def _drive(port: int, requests: int, concurrency: int) -> tuple[float, int]:
    def worker(count):
        conn, ok = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
        for _ in range(count):
            conn.request("GET", "/health/live")
            answer = conn.getresponse()
            answer.read()
            ok += answer.status == 200
        conn.close()
        return ok

    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ok = sum(pool.map(worker, shares))
    return time.perf_counter() - started, ok


def measure(pid: int, port: int, requests: int, concurrency: int) -> dict:
    _drive(port, min(200, requests), concurrency)  # warm: imports, connections, caches
    before = cpu_seconds(pid)
    time.sleep(IDLE_SECONDS)
    idle_rate = (cpu_seconds(pid) - before) / IDLE_SECONDS
    before = cpu_seconds(pid)
    seconds, ok = _drive(port, requests, concurrency)
    cpu = cpu_seconds(pid) - before
    return {"requests": requests, "ok": ok, "seconds": round(seconds, 3), "rate": round(requests / seconds, 1),
            "cpu_seconds": round(cpu, 3), "idle_cpu_per_second": round(idle_rate, 4),
            "cpu_us_per_request": round(per_request(cpu, idle_rate, seconds, requests), 1)}


def run(amqp_uri: str | None = None, requests: int = 3000, concurrency: int = 8) -> dict:
    vhost = None
    if amqp_uri is None:
        vhost = infra.create_vhost()
        amqp_uri = infra.amqp_uri(vhost)
    _, public = generate_key_pair()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            service = ServiceProcess(SERVICE_CLASSES["certificate"], {
                "AMQP_URI": amqp_uri, "DATABASE_URL": f"sqlite:///{tmp}/certificate.sqlite3",
                "JWT_PUBLIC_KEY": public.decode(), **TEST_SETTINGS}, Path(tmp), "certificate")
            from shared.persistence import migrations
            from shared.persistence.engine import make_engine
            engine = make_engine(service.config["DATABASE_URL"])
            migrations.upgrade(engine, "services.certificate")
            engine.dispose()
            service.start()
            try:
                framework = measure(service.process.pid, service.port, requests, concurrency)
            finally:
                service.stop()
            port = free_port()
            bare = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_app", str(port)], cwd=ROOT)
            try:
                wait_for(lambda: _answers(port), timeout=30, interval=0.1, message="the bare app did not start")
                plain = measure(bare.pid, port, requests, concurrency)
            finally:
                bare.terminate()
                bare.wait(timeout=30)
    finally:
        if vhost:
            infra.delete_vhost(vhost)
    return {"service": framework, "bare_werkzeug": plain,
            "ratio": round(framework["cpu_us_per_request"] / plain["cpu_us_per_request"], 2)
            if plain["cpu_us_per_request"] else None}


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health/live")
        return conn.getresponse().status == 200
    except OSError:
        return False


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.framework_cost")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--small", action="store_true", help="300 requests: does it run")
    args = parser.parse_args(argv)
    if args.small:
        args.requests, args.concurrency = 300, 4
    print(json.dumps(run(None, args.requests, args.concurrency), indent=2))


if __name__ == "__main__":
    main()
