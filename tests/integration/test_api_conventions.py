"""architecture.md, "APIs" and "Operations": the same conventions on every service."""
import pytest

from tests.support.services import SERVICE_CLASSES

NAMES = list(SERVICE_CLASSES)


@pytest.fixture
def all_services(services):
    for name in NAMES:
        services.start(name)
    return services


def test_every_service_documents_its_api_with_roles_and_problems(all_services):
    for name in NAMES:
        spec = all_services.anonymous(name).get(f"/{name}/openapi.json").json()
        assert spec["openapi"].startswith("3.") and spec["info"]["title"] == f"{name} API"
        own = [p for p in spec["paths"] if p.startswith(f"/{name}/")]
        assert len(own) >= 3, own
        for path, operations in spec["paths"].items():
            for method, op in operations.items():
                assert op["security"] == [] or op["x-roles"], f"{method} {path} states no roles"
                if "requestBody" in op:
                    assert "422" in op["responses"]
        assert "Problem" in spec["components"]["schemas"]


def test_errors_are_problem_documents_never_html(all_services):
    client = all_services.client("enrollment", "admin")
    unknown = client.get("/enrollment/nothing-here")
    wrong_method = client.request("DELETE", "/enrollment/bases")
    for answer, status in ((unknown, 404), (wrong_method, 405)):
        assert answer.status_code == status
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == status
    invalid = client.post("/enrollment/bases", {"code": "b 1", "name": ""})
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) >= {"code", "name", "contact", "authorized_from"}


def test_roles_are_enforced_from_the_token(all_services):
    anonymous = all_services.anonymous("enrollment")
    assert anonymous.get("/enrollment/enrollments").status_code == 401
    learner = all_services.client("enrollment", "learner")
    refused = learner.post("/enrollment/bases", {})
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/forbidden"
    forged = all_services.anonymous("enrollment")
    forged.session.headers["Authorization"] = "Bearer eyJhbGciOiJub25lIn0.e30."
    assert forged.get("/enrollment/enrollments").status_code == 401


def test_probes_and_metrics(all_services):
    for name in NAMES:
        client = all_services.anonymous(name)
        live = client.get("/health/live").json()
        assert live["status"] == "live" and live["stalled"] == []
        assert {"event-consumer", "outbox-relay"} <= set(live["loops"])
        ready = client.get("/health/ready").json()
        assert ready == {"ready": True, "waiting": {}, "profile": "development",
                         "warning": "development profile: development secrets accepted; not for real use",
                         "checks": {"broker": True, "database": True, "migrations": True, "loops": True}}
        metrics = client.get("/metrics").text
        assert "cea_outbox_backlog" in metrics and "cea_http_requests_total" in metrics
