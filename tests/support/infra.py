"""The real broker and databases the tests use: a fresh vhost per test, a fresh
SQLite file or PostgreSQL database per service."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote, urlparse

import requests

AMQP_BASE = os.environ.get("CEA_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
RABBIT_API = os.environ.get("CEA_TEST_RABBIT_API", "http://127.0.0.1:15672/api")
RABBIT_AUTH = ("guest", "guest")
POSTGRES = os.environ.get("CEA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "cea_test_"


def amqp_uri(vhost: str) -> str:
    return f"{AMQP_BASE}/{quote(vhost, safe='')}"


def create_vhost() -> str:
    name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    response = requests.put(f"{RABBIT_API}/vhosts/{name}", auth=RABBIT_AUTH, timeout=10)
    response.raise_for_status()
    requests.put(f"{RABBIT_API}/permissions/{name}/guest", auth=RABBIT_AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return name


def delete_vhost(name: str) -> None:
    requests.delete(f"{RABBIT_API}/vhosts/{name}", auth=RABBIT_AUTH, timeout=30)


@contextmanager
def broker_user(vhost: str):
    """An AMQP URI for `vhost` as a user of its own with a random password, as a
    deployment has (the production profile refuses the published guest:guest);
    the user is deleted afterwards."""
    name, password = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    requests.put(f"{RABBIT_API}/users/{name}", auth=RABBIT_AUTH, timeout=10,
                 json={"password": password, "tags": ""}).raise_for_status()
    try:
        requests.put(f"{RABBIT_API}/permissions/{quote(vhost, safe='')}/{name}", auth=RABBIT_AUTH, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        host = urlparse(AMQP_BASE)
        yield f"amqp://{name}:{password}@{host.hostname}:{host.port or 5672}/{quote(vhost, safe='')}"
    finally:
        requests.delete(f"{RABBIT_API}/users/{name}", auth=RABBIT_AUTH, timeout=10)


def _stale(name: str) -> bool:
    """A name this module made for a process that is gone (an aborted run)."""
    pid = name[len(PREFIX):].split("_")[0]
    return name.startswith(PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}")


def delete_stale_vhosts() -> int:
    """Vhosts (and broker users) left by aborted runs (their process is gone) are deleted."""
    gone = 0
    users = requests.get(f"{RABBIT_API}/users", auth=RABBIT_AUTH, timeout=10)
    for user in users.json() if users.ok else []:
        if _stale(user["name"]):
            requests.delete(f"{RABBIT_API}/users/{quote(user['name'], safe='')}", auth=RABBIT_AUTH, timeout=10)
    response = requests.get(f"{RABBIT_API}/vhosts", auth=RABBIT_AUTH, timeout=10)
    for vhost in response.json():
        if _stale(vhost["name"]):
            delete_vhost(vhost["name"])
            gone += 1
    return gone


def queue_info(vhost: str, queue: str) -> dict:
    response = requests.get(f"{RABBIT_API}/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}",
                            auth=RABBIT_AUTH, timeout=10)
    response.raise_for_status()
    return response.json()


def postgres_available() -> bool:
    try:
        import psycopg2
        psycopg2.connect(POSTGRES, connect_timeout=3).close()
        return True
    except Exception:
        return False


def _admin():
    import psycopg2
    conn = psycopg2.connect(POSTGRES)
    conn.autocommit = True
    return conn


def create_database(label: str) -> str:
    name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}_{label}"
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    parts = urlparse(POSTGRES)
    return parts._replace(path="/" + name).geturl()


def drop_database(url: str) -> None:
    name = urlparse(url).path[1:]
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def drop_stale_databases() -> None:
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))
            for (name,) in cur.fetchall():
                pid = name[len(PREFIX):].split("_")[0]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()
