"""`make run`'s supervisor: a killed service comes back by itself, one that stops
answering is restarted, and `make run` on a running stack starts what is not
running instead of calling it running."""
import os
import signal

import pytest
import requests

from shared.ops.local import Program, Stack, service_command
from tests.support.processes import free_port
from tests.support.services import TEST_SETTINGS
from tests.support.wait import wait_for


@pytest.fixture
def stack(tmp_path, amqp_uri, keys):
    key_file = tmp_path / "jwt-public.pem"
    key_file.write_bytes(keys.public)
    port = free_port()
    env = {**os.environ, "AMQP_URI": amqp_uri, "BILLING_HTTP": f"127.0.0.1:{port}",
           "BILLING_DATABASE_URL": f"sqlite:///{tmp_path}/billing.sqlite3",
           "JWT_PUBLIC_KEY_FILE": str(key_file), "CEA_ID_HASH_KEY": TEST_SETTINGS["ID_HASH_KEY"],
           "BILLING_QR_PROVIDER_SECRETS": TEST_SETTINGS["QR_PROVIDER_SECRETS"]}
    url = f"http://127.0.0.1:{port}"
    running = Stack(tmp_path / "var", [Program("billing", service_command("billing"), live=url + "/health/live",
                                               ready=url + "/health/ready")],
                    env=env, watchdog_failures=2, watchdog_grace=2)
    running.up()
    assert running.wait_ready(60) == []
    yield running
    running.down()


def _restarted(stack, old_pid):
    return stack.status()["billing"]["statename"] == "RUNNING" and stack.pid("billing") != old_pid \
        and stack.wait_ready(1) == []


def test_a_killed_service_is_started_again(stack):
    pid = stack.pid("billing")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _restarted(stack, pid), timeout=30, message="the killed service never came back")


def test_a_service_that_stops_answering_is_restarted(stack):
    pid = stack.pid("billing")
    os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        wait_for(lambda: _restarted(stack, pid), timeout=60, message="the silent service was left as it was")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_make_run_again_starts_what_is_not_running(stack):
    stack.rpc().supervisor.stopProcess("billing", True)
    assert stack.status()["billing"]["statename"] == "STOPPED"
    said = []
    stack.up(say=said.append)
    assert any("was stopped: starting it" in s for s in said)
    assert stack.wait_ready(60) == []
    assert requests.get(stack.programs[0].live, timeout=5).status_code == 200
