"""What the other services now tell identity, from their side of the broker:
enrollment's learner mobile, base authorization changes and finished rosters; exam's
confirmed registrations."""
import csv
import io

from tests.support import enrollment_people as applicants
from tests.support import people
from tests.support.exam_flow import candidate, registered, sitting


def test_enrollment_tells_of_the_mobile_base_changes_and_finished_rosters(services, bus):
    sink = bus.sink("enrollment.enrolled", "enrollment.base-authorization-changed", "enrollment.roster-finished")
    services.start("enrollment")
    admin = services.client("enrollment", "admin", subject="admin-1")
    assert admin.post("/enrollment/bases", people.base("B001")).status_code == 201
    registered_ = sink.expect("enrollment.base-authorization-changed")
    assert (registered_.data["action"], registered_.data["suspended"]) == ("registered", False)

    operator = services.client("enrollment", "base_operator", base="B001", subject="op-1")
    answer = operator.post("/enrollment/enrollments", applicants.application(mobile="13912345678"))
    assert answer.status_code == 201, answer.text
    assert sink.expect("enrollment.enrolled").data["mobile"] == "13912345678"

    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([
        ["姓名", "身份证号", "手机号", "级别", "学历", "学历状态", "相关工作月数", "行业"],
        ["王小明", applicants.id_number(), "13800138001", "四级", "大专", "毕业", "12", "电力"],
        ["李四", "123", "13800138002", "L4", "本科", "毕业", "12", "钢铁"]])
    uploaded = operator.request("POST", "/enrollment/bulk-enrollments", data=out.getvalue().encode(),
                                headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 201, uploaded.text
    finished = sink.expect("enrollment.roster-finished")
    assert (finished.data["rows"], finished.data["created"], finished.data["failed"], finished.data["uploaded_by"]) \
        == (2, 1, 1, "op-1")
    assert str(finished.correlation_id) == uploaded.json()["upload_id"]
    assert operator.request("POST", "/enrollment/bulk-enrollments", data=out.getvalue().encode(),
                            headers={"Content-Type": "text/csv"}).status_code == 200  # the same file: no news

    assert admin.post("/enrollment/bases/B001/suspension", {"reason": "audit"}).status_code == 200
    suspended = sink.expect("enrollment.base-authorization-changed", where=lambda e: e.data["action"] == "suspended")
    assert suspended.data["suspended"] and suspended.data["reason"] == "audit"
    assert suspended.correlation_id == registered_.correlation_id  # one journey per base
    sink.drain(quiet=0.5)
    assert len(sink.of_type("enrollment.roster-finished")) == 1


def test_exam_tells_of_a_confirmed_registration(services, bus):
    sink = bus.sink("exam.registered")
    services.start("exam")
    eid, learner, learner_id = candidate(services, bus)
    made = sitting(services)
    registration = registered(learner, eid, made["sitting_id"])
    event = sink.expect("exam.registered")
    assert str(event.data["registration_id"]) == registration["registration_id"]
    assert event.data["starts_at"] < event.data["ends_at"] and event.data["registered_at"]
    assert (str(event.correlation_id), event.data["attempt_number"]) == (eid, 1)
