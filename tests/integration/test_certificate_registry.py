"""The talent registry: administrators search certificates and export them as CSV."""
import csv
import io
from datetime import datetime, timezone

from tests.support import certificate_flow, people


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T04:00:00").replace(tzinfo=timezone.utc)  # noon in Shanghai


def test_administrators_search_by_name_level_base_dates_and_id_number(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    wang_id = people.id_number(seq=11)
    _, wang = certificate_flow.issue(bus, sink, _at("2026-03-10"), full_name="王小明", id_number=wang_id)
    _, li = certificate_flow.issue(bus, sink, _at("2026-05-20"), full_name="李小红", level="L3",
                                   base_code="B002", base_name="南昌低碳学院")
    _, wang2 = certificate_flow.issue(bus, sink, _at("2026-07-01"), full_name="王大明", base_code="B002",
                                      base_name="南昌低碳学院")
    admin = services.client("certificate", "admin")

    def numbers(**criteria):
        answer = admin.post("/certificate/registry/search", json=criteria)
        assert answer.status_code == 200, answer.text
        return [item["number"] for item in answer.json()["items"]]

    n = {"wang": wang.data["certificate_number"], "li": li.data["certificate_number"],
         "wang2": wang2.data["certificate_number"]}
    assert numbers(name="王") == [n["wang2"], n["wang"]]  # newest first
    assert numbers(name="小红") == [n["li"]]
    assert numbers(level="L3") == [n["li"]]
    assert numbers(base_code="B002") == [n["wang2"], n["li"]]
    assert numbers(issued_from="2026-04-01", issued_to="2026-06-30") == [n["li"]]
    assert numbers(id_number=wang_id) == [n["wang"]]
    assert numbers(id_number=people.id_number(seq=12)) == []
    assert numbers(name="王", base_code="B001") == [n["wang"]]
    assert numbers(name="%") == []  # a wildcard is searched as a character

    page = admin.post("/certificate/registry/search?limit=2&offset=2", json={}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 2)
    assert [i["number"] for i in page["items"]] == [n["wang"]]
    item = page["items"][0]
    assert item["id_number_masked"] == wang.data["id_number_masked"] and "id_number_hash" not in item

    bad_id = admin.post("/certificate/registry/search", json={"id_number": "360402199003071234"})
    assert bad_id.status_code == 422 and "id_number" in bad_id.json()["errors"]
    bad_range = admin.post("/certificate/registry/search", json={"issued_from": "2026-05-01", "issued_to": "2026-04-01"})
    assert bad_range.status_code == 422 and "issued_to" in bad_range.json()["errors"]
    assert admin.post("/certificate/registry/search", json={"level": "L5"}).status_code == 422
    for role, claims in (("base_operator", {"base": "B001"}), ("learner", {}), ("operator", {})):
        assert services.client("certificate", role, **claims).post(
            "/certificate/registry/search", json={}).status_code == 403

    export = admin.post("/certificate/registry/export", json={"base_code": "B002"})
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == [n["li"], n["wang2"]]  # oldest first
    assert rows[0] == {"number": n["li"], "serial": "1", "status": "valid", "holder_name": "李小红",
                       "id_number_masked": li.data["id_number_masked"], "level": "L3",
                       "issued_on": "2026-05-20", "base_code": "B002", "base_name": "南昌低碳学院"}
