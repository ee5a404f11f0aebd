"""Enrollment through its HTTP API with the real broker and database."""
from tests.support import people


def test_authorized_base_enrolls_and_enrolled_is_published(services, bus):
    sink = bus.sink("enrollment.enrolled")
    services.start("enrollment")
    admin = services.client("enrollment", "admin")
    assert admin.post("/enrollment/bases", people.base("B001")).status_code == 201
    operator = services.client("enrollment", "base_operator", base="B001")

    answer = operator.post("/enrollment/enrollments", people.application(id_number="36040219900307001X" if False else people.id_number(seq=7)))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "submitted"
    assert body["id_number_masked"].startswith("3604") and "*" * 10 in body["id_number_masked"]

    event = sink.expect("enrollment.enrolled")
    assert str(event.data["enrollment_id"]) == body["enrollment_id"]
    assert event.correlation_id == event.data["enrollment_id"]
    assert "id_number" not in event.data
