"""`make run` on a machine that lacks what it needs (shared/ops/infra.py): as root it
installs and starts it from Debian's packages (RabbitMQ with management, nginx;
PostgreSQL only when asked), otherwise it prints the exact commands."""
from shared.ops import infra
from shared.ops.local import SERVICES

FRESH = infra.Found(broker_local=True, rabbitmq_installed=False, broker_up=False, management_up=False,
                    nginx_installed=False)
READY = infra.Found(broker_local=True, rabbitmq_installed=True, broker_up=True, management_up=True,
                    nginx_installed=True)
SERVICE_NAMES = list(SERVICES)


def commands(steps):
    return [line for step in steps for line in step.commands]


def test_a_fresh_debian_machine_gets_rabbitmq_with_management_and_nginx_but_no_postgresql():
    lines = commands(infra.plan(FRESH, SERVICE_NAMES))
    assert lines == [
        "apt-get update -q",
        f"{infra.APT} rabbitmq-server",
        f"{infra.APT} nginx",
        "rabbitmq-server -detached",
        "rabbitmqctl await_startup --timeout 120",
        "rabbitmq-plugins enable rabbitmq_management",
    ]
    assert not any("postgres" in line for line in lines)


def test_postgresql_only_when_asked_with_a_database_and_role_per_service():
    steps = infra.plan(READY, SERVICE_NAMES, postgres=True)
    lines = commands(steps)
    assert f"{infra.APT} postgresql" in lines
    assert any(line.startswith("pg_ctlcluster --skip-systemctl-redirect") for line in lines)
    assert sum("CREATE ROLE cea LOGIN" in line for line in lines) == 1
    for service in SERVICE_NAMES:
        assert any(line.endswith(f"createdb -O cea cea_{service}") for line in lines)
    assert infra.postgres_url("exam") == "postgresql://cea:cea@127.0.0.1:5432/cea_exam"
    assert infra.plan(READY, SERVICE_NAMES) == []


def test_a_broker_elsewhere_is_not_ours_to_install_or_start():
    remote = infra.Found(broker_local=False, rabbitmq_installed=False, broker_up=False, management_up=False,
                         nginx_installed=True)
    assert infra.plan(remote, SERVICE_NAMES) == []


def test_without_root_it_prints_the_exact_commands_and_stops_without_a_broker():
    said = []
    assert infra.ensure({}, SERVICE_NAMES, say=said.append, is_root=False, found=FRESH) is False
    assert said[0] == "This machine lacks what `make run` needs; as root (sudo), run:"
    assert f"  {infra.APT} rabbitmq-server" in said and "  rabbitmq-server -detached" in said
    assert "  # install nginx (the gateway) (optional)" in said


def test_without_root_a_missing_nginx_alone_does_not_stop_make_run():
    said = []
    only_nginx = infra.Found(**{**READY.__dict__, "nginx_installed": False})
    assert infra.ensure({}, SERVICE_NAMES, say=said.append, is_root=False, found=only_nginx) is True
    assert f"  {infra.APT} nginx" in said


def test_as_root_it_runs_the_commands_in_order_and_stops_when_an_essential_one_fails():
    ran = []
    assert infra.ensure({}, SERVICE_NAMES, say=lambda _: None, is_root=True, found=FRESH,
                        shell=lambda line: ran.append(line) or 0) is True
    assert ran == commands(infra.plan(FRESH, SERVICE_NAMES))
    ran.clear()
    said = []
    failing = lambda line: ran.append(line) or (1 if "rabbitmq-server -detached" in line else 0)  # noqa: E731
    assert infra.ensure({}, SERVICE_NAMES, say=said.append, is_root=True, found=FRESH, shell=failing) is False
    assert ran[-1] == "rabbitmq-server -detached"  # nothing after the failed start
    assert "could not start RabbitMQ" in said[-1]
