"""The gateway (Debian's nginx, deploy/gateway/nginx.conf) as a frontend meets it:
one port routing by prefix, CORS for the configured origins, the client's address
appended to X-Forwarded-For, body limits per route, the documentation page, and
problem+json for its own refusals.

What the gateway forwards is seen on a stand-in upstream that echoes each request
(tests/support/echo.py); routing and the documentation page are checked against the
real services."""
import re
import shutil
import subprocess

import pytest
import requests
import yaml

from shared.ops import local
from shared.ops.gateway import NGINX_CONF, Gateway, GatewaySettingError, parse_origins
from shared.ops.local import Program, Stack
from tests.integration.test_certificate_page_browser import browser  # noqa: F401 (fixture)
from tests.support.echo import EchoUpstream
from tests.support.gateway import RunningGateway, require_nginx
from tests.support.processes import free_port

FRONTEND = "https://admin.cea.example.cn"
ROOT = NGINX_CONF.parents[2]


@pytest.fixture
def backend():
    """The gateway does not care which database a service uses: SQLite only."""
    return "sqlite"


@pytest.fixture
def echo():
    with EchoUpstream() as upstream:
        yield upstream


@pytest.fixture
def gateway_to_echo(tmp_path, echo):
    """enrollment, billing and certificate answered by the echo upstream."""
    gateway = RunningGateway(tmp_path / "gateway", {"enrollment": echo.address, "billing": echo.address,
                                                    "certificate": echo.address},
                             origins=[FRONTEND]).start()
    yield gateway
    gateway.stop()


def _problem(answer, status, slug):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["type"] == f"/problems/{slug}"
    return body


# -- routing ------------------------------------------------------------------------

def test_each_service_answers_under_its_prefix_on_the_one_port(services, tmp_path):
    for name in local.SERVICES:
        services.start(name)
    gateway = RunningGateway(tmp_path / "gateway", {n: services.url(n)[len("http://"):] for n in local.SERVICES})
    gateway.start()
    try:
        for name in local.SERVICES:
            answer = requests.get(f"{gateway.url}/{name}/openapi.json", timeout=10)
            assert answer.status_code == 200 and answer.json()["info"]["title"] == f"{name} API"
        refused = requests.get(f"{gateway.url}/enrollment/enrollments/{'0' * 8}-0000-0000-0000-{'0' * 12}",
                               timeout=10)
        assert refused.status_code == 401  # the service's own answer, passed through
        assert refused.headers["Content-Type"] == "application/problem+json"
        _problem(requests.get(f"{gateway.url}/payroll/people", timeout=10), 404, "not-found")
        # The services' own probes and metrics are not published to frontends.
        for path in ("/metrics", "/health/ready", "/health/live"):
            _problem(requests.get(gateway.url + path, timeout=10), 404, "not-found")
    finally:
        gateway.stop()


def test_a_sixth_service_is_one_line_of_the_environment(tmp_path, echo):
    """Adding a service (identity) to the gateway is its line in environment/http.conf."""
    gateway = RunningGateway(tmp_path / "gateway", {"enrollment": "127.0.0.1:1", "identity": echo.address})
    gateway.start()
    try:
        before = (NGINX_CONF.read_text(), (gateway.config.directory / "environment/http.conf").read_text())
        assert "identity" not in before[0]
        assert [line for line in before[1].splitlines() if "identity" in line] == [
            f"    identity    {echo.address};"]
        answer = requests.get(f"{gateway.url}/identity/sessions", timeout=10)
        assert answer.status_code == 200 and answer.json()["path"] == "/identity/sessions"
    finally:
        gateway.stop()


def test_a_service_that_does_not_answer_is_a_502_problem(gateway_to_echo, tmp_path):
    gateway = RunningGateway(tmp_path / "other", {"exam": f"127.0.0.1:{free_port()}"}).start()
    try:
        body = _problem(requests.get(f"{gateway.url}/exam/sittings", timeout=10), 502, "service-unreachable")
        assert "exam" in body["detail"]
    finally:
        gateway.stop()


def test_the_path_and_query_reach_the_service_as_sent(gateway_to_echo, echo):
    answer = requests.get(f"{gateway_to_echo.url}/billing/statements/abc/lines",
                          params={"state": "matched", "name": "王芳"}, timeout=10)
    assert answer.json()["path"] == "/billing/statements/abc/lines?state=matched&name=%E7%8E%8B%E8%8A%B3"
    assert answer.headers["X-Request-Id"] == echo.seen[-1]["headers"]["X-Request-Id"]


# -- the client's address ----------------------------------------------------------

