"""A broker's memory or disk alarm while the relay runs as a process of its own.

The alarm reaches the relay process (the connection that publishes), not the
service. Before, the service never learnt of it: requests that cause events went on
being accepted into an outbox the relay could not empty, and readiness stayed true
(`make chaos` scenario 8: "never refused"). The service now asks its relay process
(`/relay/alarm` on RELAY_HTTP): refused with 503 and not ready while the alarm
lasts, accepted again after. The broker's alarm itself is raised only inside
`make chaos`, never on the shared broker of the tests; here a stand-in of the relay
process's probe says what the relay would."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import enrollment_people as applicants
from tests.support import people
from tests.support.wait import wait_for


class RelayProbe:
    """The relay process's /relay/alarm, saying what the test tells it."""

    def __init__(self):
        probe = self
        self.alarm = ""

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = probe.alarm.encode() if self.path == "/relay/alarm" else b""
                self.send_response(200 if self.path == "/relay/alarm" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay_probe():
    probe = RelayProbe()
    yield probe
    probe.close()


def test_while_the_relay_process_reports_an_alarm_requests_that_emit_are_refused(services, relay_probe):
    services.start("enrollment", OUTBOX_RELAY="false", RELAY_HTTP=relay_probe.address)
    admin = services.client("enrollment", "admin", subject="admin-1")
    assert admin.post("/enrollment/bases", people.base("B001")).status_code == 201
    operator = services.client("enrollment", "base_operator", base="B001", subject="op-1")
    anonymous = services.anonymous("enrollment")

    relay_probe.alarm = "the broker refuses publishes (resource alarm)"
    wait_for(lambda: anonymous.get("/health/ready").status_code == 503, timeout=10,
             message="ready while the broker refuses publishes")
    refused = operator.post("/enrollment/enrollments", applicants.application(id_number=applicants.id_number()))
    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "refuses new messages" in refused.json()["detail"]
    assert operator.get("/enrollment/enrollments").json()["total"] == 0  # nothing recorded

    relay_probe.alarm = ""
    wait_for(lambda: anonymous.get("/health/ready").status_code == 200, timeout=10)
    accepted = operator.post("/enrollment/enrollments", applicants.application(id_number=applicants.id_number()))
    assert accepted.status_code == 201, accepted.text


def test_a_relay_process_that_does_not_answer_is_no_alarm(services):
    # Its own probes report it down; the outbox keeps what the service commits meanwhile.
    services.start("enrollment", OUTBOX_RELAY="false", RELAY_HTTP="127.0.0.1:9")
    admin = services.client("enrollment", "admin", subject="admin-1")
    assert admin.post("/enrollment/bases", people.base("B001")).status_code == 201
    assert services.anonymous("enrollment").get("/health/ready").status_code == 200
