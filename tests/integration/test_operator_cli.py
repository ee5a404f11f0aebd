"""The operator's command line (`python -m shared.ops`, behind `make queues`,
`make dead-letters`, `make replay`, `make discard`, `make trace`) as an operator and
a script meet it: one-line errors, event ids by prefix, --json, the gateway."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import amqp
import pytest

from shared.messaging import topology
from shared.messaging.broker import connect
from shared.tokens import mint
from tests.support import events
from tests.support.gateway import RunningGateway
from tests.support.processes import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend():
    return "sqlite"


def ops(*args, **env):
    """Run the command as make does; (exit status, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "shared.ops", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **env}, timeout=120)
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(status, err, *words):
    assert status == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_a_missing_management_api_is_one_line(amqp_uri):
    status, _, err = ops("queues", AMQP_URI=amqp_uri, RABBIT_API=f"http://guest:secret@127.0.0.1:{free_port()}/api")
    assert_one_line_error(status, err, "management API", "rabbitmq_management", "RABBIT_API")
    assert "secret" not in err


def test_a_down_broker_is_one_line():
    status, _, err = ops("dead-letters", "list", "billing", AMQP_URI=f"amqp://guest:secret@127.0.0.1:{free_port()}/")
    assert_one_line_error(status, err, "not reachable", "connection refused", "AMQP_URI")
    assert "secret" not in err


def test_an_unknown_service_is_one_line(amqp_uri):
    status, _, err = ops("dead-letters", "list", "payroll", AMQP_URI=amqp_uri)
    assert_one_line_error(status, err, "unknown service 'payroll'", "enrollment, billing")


def test_a_service_whose_dead_letter_queue_does_not_exist_yet_is_one_line(amqp_uri):
    status, _, err = ops("dead-letters", "list", "exam", AMQP_URI=amqp_uri)
    assert_one_line_error(status, err, "exam has no dead-letter queue")


def test_queues_as_json_for_scripts(amqp_uri):
    _put_dead_letters(amqp_uri, ["0badcafe-0000-4000-8000-000000000001"])
    rows = wait_for(lambda: _queues_when(amqp_uri, lambda rows: rows["billing.dead-letter"]["ready"] == 1),
                    timeout=30, message="the management API never counted the dead letter")
    assert rows["billing.dead-letter"]["dead_letters"] is True
    assert rows["billing.events"]["consumers"] == 0 and rows["billing.events"]["dead_letters"] is False


def _queues_when(uri, condition):
    """`queues --json` once the management API's statistics (refreshed every few
    seconds) show what the test did."""
    status, out, err = ops("queues", "--json", AMQP_URI=uri)
    assert status == 0, err
    rows = {r["queue"]: r for r in json.loads(out)}
    return rows if condition(rows) else None


def _put_dead_letters(uri, ids):
    conn = connect(uri, name="test-dead-letters")
    channel = conn.channel()
    topology.declare_exchange(channel)
    topology.declare_service_queue(channel, "billing", {"enrollment.enrolled"})
    topology.declare_retry_and_dead_letter(channel, "billing", [1000])
    for event_id in ids:  # confirmed: queued before the operator lists them
        channel.basic_publish_confirm(amqp.Message(b'{"id": "%s"}' % event_id.encode(), message_id=event_id,
                                           type="enrollment.enrolled", delivery_mode=2, application_headers={
                                               "x-cea-attempts": 5, "x-cea-reason": "gave-up",
                                               "x-cea-error": "KeyError: 'fee'"}),
                              exchange="", routing_key=topology.dead_letter_queue("billing"))
    conn.collect()


