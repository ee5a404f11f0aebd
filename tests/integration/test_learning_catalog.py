"""Catalog versions through the API: administrators read and publish them; a new
version applies to accounts opened after it, an open account keeps its own."""
import copy

from tests.support.learning_accounts import open_account, study


def _catalog_data(client, version):
    catalog = client.get(f"/learning/catalog/versions/{version}").json()
    return {"version": catalog["version"], "minutes_per_class_hour": catalog["minutes_per_class_hour"],
            "courses": catalog["courses"], "programs": catalog["programs"]}


def test_a_published_version_applies_to_new_accounts_and_an_open_account_keeps_its_own(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning")
    admin = services.client("learning", "admin", subject="admin-1")
    versions = admin.get("/learning/catalog/versions").json()["items"]
    assert [(v["version"], v["current"], v["published_by"]) for v in versions] == [("2026.1", True, "shipped")]
    assert versions[0]["program_class_hours"] == {"L4": 85, "L3": 117}
    old_eid, old_opened, old_learner = open_account(services, bus, sink)

    data = _catalog_data(admin, "2026.1")
    data["version"] = "2027.1"
    data["programs"]["L4"] = [c for c in data["programs"]["L4"] if c != "M07"] + ["M06"]  # 2 h for 2 h
    data["note"] = "M06 replaces M07 in L4"
    published = admin.post("/learning/catalog/versions", data)
    assert published.status_code == 201, published.text
    assert published.json()["program_class_hours"]["L4"] == 85
    listed = admin.get("/learning/catalog/versions").json()["items"]
    assert [(v["version"], v["current"]) for v in listed] == [("2026.1", False), ("2027.1", True)]
    assert listed[1]["published_by"] == "admin-1" and listed[1]["note"] == "M06 replaces M07 in L4"
    assert admin.get("/learning/catalog").json()["version"] == "2027.1"

    new_eid, new_opened, new_learner = open_account(services, bus, sink)
    assert old_opened.data["catalog_version"] == "2026.1"
    assert new_opened.data["catalog_version"] == "2027.1"
    assert study(old_learner, old_eid, "M06", 30).json()["type"] == "/problems/course-not-in-program"
    assert study(old_learner, old_eid, "M07", 30).status_code == 200
    assert study(new_learner, new_eid, "M06", 30).status_code == 200
    assert study(new_learner, new_eid, "M07", 30).status_code == 422
    old_view = old_learner.get(f"/learning/accounts/{old_eid}").json()
    codes = {c["code"] for c in old_view["courses"]}
    assert old_view["catalog_version"] == "2026.1" and "M07" in codes and "M06" not in codes
    assert old_learner.get("/learning/catalog/versions/2026.1").status_code == 200


def test_a_catalog_that_breaks_a_rule_is_refused_with_the_rule_and_nothing_is_published(services, bus):
    services.start("learning")
    admin = services.client("learning", "admin")
    good = _catalog_data(admin, "2026.1")
    good["version"] = "2027.2"

    unknown = copy.deepcopy(good)
    unknown["programs"]["L4"].append("X99")
    answer = admin.post("/learning/catalog/versions", unknown)
    assert answer.status_code == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/catalog-refused"
    assert answer.json()["rules"][0]["rule"] == "UNKNOWN_COURSE" and "X99" in answer.json()["detail"]

    short = copy.deepcopy(good)
    short["programs"]["L4"] = short["programs"]["L4"][:20]  # the foundation and a few: 60 class hours
    answer = admin.post("/learning/catalog/versions", short)
    assert answer.status_code == 422 and answer.json()["rules"][0]["rule"] == "PROGRAM_HOURS"
    assert "80-120" in answer.json()["detail"]

    shapeless = {k: v for k, v in good.items() if k != "courses"}
    answer = admin.post("/learning/catalog/versions", shapeless)
    assert answer.status_code == 422 and "courses" in answer.json()["errors"]
    again = copy.deepcopy(good)
    again["version"] = "2026.1"
    assert admin.post("/learning/catalog/versions", again).json()["type"] == "/problems/catalog-version-exists"
    assert services.client("learning", "learner").post("/learning/catalog/versions", good).status_code == 403
    assert admin.get("/learning/catalog/versions/1999.9").status_code == 404

    assert [v["version"] for v in admin.get("/learning/catalog/versions").json()["items"]] == ["2026.1"]
    assert admin.post("/learning/catalog/versions", good).status_code == 201  # the valid one still goes in


def test_a_repeated_publication_answers_the_version_and_different_content_under_it_is_refused(services):
    services.start("learning")
    admin = services.client("learning", "admin", subject="admin-1")
    data = _catalog_data(admin, "2026.1")
    data["version"] = "2027.2"
    first = admin.post("/learning/catalog/versions", data)
    again = admin.post("/learning/catalog/versions", data)
    assert first.status_code == 201 and again.status_code == 200 and again.json() == first.json()
    changed = copy.deepcopy(data)
    changed["minutes_per_class_hour"] += 5
    refused = admin.post("/learning/catalog/versions", changed)
    assert refused.status_code == 409 and refused.json()["version"] == "2027.2"
    assert [v["version"] for v in admin.get("/learning/catalog/versions").json()["items"]] == ["2026.1", "2027.2"]
