"""What `make run` needs from this machine, from Debian's packages: RabbitMQ with
its management API, nginx for the gateway, and PostgreSQL only when asked
(`make run POSTGRES=1`). As root it installs and starts what is missing, the way
`make test` does (deploy/local/ensure-infra.sh); otherwise it prints the exact
commands and goes on without what is optional (the gateway) or stops (the broker).

`plan` is the decision, from what was found; `ensure` finds, then runs or prints."""
from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from urllib.parse import urlparse

import requests

from .gateway import nginx_binary

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")
APT = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"
POSTGRES_ROLE = "cea"


@dataclass(frozen=True)
class Found:
    """What is on this machine now."""
    broker_local: bool            # AMQP_URI names this machine's default port (else not ours to start)
    rabbitmq_installed: bool
    broker_up: bool
    management_up: bool
    nginx_installed: bool
    postgres_installed: bool = False
    postgres_up: bool = False
    postgres_databases: bool = False


@dataclass(frozen=True)
class Step:
    what: str
    commands: tuple[str, ...]
    essential: bool               # without it `make run` cannot go on


def plan(found: Found, services: list[str], postgres: bool = False) -> list[Step]:
    steps: list[Step] = []
    needed = []  # without these `make run` cannot go on
    if found.broker_local and not found.rabbitmq_installed and not found.broker_up:
        needed.append("rabbitmq-server")
    if postgres and not found.postgres_installed and not found.postgres_up:
        needed.append("postgresql")
    if needed or not found.nginx_installed:
        steps.append(Step("update Debian's package lists", ("apt-get update -q",), essential=bool(needed)))
    if needed:
        steps.append(Step(f"install {' '.join(needed)}", (f"{APT} {' '.join(needed)}",), essential=True))
    if not found.nginx_installed:
        steps.append(Step("install nginx (the gateway)", (f"{APT} nginx",), essential=False))
    if found.broker_local and not found.broker_up:
        steps.append(Step("start RabbitMQ", ("rabbitmq-server -detached",
                                             "rabbitmqctl await_startup --timeout 120"), essential=True))
    if found.broker_local and not found.management_up:
        steps.append(Step("enable RabbitMQ's management API (make queues, dead letters)",
                          ("rabbitmq-plugins enable rabbitmq_management",), essential=False))
    if postgres and not found.postgres_up:
        steps.append(Step("start PostgreSQL", (
            'pg_ctlcluster --skip-systemctl-redirect '
            '"$(ls /etc/postgresql | sort -V | tail -1)" main start',),
            essential=True))
    if postgres and not found.postgres_databases:
        psql = "runuser -u postgres -- psql -q -v ON_ERROR_STOP=1"
        commands = [f"{psql} -tAc \"SELECT 1 FROM pg_roles WHERE rolname='{POSTGRES_ROLE}'\" | grep -q 1 || "
                    f"{psql} -c \"CREATE ROLE {POSTGRES_ROLE} LOGIN PASSWORD '{POSTGRES_ROLE}'\""]
        commands += [f"{psql} -tAc \"SELECT 1 FROM pg_database WHERE datname='cea_{s}'\" | grep -q 1 || "
                     f"runuser -u postgres -- createdb -O {POSTGRES_ROLE} cea_{s}" for s in services]
        steps.append(Step("create a database per service", tuple(commands), essential=True))
    return steps


def postgres_url(service: str) -> str:
    return f"postgresql://{POSTGRES_ROLE}:{POSTGRES_ROLE}@127.0.0.1:5432/cea_{service}"


def _tcp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "ok installed" in done.stdout


def _management_up(env) -> bool:
    api = urlparse(env.get("RABBIT_API", "http://guest:guest@localhost:15672/api"))
    base = api._replace(netloc=f"{api.hostname}:{api.port or 15672}").geturl()
    try:
        return requests.get(f"{base}/overview", auth=(api.username or "guest", api.password or "guest"),
                            timeout=3).status_code == 200
    except requests.RequestException:
        return False


def _databases_ready(services) -> bool:
    import psycopg2
    try:
        for s in services:
            psycopg2.connect(postgres_url(s), connect_timeout=3).close()
        return True
    except psycopg2.Error:
        return False


def find(env, services, postgres: bool) -> Found:
    amqp = urlparse(env["AMQP_URI"])
    pg_up = postgres and _tcp("127.0.0.1", 5432)
    return Found(
        broker_local=(amqp.hostname or "") in LOCAL_HOSTS and (amqp.port or 5672) == 5672,
        rabbitmq_installed=_installed("rabbitmq-server"),
        broker_up=_tcp(amqp.hostname or "127.0.0.1", amqp.port or 5672),
        management_up=_management_up(env),
        nginx_installed=nginx_binary() is not None,
        postgres_installed=postgres and _installed("postgresql"),
        postgres_up=pg_up,
        postgres_databases=pg_up and _databases_ready(services),
    )


def ensure(env, services, postgres: bool = False, say=print, is_root: bool | None = None,
           found: Found | None = None, shell=None) -> bool:
    """Install and start what is missing (as root), or print the commands. False when
    `make run` cannot go on."""
    steps = plan(found or find(env, services, postgres), services, postgres)
    if not steps:
        return True
    if is_root if is_root is not None else os.geteuid() == 0:
        shell = shell or (lambda line: subprocess.run(["bash", "-c", line]).returncode)
        for step in steps:
            say(f"  {step.what}")
            for line in step.commands:
                if shell(line) != 0:
                    say(f"  could not {step.what}: `{line}` failed")
                    if step.essential:
                        return False
                    break
        return True
    say("This machine lacks what `make run` needs; as root (sudo), run:")
    for step in steps:
        say(f"  # {step.what}{'' if step.essential else ' (optional)'}")
        for line in step.commands:
            say(f"  {line}")
    return not any(step.essential for step in steps)
