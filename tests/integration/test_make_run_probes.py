"""What `make run` finds on a machine before deciding what to install (shared/ops/infra.py),
probed for real on the machine the tests run on: the broker and its management API are
up (the tests need them), nginx is installed (ensure-infra.sh installs it)."""
import os

from shared.ops import infra
from shared.ops.local import SERVICES
from tests.support.gateway import require_nginx
from tests.support.processes import free_port


def test_on_this_machine_as_it_is_it_finds_what_is_there():
    """The probes themselves, on the machine the tests run on (broker and management up)."""
    found = infra.find({**os.environ, "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"}, list(SERVICES),
                       postgres=False)
    assert found.broker_up and found.management_up and found.broker_local
    require_nginx()
    assert found.nginx_installed
    assert infra.plan(found, list(SERVICES)) == []


def test_a_broker_on_another_port_of_this_machine_is_not_started_from_debians_package():
    found = infra.find({**os.environ, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/"},
                       list(SERVICES), postgres=False)
    assert not found.broker_up and not found.broker_local
    assert not any(step.what == "start RabbitMQ" for step in infra.plan(found, list(SERVICES)))
