"""Running the system on this machine: `make run` / `make stop` / `make status`.

Each service is its own process (`python -m shared.runner`), with its own SQLite
database under var/db (or PostgreSQL when <SERVICE>_DATABASE_URL is set) and its log
under var/log. The processes run under supervisord (a `Stack`): a process that
exits is started again, and the watchdog (`shared/ops/watchdog.py`) restarts one
that no longer answers /health/live. `make run` on a running stack starts what is
not running and restarts what does not answer, instead of calling it running.
The chaos suite runs its own stacks, in other folders, with the same class.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

import requests

from . import infra
from .gateway import DEFAULT_ORIGINS, INSTALL_HINT, Gateway, GatewaySettingError, listen_address, \
    nginx_binary, parse_origins

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
SERVICES = {
    "enrollment": ("EnrollmentService", 8001),
    "billing": ("BillingService", 8002),
    "learning": ("LearningService", 8003),
    "exam": ("ExamService", 8004),
    "certificate": ("CertificateService", 8005),
    "identity": ("IdentityService", 8006),
}


def load_dev_env(path: Path = ROOT / "deploy" / "dev.env") -> None:
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip())


def port_of(service: str, env=os.environ) -> int:
    address = env.get(f"{service.upper()}_HTTP", f"0.0.0.0:{SERVICES[service][1]}")
    return int(address.rsplit(":", 1)[-1])


def url_of(service: str, env=os.environ) -> str:
    return f"http://127.0.0.1:{port_of(service, env)}"


def database_url(service: str) -> str:
    return os.environ.get(f"{service.upper()}_DATABASE_URL", f"sqlite:///var/db/{service}.sqlite3")


def service_command(service: str, config: str | None = None) -> list[str]:
    """The one way a service process starts: here, in the image, in the tests."""
    return [sys.executable, "-m", "shared.runner", "--config", config or f"services/{service}/config.yaml",
            f"services.{service}.service:{SERVICES[service][0]}"]


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
              "  with Docker:      docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:4.2.6-management\n"
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


@dataclass
class Program:
    name: str
    command: list[str]
    live: str | None = None   # its liveness URL, for the watchdog
    ready: str | None = None  # its readiness URL, waited for at start


class Stack:
    """The processes of one system on this machine, kept running by supervisord."""

    def __init__(self, var: Path, programs: list[Program], env: dict | None = None,
                 watchdog_failures: int = 3, watchdog_grace: float = 30.0):
        self.var, self.programs, self.env = Path(var), programs, dict(env or os.environ)
        self.watchdog = (watchdog_failures, watchdog_grace)
        self.conf = self.var / "run" / "supervisord.conf"
        self.socket = self.var / "run" / "supervisor.sock"

    # -- supervisord -----------------------------------------------------------

    def rpc(self):
        from supervisor import childutils
        return childutils.getRPCInterface({"SUPERVISOR_SERVER_URL": f"unix://{self.socket}"})

    def supervisor_running(self) -> bool:
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def write_config(self) -> None:
        for d in ("run", "log"):
            (self.var / d).mkdir(parents=True, exist_ok=True)
        failures, grace = self.watchdog
        checks = " ".join(f"{p.name}={p.live}" for p in self.programs if p.live)
        sections = [f"""[supervisord]
logfile={self.var}/log/supervisord.log
pidfile={self.var}/run/supervisord.pid
childlogdir={self.var}/log
directory={ROOT}

[unix_http_server]
file={self.socket}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.socket}

[eventlistener:watchdog]
command={sys.executable} -m shared.ops.watchdog --failures {failures} --grace {grace} {checks}
events=TICK_5
autorestart=true
stderr_logfile={self.var}/log/watchdog.log
"""]
        for p in self.programs:
            sections.append(f"""[program:{p.name}]
