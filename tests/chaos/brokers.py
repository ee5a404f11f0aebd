"""The brokers a chaos scenario runs on.

Scenarios that only cut connections use a fresh vhost on this machine's broker.
Those that change the broker itself (restart it, raise a memory alarm) or need a
cluster run on RabbitMQ nodes of their own, started and stopped here, with their own
names, ports and folders: nothing they do touches the default broker.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672"
DEFAULT_API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


@dataclass
class Broker:
    """Where a scenario's services connect and where its queues are inspected."""
    amqp_uris: list[str]   # one per node; services get them all, ';'-separated
    apis: list[str]        # management API per node
    vhost: str

    @property
    def amqp_uri(self) -> str:
        return ";".join(f"{u}/{quote(self.vhost, safe='')}" for u in self.amqp_uris)

    def api(self) -> str:
        """The management API of a node that answers."""
        for api in self.apis:
            try:
                requests.get(f"{api}/overview", auth=AUTH, timeout=3).raise_for_status()
                return api
            except requests.RequestException:
                continue
        raise RuntimeError("no management API answers")

    def queues(self) -> dict[str, dict]:
        rows = requests.get(f"{self.api()}/queues/{quote(self.vhost, safe='')}", auth=AUTH, timeout=10).json()
        return {q["name"]: q for q in rows}

    def connections(self) -> list[dict]:
        return requests.get(f"{self.api()}/vhosts/{quote(self.vhost, safe='')}/connections",
                            auth=AUTH, timeout=10).json()

    def close_connections(self) -> int:
        closed = 0
        for c in self.connections():
            requests.delete(f"{self.api()}/connections/{quote(c['name'], safe='')}", auth=AUTH, timeout=10,
                            headers={"X-Reason": "chaos: connection closed by force"})
            closed += 1
        return closed

    def create_vhost(self) -> None:
        api = self.api()
        requests.put(f"{api}/vhosts/{quote(self.vhost, safe='')}", auth=AUTH, timeout=10).raise_for_status()
        requests.put(f"{api}/permissions/{quote(self.vhost, safe='')}/guest", auth=AUTH, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete_vhost(self) -> None:
        try:
            requests.delete(f"{self.api()}/vhosts/{quote(self.vhost, safe='')}", auth=AUTH, timeout=30)
        except (requests.RequestException, RuntimeError):
            pass


def on_default_broker() -> Broker:
    broker = Broker([DEFAULT_AMQP], [DEFAULT_API], f"cea_chaos_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    broker.create_vhost()
    return broker


class Node:
    """One RabbitMQ node of our own (rabbitmq-cluster notes: its own name, ports and
    folders owned by the rabbitmq user; started detached, awaited, stopped)."""

    def __init__(self, folder: Path, name: str, amqp_port: int, api_port: int):
        self.folder, self.name, self.amqp_port, self.api_port = Path(folder), name, amqp_port, api_port
        self.node = f"{name}@localhost"

    @property
    def amqp(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    def env(self) -> dict:
        f = self.folder
        return {**os.environ, "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.amqp_port + 20000),
                "RABBITMQ_MNESIA_BASE": str(f / "mnesia"), "RABBITMQ_LOG_BASE": str(f / "log"),
                "RABBITMQ_PID_FILE": str(f / "pid"), "RABBITMQ_CONFIG_FILE": str(f / "rabbitmq"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(f / "enabled_plugins")}

    def start(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        (self.folder / "mnesia").mkdir(parents=True)
        (self.folder / "log").mkdir()
        (self.folder / "rabbitmq.conf").write_text(
            f"management.tcp.port = {self.api_port}\nmanagement.tcp.ip = 127.0.0.1\n"
            "loopback_users = none\n")
        (self.folder / "enabled_plugins").write_text("[rabbitmq_management].\n")
        shutil.chown(self.folder, "rabbitmq", "rabbitmq")
        for path in self.folder.rglob("*"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.await_startup()
        self.wait_api()

    def start_again(self) -> None:
        """After a crash: the same name, ports and data (it rejoins its cluster)."""
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.await_startup()
        self.wait_api()

    def await_startup(self, seconds: float = 120) -> None:
        """`await_startup` fails at once while the node is not yet known; ask again."""
        deadline = time.monotonic() + seconds
        while True:
            done = subprocess.run(["rabbitmqctl", "-n", self.node, "await_startup", "--timeout", "60"],
                                  capture_output=True, text=True, timeout=90)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.node} did not start: {done.stderr.strip()[:300]}")
            time.sleep(0.5)  # polling a starting server, not synchronising a test

    def wait_api(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                requests.get(f"{self.api}/overview", auth=AUTH, timeout=3).raise_for_status()
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # polling a starting server, not synchronising a test

    def ctl(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["rabbitmqctl", "-n", self.node, *args], capture_output=True, text=True,
                              timeout=180)
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl -n {self.node} {' '.join(args)}: {done.stderr.strip()[:500]}")
        return done.stdout

    def stop(self) -> None:
        self.ctl("stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Cluster:
    """Nodes of our own: one, or three clustered (quorum queues replicate on all)."""

    def __init__(self, folder: Path, size: int, first_port: int):
        self.nodes = [Node(Path(folder) / f"n{i + 1}", f"ceachaos{first_port + i}", first_port + i,
                           first_port + i + 10000) for i in range(size)]

    def start(self) -> Broker:
        for node in self.nodes:
            node.start()
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", self.nodes[0].node)
            node.ctl("start_app")
            node.wait_api()
        broker = Broker([n.amqp for n in self.nodes], [n.api for n in self.nodes], "cea")
        broker.create_vhost()
        return broker

    def destroy(self) -> None:
        for node in reversed(self.nodes):
            node.destroy()
