"""What `make dead-letters ... show` prints for an operator: ids, times and codes of
an event, never the person in it."""
import json

from shared.ops.deadletters import DeadLetter, operational_view


def test_a_shown_dead_letter_withholds_every_personal_value_and_keeps_ids_and_times():
    event = {"id": "e-1", "type": "enrollment.enrolled", "version": 1, "correlation_id": "j-1",
             "occurred_at": "2026-11-20T08:00:00Z", "producer": "enrollment",
             "data": {"enrollment_id": "j-1", "learner_id": "l-1", "level": "L4", "full_name": "张三",
                      "id_number_masked": "3604**********1234", "id_number_hash": "ab" * 32,
                      "base_name": "江西碳排放培训基地", "enrolled_at": "2026-11-20T08:00:00Z"}}
    letter = DeadLetter(1, "e-1", "enrollment.enrolled", {"x-cea-error": "boom"},
                        json.dumps(event, ensure_ascii=False).encode())
    shown = operational_view(letter)
    printed = json.dumps(shown, ensure_ascii=False)
    for personal in ("张三", "3604", "ab" * 32, "江西"):
        assert personal not in printed
    assert shown["event"]["data"]["enrollment_id"] == "j-1" and shown["event"]["data"]["level"] == "L4"
    assert shown["event"]["correlation_id"] == "j-1" and shown["headers"] == {"x-cea-error": "boom"}
    assert "withheld" in operational_view(DeadLetter(2, "e-2", "x", {}, b"\xff not json"))["body"]