command={shlex.join(p.command)}
directory={ROOT}
autostart=true
autorestart=true
startsecs=2
startretries=1000
stopsignal=TERM
stopwaitsecs=15
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={self.var}/log/{p.name}.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=2
""")
        self.conf.write_text("\n".join(sections).replace("%", "%%"))

    def up(self, say=print) -> None:
        """Start supervisord, or bring a running one in line: start what is not
        running, restart what does not answer its liveness probe."""
        self.write_config()
        if not self.supervisor_running():
            self.socket.unlink(missing_ok=True)
            env = {**self.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
            subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
                           cwd=ROOT, env=env, check=True)
            self._wait(self.supervisor_running, 20, "supervisord did not start")
            say(f"  supervisor   started (pid {self.supervisor_pid()})")
            return
        rpc = self.rpc()
        added, changed, removed = rpc.supervisor.reloadConfig()[0]
        for name in changed + removed:
            rpc.supervisor.stopProcessGroup(name)
            rpc.supervisor.removeProcessGroup(name)
        for name in added + changed:
            rpc.supervisor.addProcessGroup(name)
        for p in self.programs:
            info = rpc.supervisor.getProcessInfo(p.name)
            if info["statename"] not in ("RUNNING", "STARTING"):
                say(f"  {p.name:<12} was {info['statename'].lower()}: starting it")
                rpc.supervisor.startProcess(p.name, False)
            elif info["statename"] == "RUNNING" and p.live and not _answers(p.live):
                say(f"  {p.name:<12} runs but does not answer {p.live}: restarting it")
                rpc.supervisor.stopProcess(p.name, True)
                rpc.supervisor.startProcess(p.name, False)

    def down(self) -> None:
        if not self.supervisor_running():
            return
        pid = self.supervisor_pid()
        try:
            self.rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Fault):
            pass
        if pid:
            self._wait(lambda: not _alive(pid), 60, "supervisord did not stop")

    def supervisor_pid(self) -> int | None:
        try:
            return int((self.var / "run" / "supervisord.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    # -- the programs ---------------------------------------------------------

    def status(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.rpc().supervisor.getAllProcessInfo()}

    def pid(self, name: str) -> int:
        return self.rpc().supervisor.getProcessInfo(name)["pid"]

    def signal(self, name: str, signame: str) -> None:
        self.rpc().supervisor.signalProcess(name, signame)

    def wait_ready(self, timeout: float = 90.0) -> list[str]:
        """Wait until every program answers its readiness probe; those that did not."""
        pending = [p for p in self.programs if p.ready]
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not _answers(p.ready)]
            if pending:
                time.sleep(0.2)  # polling readiness, not synchronising tests
        return [p.name for p in pending]

    @staticmethod
    def _wait(condition, seconds, message):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(message)
            time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def relay_command(service: str, config: str | None = None) -> list[str]:
    """The service's outbox relay as a process of its own (the service runs with
    CEA_OUTBOX_RELAY=false), as production runs it: shared/messaging/relay_process.py."""
    return [sys.executable, "-m", "shared.messaging.relay_process", "--config",
            config or f"services/{service}/config.yaml", service]


def relay_url(service: str, env=os.environ) -> str:
    address = env.get(f"{service.upper()}_RELAY_HTTP", f"127.0.0.1:{SERVICES[service][1] + 100}")
    return f"http://127.0.0.1:{int(address.rsplit(':', 1)[-1])}"


def relay_settings(env) -> None:
    """Each service's relay in its own process, its probes on the service's port + 100."""
    env.setdefault("CEA_OUTBOX_RELAY", "false")
    for service in SERVICES:
        env.setdefault(f"{service.upper()}_RELAY_HTTP", f"127.0.0.1:{port_of(service, env) + 100}")


def service_programs(env=os.environ) -> list[Program]:
    programs = []
    for service in SERVICES:
        programs.append(Program(service, service_command(service), live=url_of(service, env) + "/health/live",
                                ready=url_of(service, env) + "/health/ready"))
        if str(env.get("CEA_OUTBOX_RELAY", "true")).lower() == "false":
            relay = relay_url(service, env)
            programs.append(Program(f"{service}-relay", relay_command(service), live=relay + "/health/live",
                                    ready=relay + "/health/ready"))
    return programs


def local_gateway(env=os.environ) -> Gateway:
    """The gateway in front of the services `make run` starts, written under var/gateway."""
    return Gateway(VAR / "gateway", listen_address(env),
                   {service: f"127.0.0.1:{port_of(service, env)}" for service in SERVICES},
                   parse_origins(env.get("GATEWAY_CORS_ORIGINS", DEFAULT_ORIGINS)))


def gateway_program(gateway: Gateway) -> Program | None:
    """nginx as one more program of the stack, when it is installed."""
    nginx = nginx_binary()
    if nginx is None:
        return None
    return Program("gateway", gateway.command(nginx), live=gateway.health_url, ready=gateway.health_url)


def mail_sink_program(env=os.environ) -> Program:
    """Development only: the SMTP server identity sends e-mail to, keeping it in var/mail."""
    return Program("mailsink", [sys.executable, "-m", "shared.ops.mailsink", "--port",
                                env.get("IDENTITY_SMTP_PORT", "8025"), "--maildir", str(VAR / "mail")])


def paystand_program(env=os.environ) -> Program:
    """Development only: the local stand-in of WeChat Pay API v3 (shared/dev/paystand),
    where billing's development settings point (docs/payments.md)."""
    port = env.get("PAYSTAND_PORT", "8090")
    url = f"http://127.0.0.1:{port}/paystand/health"
    return Program("paystand", [sys.executable, "-m", "shared.dev.paystand", "serve", "--port", port],
                   live=url, ready=url)


def development_identity_settings() -> None:
    """The services verify tokens against identity's published keys (JWKS) as in
    production; the development key file still verifies `make token`'s tokens."""
    os.environ.setdefault("JWKS_URL", url_of("identity") + "/identity/jwks.json")


