"""The broker definitions the RabbitmqCluster imports at boot (components/broker), loaded by
a real RabbitMQ node of our own (its own ports and data folder; Debian's RabbitMQ, so the
version this machine has, not the cluster's): the services' user gets in to its vhost and
nowhere else, and a message that keeps coming back unacknowledged (it kills its consumer
before the ack) is dead-lettered to the service's dead-letter queue at the delivery limit."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pika
import pytest
import requests

from shared.messaging import topology
from shared.ops import local
from tests.support.processes import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
BROKER = ROOT / "deploy" / "k8s" / "components" / "broker"
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
DELIVERY_LIMIT = json.loads((BROKER / "definitions.template.json").read_text())["policies"][0]["definition"][
    "delivery-limit"]
CREDENTIALS = {"ADMIN_USERNAME": "default_user_test", "ADMIN_PASSWORD": uuid.uuid4().hex,
               "CEA_USERNAME": "cea", "CEA_PASSWORD": uuid.uuid4().hex}


@pytest.fixture(scope="module")
def broker():
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        pytest.skip("Debian's rabbitmq-server is not installed")
    home = Path(tempfile.mkdtemp(prefix="cea-broker-"))
    amqp, management, dist = free_port(), free_port(), free_port()
    subprocess.run(["sh", str(BROKER / "render-definitions.sh"), str(BROKER / "definitions.template.json"),
                    str(home / "definitions.json")], env={**os.environ, **CREDENTIALS}, check=True,
                   capture_output=True)
    (home / "rabbitmq.conf").write_text(f"listeners.tcp.default = {amqp}\nmanagement.tcp.port = {management}\n"
                                        f"load_definitions = {home / 'definitions.json'}\n")
    (home / "enabled_plugins").write_text("[rabbitmq_management].\n")
    node = f"cea-deploy-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
    env = {**os.environ, "RABBITMQ_NODENAME": node, "RABBITMQ_DIST_PORT": str(dist),
           "RABBITMQ_MNESIA_BASE": str(home / "mnesia"), "RABBITMQ_LOG_BASE": str(home / "log"),
           "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
           "RABBITMQ_PLUGINS_EXPAND_DIR": str(home / "plugins"), "RABBITMQ_PID_FILE": str(home / "pid")}
    out = open(home / "server.out", "w")
    server = subprocess.Popen([str(RABBITMQ_BIN / "rabbitmq-server")], env=env, stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{management}/api"
    admin = (CREDENTIALS["ADMIN_USERNAME"], CREDENTIALS["ADMIN_PASSWORD"])
    try:
        def up():
            """The management API answers before the node opens its AMQP listener (the
            last step of its boot): wait for both."""
            assert server.poll() is None, (home / "server.out").read_text()[-3000:]
            try:
                if requests.get(f"{api}/overview", auth=admin, timeout=2).status_code != 200:
                    return False
                socket.create_connection(("127.0.0.1", amqp), timeout=2).close()
                return True
            except (requests.ConnectionError, OSError):
                return False
        wait_for(up, timeout=90, interval=0.25, message="our RabbitMQ node did not start")
        yield {"amqp": amqp, "api": api, "admin": admin}
    finally:
        subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node, "stop"], env=env, capture_output=True,
                       timeout=60)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        out.close()
        shutil.rmtree(home, ignore_errors=True)


def connect(broker, vhost="cea"):
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", broker["amqp"], vhost, pika.PlainCredentials(CREDENTIALS["CEA_USERNAME"], CREDENTIALS["CEA_PASSWORD"])))


def test_the_services_user_reaches_its_vhost_only(broker):
    connect(broker).close()
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        connect(broker, vhost="/")
    who = requests.get(f"{broker['api']}/whoami", auth=(CREDENTIALS["CEA_USERNAME"], CREDENTIALS["CEA_PASSWORD"]),
                       timeout=5)
    assert who.status_code == 401  # no management access


def test_every_service_queue_has_its_policy(broker):
    policies = requests.get(f"{broker['api']}/policies/cea", auth=broker["admin"], timeout=5).json()
    by_name = {p["name"]: p for p in policies}
    for service in local.SERVICES:
        assert by_name[f"{service}-events"]["definition"]["dead-letter-routing-key"] == \
            topology.dead_letter_queue(service)


def test_a_message_that_keeps_coming_back_is_dead_lettered_at_the_delivery_limit(broker, monkeypatch):
    monkeypatch.setenv("CEA_QUEUE_TYPE", "quorum")  # as cea-settings sets it
    conn = connect(broker)
    try:
        channel = conn.channel()
        topology.declare_exchange(channel)
        topology.declare_service_queue(channel, "billing", ["test.poison"])
        topology.declare_retry_and_dead_letter(channel, "billing", [1000])
        channel.confirm_delivery()
        channel.basic_publish(topology.EXCHANGE, "test.poison", b"poison", pika.BasicProperties(delivery_mode=2))
        deliveries = []

        def dead_lettered():
            """Each nack with requeue is a consumer that died before its ack."""
            method, _, _ = channel.basic_get(topology.service_queue("billing"))
            if method is not None:
                deliveries.append(method.delivery_tag)
                channel.basic_nack(method.delivery_tag, requeue=True)
                return None
            method, properties, body = channel.basic_get(topology.dead_letter_queue("billing"), auto_ack=True)
            return method and (properties, body)
        properties, body = wait_for(dead_lettered, timeout=30, interval=0.01,
                                    message="the message never reached billing.dead-letter")
        assert body == b"poison"
        assert properties.headers["x-first-death-reason"] == "delivery_limit"
        assert len(deliveries) >= DELIVERY_LIMIT
    finally:
        conn.close()