def test_the_client_address_is_appended_to_x_forwarded_for(gateway_to_echo, echo):
    """The services count trusted hops from the right: the gateway's entry is the last,
    and whatever a client wrote itself stays to the left of it."""
    requests.get(f"{gateway_to_echo.url}/enrollment/bases", timeout=10)
    assert echo.seen[-1]["headers"]["X-Forwarded-For"] == "127.0.0.1"
    requests.get(f"{gateway_to_echo.url}/enrollment/bases", headers={"X-Forwarded-For": "203.0.113.9"},
                 timeout=10)
    assert echo.seen[-1]["headers"]["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert echo.seen[-1]["headers"]["X-Forwarded-Proto"] == "http"


# -- CORS ----------------------------------------------------------------------------

def test_a_preflight_from_a_frontend_is_answered_by_the_gateway(gateway_to_echo, echo):
    answer = requests.options(f"{gateway_to_echo.url}/enrollment/enrollments", timeout=10, headers={
        "Origin": FRONTEND, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "Origin" in answer.headers["Vary"]
    assert echo.seen == []  # never reached the service


def test_a_preflight_from_another_origin_is_refused(gateway_to_echo, echo):
    answer = requests.options(f"{gateway_to_echo.url}/enrollment/enrollments", timeout=10,
                              headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    _problem(answer, 403, "origin-not-allowed")
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert echo.seen == []


def test_answers_to_a_frontend_carry_its_origin_and_others_none(gateway_to_echo):
    ok = requests.get(f"{gateway_to_echo.url}/billing/orders", headers={"Origin": FRONTEND}, timeout=10)
    assert ok.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "Location" in ok.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Methods" not in ok.headers  # only on preflights
    # the gateway's own refusals too, so that a frontend can read them
    missing = requests.get(f"{gateway_to_echo.url}/nothing/here", headers={"Origin": FRONTEND}, timeout=10)
    assert missing.headers["Access-Control-Allow-Origin"] == FRONTEND
    other = requests.get(f"{gateway_to_echo.url}/billing/orders", headers={"Origin": "https://evil.example"},
                         timeout=10)
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_an_origin_that_is_not_an_origin_is_refused_by_name():
    assert parse_origins("https://a.example.cn, http://localhost:5173/") == [
        "https://a.example.cn", "http://localhost:5173"]
    with pytest.raises(GatewaySettingError, match="GATEWAY_CORS_ORIGINS"):
        parse_origins('https://a.example.cn" $x; #')


# -- body sizes -----------------------------------------------------------------------

def test_a_json_route_takes_at_most_one_megabyte(gateway_to_echo, echo):
    url = f"{gateway_to_echo.url}/enrollment/enrollments"
    fits = requests.post(url, data=b"x" * (1024 * 1024 - 100), timeout=30)
    assert fits.status_code == 200 and echo.seen[-1]["body_bytes"] == 1024 * 1024 - 100
    body = _problem(requests.post(url, data=b"x" * (1024 * 1024 + 1), timeout=30), 413, "body-too-large")
    assert "1 MB" in body["detail"]
    assert len(echo.seen) == 1  # the large one never reached the service


def test_the_roster_statement_and_certificate_import_uploads_take_large_files(gateway_to_echo, echo):
    roster = requests.post(f"{gateway_to_echo.url}/enrollment/bulk-enrollments", data=b"r" * (7 * 1024 * 1024),
                           headers={"Content-Type": "text/csv"}, timeout=60)
    assert roster.status_code == 200 and echo.seen[-1]["body_bytes"] == 7 * 1024 * 1024
    statement = requests.post(f"{gateway_to_echo.url}/billing/statements?charset=gbk",
                              data=b"s" * (30 * 1024 * 1024), headers={"Content-Type": "text/csv"}, timeout=60)
    assert statement.status_code == 200 and echo.seen[-1]["body_bytes"] == 30 * 1024 * 1024
    assert echo.seen[-1]["path"] == "/billing/statements?charset=gbk"
    imported = requests.post(f"{gateway_to_echo.url}/certificate/imports", data=b"c" * (7 * 1024 * 1024),
                             headers={"Content-Type": "text/csv"}, timeout=60)
    assert imported.status_code == 200 and echo.seen[-1]["body_bytes"] == 7 * 1024 * 1024
    too_big = requests.post(f"{gateway_to_echo.url}/enrollment/bulk-enrollments",
                            data=b"r" * (8 * 1024 * 1024 + 1), headers={"Content-Type": "text/csv"}, timeout=60)
    assert "8 MB" in _problem(too_big, 413, "body-too-large")["detail"]
    # the large limits are those routes only, not their neighbours
    _problem(requests.post(f"{gateway_to_echo.url}/billing/statements/x", data=b"s" * (2 * 1024 * 1024),
                           timeout=60), 413, "body-too-large")
    assert len(echo.seen) == 3


# -- the documentation page --------------------------------------------------------

def test_the_documentation_page_lists_every_api_and_loads_nothing_from_elsewhere(gateway_to_echo):
    page = requests.get(f"{gateway_to_echo.url}/docs/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("./") for a in assets), assets
    for asset in assets:
        assert requests.get(f"{gateway_to_echo.url}/docs/{asset[2:]}", timeout=10).status_code == 200, asset
    initializer = requests.get(f"{gateway_to_echo.url}/docs/swagger-initializer.js", timeout=10).text
    assert '{"name": "enrollment", "url": "/enrollment/openapi.json"}' in initializer
    assert "validatorUrl: null" in initializer and "http" not in initializer
    assert requests.get(gateway_to_echo.url + "/", allow_redirects=False, timeout=10).headers["Location"] == "/docs/"


def test_a_person_reads_an_api_on_the_documentation_page(services, tmp_path, browser):  # noqa: F811
    """In a real browser, under the page's own Content-Security-Policy (default-src
    'self'): Swagger UI runs and shows the services' documents through the gateway."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import Select, WebDriverWait

    for name in ("enrollment", "certificate"):
        services.start(name)
    gateway = RunningGateway(tmp_path / "gateway", {n: services.url(n)[len("http://"):]
                                                    for n in ("enrollment", "certificate")}).start()
    try:
        browser.get(gateway.url + "/docs/")
        title = (By.CSS_SELECTOR, ".information-container .title")
        WebDriverWait(browser, 20).until(seen.text_to_be_present_in_element(title, "enrollment API"))
        Select(browser.find_element(By.ID, "select")).select_by_visible_text("certificate")
        WebDriverWait(browser, 20).until(seen.text_to_be_present_in_element(title, "certificate API"))
        operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        assert any(o.text.startswith("/certificate/verify") for o in operations)
    finally:
        gateway.stop()


# -- the same file under compose, and under `make run` ---------------------------

def test_the_compose_environment_passes_nginx_and_names_every_service(tmp_path):
    nginx = require_nginx()
    shutil.copyfile(NGINX_CONF, tmp_path / "nginx.conf")
    shutil.copytree(ROOT / "deploy/gateway/compose", tmp_path / "environment")
    done = subprocess.run([nginx, "-t", "-q", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
                           "-e", "stderr", "-g", f"pid {tmp_path}/nginx.pid;"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "environment/http.conf").read_text()
    named = dict(re.findall(r"^\s+([a-z][a-z0-9-]*)\s+([a-z0-9-]+:\d+);$", lines, re.M))
    assert set(local.SERVICES) <= set(named)
    compose = yaml.safe_load((ROOT / "deploy/compose/compose.yaml").read_text())["services"]
    for name, address in named.items():
        host, port = address.split(":")
        assert host in compose, f"{host} is not a compose service"
        bind = compose[host].get("environment", {}).get(f"{name.upper()}_HTTP")
        if bind:  # where compose says the service listens, the gateway calls it there
            assert bind.endswith(f":{port}"), (name, bind, port)


def test_make_run_keeps_the_gateway_running_as_one_more_program(tmp_path, echo):
    nginx = require_nginx()
    env = {"GATEWAY_HTTP": f"127.0.0.1:{free_port()}", "GATEWAY_CORS_ORIGINS": FRONTEND,
           **{f"{s.upper()}_HTTP": echo.address for s in local.SERVICES}}
    program = local.gateway_program(local.local_gateway(env))
    assert program.name == "gateway" and program.command[0] == nginx
    assert [p.name for p in local.default_stack(env).programs] == [*local.SERVICES, "mailsink", "paystand",
                                                                 "gateway"]
    # The same program, in a folder of its own, under supervisord.
    gateway = Gateway(tmp_path / "gateway", env["GATEWAY_HTTP"], {"billing": echo.address}, [FRONTEND])
    gateway.write()
    stack = Stack(tmp_path / "var", [Program("gateway", gateway.command(nginx), live=gateway.health_url,
                                             ready=gateway.health_url)], env={})
    stack.up()
    try:
        assert stack.wait_ready(30) == []
        assert requests.get(f"{gateway.url}/billing/orders", timeout=10).json()["path"] == "/billing/orders"
    finally:
        stack.down()