def default_stack(env=os.environ) -> Stack:
    programs = service_programs(env) + [mail_sink_program(env), paystand_program(env)]
    try:
        gateway = gateway_program(local_gateway(env))
    except GatewaySettingError:  # `make run` says so; status and stop go on without it
        gateway = None
    return Stack(VAR, programs + ([gateway] if gateway else []))


def start() -> int:
    load_dev_env()
    relay_settings(os.environ)
    development_identity_settings()
    for d in ("db", "log", "run"):
        (VAR / d).mkdir(parents=True, exist_ok=True)
    from shared.tokens import ensure_dev_keys
    ensure_dev_keys(VAR / "keys")
    from shared.dev.paystand import keys as paystand_keys
    paystand_keys.ensure(VAR / "keys" / "wechatpay")
    postgres = os.environ.get("CEA_POSTGRES", "") not in ("", "0")
    if not infra.ensure(os.environ, list(SERVICES), postgres=postgres):
        return 1
    if postgres:
        for service in SERVICES:
            os.environ.setdefault(f"{service.upper()}_DATABASE_URL", infra.postgres_url(service))
    if not check_broker():
        return 1
    try:
        gateway = local_gateway()
    except GatewaySettingError as exc:
        print(exc, file=sys.stderr)
        return 1
    nginx = nginx_binary()
    if nginx:
        gateway.write()
        problem = gateway.check(nginx)
        if problem:
            print(f"the gateway's configuration does not pass `nginx -t`:\n{problem}", file=sys.stderr)
            return 1
    print("Migrating:")
    migrate()
    stack = default_stack()
    stack.up()
    not_ready = stack.wait_ready()
    if not_ready:
        for name in not_ready:
            log = VAR / "log" / f"{name}.log"
            print(f"{name} is not ready after 90 s; the end of {log}:", file=sys.stderr)
            print(log.read_text()[-2000:] if log.exists() else "(no log)", file=sys.stderr)
        stack.down()
        return 1
    print("\nRunning under supervisord (make status, make stop; logs in var/log/):")
    states = stack.status()
    for service in SERVICES:
        print(f"  {service:<12} {url_of(service)}/{service}/openapi.json   pid {states[service]['pid']}")
    if nginx:
        print(f"  {'gateway':<12} {gateway.url}/<service>/...   pid {states['gateway']['pid']}\n"
              f"  API documentation: {gateway.url}/docs/")
    else:
        print(f"  gateway      not started: nginx is not installed (as root: {INSTALL_HINT})")
    print(f"  {'mailsink':<12} SMTP on 127.0.0.1:{os.environ.get('IDENTITY_SMTP_PORT', '8025')}, "
          "mail kept in "
          f"var/mail; SMS in var/sms/outbox.jsonl   pid {states['mailsink']['pid']}")
    print(f"  {'paystand':<12} WeChat Pay API v3 stand-in on http://127.0.0.1:"
          f"{os.environ.get('PAYSTAND_PORT', '8090')} (keys in var/keys/wechatpay)   "
          f"pid {states['paystand']['pid']}")
    if not _has_admin():
        print("\nNo administrator yet: make admin LOGIN=<name> NAME=<full name>")
    return 0


def _has_admin() -> bool:
    from sqlalchemy import select
    from services.identity.models import RoleGrant
    from shared.persistence.engine import make_engine
    engine = make_engine(database_url("identity"))
    try:
        with engine.connect() as conn:
            granted = select(RoleGrant.grant_id).where(RoleGrant.role == "admin",
                                                       RoleGrant.removed_at.is_(None)).limit(1)
            return conn.execute(granted).first() is not None
    finally:
        engine.dispose()


def status() -> int:
    load_dev_env()
    relay_settings(os.environ)
    development_identity_settings()
    stack = default_stack()
    if not stack.supervisor_running():
        print("not running (make run)")
        return 1
    states = stack.status()
    for p in stack.programs:
        info = states.get(p.name, {})
        live = ("answers" if _answers(p.live) else "does not answer") if p.live else "(no HTTP probe)"
        print(f"  {p.name:<18} {info.get('statename', '?'):<9} pid {info.get('pid', '-'):<7} {live}")
    return 0


def serve(service: str, relay: bool = False) -> int:
    """Replace this process with the service, or with its outbox relay (the
    container entrypoints: `serve billing`, `serve billing --relay`)."""
    os.chdir(ROOT)
    command = relay_command(service) if relay else service_command(service)
    os.execv(command[0], command)


def stop() -> int:
    load_dev_env()
    relay_settings(os.environ)
    development_identity_settings()
    stack = default_stack()
    if not stack.supervisor_running():
        print("  nothing running")
        return 0
    stack.down()
    for p in stack.programs:
        print(f"  {p.name:<12} stopped")
    return 0