def test_dead_letters_are_shown_and_taken_by_id_prefix(amqp_uri):
    twins = ["abcdef12-1111-4000-8000-000000000001", "abcdef12-2222-4000-8000-000000000002"]
    other = "5e1f0a9b-3333-4000-8000-000000000003"
    _put_dead_letters(amqp_uri, [*twins, other])

    status, out, _ = ops("dead-letters", "list", "billing", AMQP_URI=amqp_uri)
    assert status == 0
    assert "5e1f0a9b " in out + " "  # 8 characters where they tell it apart
    assert "abcdef12-1" in out and "abcdef12-2" in out  # longer where 8 would look alike

    status, out, _ = ops("dead-letters", "list", "billing", "--json", AMQP_URI=amqp_uri)
    listed = json.loads(out)
    assert {d["event_id"] for d in listed} == {*twins, other}  # whole ids for scripts
    assert {d["shown_id"] for d in listed} == {"abcdef12-1", "abcdef12-2", "5e1f0a9b"}

    status, _, err = ops("dead-letters", "show", "billing", "abcdef", AMQP_URI=amqp_uri)
    assert_one_line_error(status, err, "start of 2", "abcdef12-1", "abcdef12-2")
    status, _, err = ops("dead-letters", "show", "billing", "5e1", AMQP_URI=amqp_uri)
    assert_one_line_error(status, err, "at least 4 characters")
    status, _, err = ops("dead-letters", "show", "billing", "ffff", AMQP_URI=amqp_uri)
    assert_one_line_error(status, err, "no billing dead letter with an id starting 'ffff'")

    status, out, _ = ops("dead-letters", "show", "billing", "5e1f", "--json", AMQP_URI=amqp_uri)
    assert status == 0 and json.loads(out)["event_id"] == other

    status, out, _ = ops("dead-letters", "replay", "billing", "abcdef12-2", "--json", AMQP_URI=amqp_uri)
    assert status == 0 and json.loads(out) == {"replayed": [twins[1]]}
    status, out, _ = ops("dead-letters", "discard", "billing", "5e1f0a", AMQP_URI=amqp_uri)
    assert status == 0 and other in out
    status, out, _ = ops("dead-letters", "list", "billing", "--json", AMQP_URI=amqp_uri)
    assert [d["event_id"] for d in json.loads(out)] == [twins[0]]
    wait_for(lambda: _queues_when(amqp_uri, lambda rows: rows["billing.events"]["ready"] == 1),
             timeout=30, message="the replayed letter is not back on billing's queue")


# -- trace --------------------------------------------------------------------------

@pytest.fixture
def billing_with_a_journey(services, bus, keys):
    services.start("billing")
    sink = bus.sink("billing.order-opened")
    enrolled = events.enrolled()
    bus.publish(enrolled)
    sink.expect("billing.order-opened")
    return str(enrolled.correlation_id), {"OPERATOR_TOKEN": mint(keys.private, "operator"),
                                          "AMQP_URI": services.amqp_uri}


def test_trace_through_the_gateway_with_prefixed_ids_and_json(services, billing_with_a_journey, tmp_path):
    journey, env = billing_with_a_journey
    others = {s: f"127.0.0.1:{free_port()}" for s in ("enrollment", "learning", "exam", "certificate")}
    gateway = RunningGateway(tmp_path / "gateway", {"billing": services.url("billing")[len("http://"):],
                                                    **others}).start()
    try:
        status, out, err = ops("trace", journey, "--via", gateway.url, "--json", **env)
        assert status == 0, err
        rows = json.loads(out)
        assert sorted((r["service"], r["direction"], r["type"]) for r in rows) == [
            ("billing", "emitted", "billing.order-opened"), ("billing", "handled", "enrollment.enrolled")]
        assert all(r["shown_id"] == r["event_id"][:8] for r in rows)
        # the services the gateway cannot reach are named, on stderr, not a traceback
        assert "exam: " in err and "502" in err and "Traceback" not in err

        status, out, _ = ops("trace", journey, GATEWAY_URL=gateway.url, **env)
        assert status == 0 and "billing.order-opened" in out and rows[0]["event_id"][:8] in out
    finally:
        gateway.stop()


def test_trace_of_an_unknown_id_says_so(services, billing_with_a_journey, tmp_path):
    _, env = billing_with_a_journey
    gateway = RunningGateway(tmp_path / "gateway", {"billing": services.url("billing")[len("http://"):]}).start()
    try:
        status, _, err = ops("trace", str(uuid.uuid4()), "--via", gateway.url, **env)
        assert "no service has an event of journey" in err.splitlines()[-1] and status == 1
        status, _, err = ops("trace", "not-an-id", "--via", gateway.url, **env)
        assert_one_line_error(status, err, "'not-an-id' is not an enrollment id")
        status, _, err = ops("trace", str(uuid.uuid4()), "--via", f"http://127.0.0.1:{free_port()}", **env)
        assert "no service answered" in err.splitlines()[-1] and status == 1
    finally:
        gateway.stop()
