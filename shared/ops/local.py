"""Running the five services on this machine: `make run` / `make stop`.

Each service is its own `nameko run` process with its own SQLite database under
var/db (or PostgreSQL when <SERVICE>_DATABASE_URL is set), logs under var/log."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
SERVICES = {
    "enrollment": ("EnrollmentService", 8001),
    "billing": ("BillingService", 8002),
    "learning": ("LearningService", 8003),
    "exam": ("ExamService", 8004),
    "certificate": ("CertificateService", 8005),
}


def load_dev_env(path: Path = ROOT / "deploy" / "dev.env") -> None:
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip())


def port_of(service: str) -> int:
    address = os.environ.get(f"{service.upper()}_HTTP", f"0.0.0.0:{SERVICES[service][1]}")
    return int(address.rsplit(":", 1)[-1])


def url_of(service: str) -> str:
    return f"http://127.0.0.1:{port_of(service)}"


def database_url(service: str) -> str:
    return os.environ.get(f"{service.upper()}_DATABASE_URL", f"sqlite:///var/db/{service}.sqlite3")


def check_broker() -> bool:
    from shared.messaging.broker import CONNECTION_ERRORS, connect
    uri = os.environ["AMQP_URI"]
    try:
        connect(uri, name="cea-check").collect()
        return True
    except CONNECTION_ERRORS as exc:
        print(f"RabbitMQ is not reachable at {uri}: {exc}\n"
              "Start one, then run `make run` again:\n"
              "  on this machine:  rabbitmq-server -detached && rabbitmqctl await_startup\n"
              "  with Docker:      docker compose -f deploy/compose/compose.yaml up -d rabbitmq\n"
              "or point AMQP_URI at a running broker.", file=sys.stderr)
        return False


def migrate() -> None:
    from shared.persistence import migrations
    from shared.persistence.engine import make_engine
    for service in SERVICES:
        engine = make_engine(database_url(service))
        migrations.upgrade(engine, f"services.{service}")
        engine.dispose()
        print(f"  {service:<12} migrated ({database_url(service)})")


def _pid_file(service: str) -> Path:
    return VAR / "run" / f"{service}.pid"


def running_pid(service: str) -> int | None:
    try:
        pid = int(_pid_file(service).read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def start() -> int:
    load_dev_env()
    for d in ("db", "log", "run"):
        (VAR / d).mkdir(parents=True, exist_ok=True)
    from shared.tokens import ensure_dev_keys
    ensure_dev_keys(VAR / "keys")
    if not check_broker():
        return 1
    print("Migrating:")
    migrate()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    nameko = str(Path(sys.executable).parent / "nameko")
    started = {}
    for service, (cls, _) in SERVICES.items():
        if running_pid(service):
            print(f"  {service:<12} already running (pid {running_pid(service)})")
            continue
        with open(VAR / "log" / f"{service}.log", "ab") as log:
            proc = subprocess.Popen(
                [nameko, "run", "--config", f"services/{service}/config.yaml",
                 f"services.{service}.service:{cls}"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _pid_file(service).write_text(str(proc.pid))
        started[service] = proc
    deadline = time.monotonic() + 90
    pending = set(SERVICES)
    while pending and time.monotonic() < deadline:
        for service in list(pending):
            exited = service in started and started[service].poll() is not None
            if exited or running_pid(service) is None:
                print(f"{service} exited; see var/log/{service}.log:", file=sys.stderr)
                print((VAR / "log" / f"{service}.log").read_text()[-2000:], file=sys.stderr)
                stop()
                return 1
            try:
                if requests.get(url_of(service) + "/health/ready", timeout=2).status_code == 200:
                    pending.discard(service)
            except requests.RequestException:
                pass
        time.sleep(0.2)  # polling the services' readiness, not synchronising tests
    if pending:
        print(f"not ready after 90 s: {', '.join(sorted(pending))}; see var/log/", file=sys.stderr)
        return 1
    print("\nRunning (make stop to stop; logs in var/log/):")
    for service in SERVICES:
        print(f"  {service:<12} {url_of(service)}/{service}/openapi.json   pid {running_pid(service)}")
    return 0


def serve(service: str) -> int:
    """Replace this process with the service's `nameko run` (the container entrypoint)."""
    cls = SERVICES[service][0]
    os.chdir(ROOT)
    nameko = str(Path(sys.executable).parent / "nameko")
    os.execv(nameko, [nameko, "run", "--config", f"services/{service}/config.yaml",
                      f"services.{service}.service:{cls}"])


def stop() -> int:
    for service in SERVICES:
        pid = running_pid(service)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        _pid_file(service).unlink(missing_ok=True)
        print(f"  {service:<12} stopped")
    return 0
