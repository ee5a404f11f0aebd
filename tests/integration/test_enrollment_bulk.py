"""Bulk enrollment from a base's CSV file, through the HTTP API."""
import csv
import hashlib
import io
import uuid
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert

from services.enrollment.models import BulkUpload
from shared.persistence.engine import make_engine

from tests.support import enrollment_people as applicants
from tests.bench.enrollment_csv import roster
from tests.support import people

CHINESE_HEADER = ["姓名", "身份证号", "手机号", "级别", "学历", "学历状态", "相关工作月数", "行业"]


@pytest.fixture
def enrollment(services):
    services.start("enrollment")
    admin = services.client("enrollment", "admin")
    for code in ("B001", "B002"):
        assert admin.post("/enrollment/bases", people.base(code)).status_code == 201
    return services


def csv_bytes(rows, encoding="utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, body: bytes, content_type="text/csv"):
    return client.request("POST", "/enrollment/bulk-enrollments", data=body,
                          headers={"Content-Type": content_type})


def test_a_gbk_file_enrolls_each_row_on_its_own_and_the_same_file_again_creates_nothing(enrollment, bus):
    sink = bus.sink("enrollment.enrolled")
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    twice = applicants.id_number()
    bad_check = applicants.id_number()
    bad_check = bad_check[:17] + ("1" if bad_check[17] != "1" else "2")
    rows = [CHINESE_HEADER,
            ["王小明", applicants.id_number(), "13800138001", "四级", "大专", "毕业", "12", "电力"],     # row 2
            ["李四", bad_check, "13800138002", "L4", "本科", "毕业", "12", "钢铁"],                  # 3
            ["赵六", applicants.id_number(), "13800138003", "四级", "初中", "毕业", "35", "水泥"],        # 4
            ["钱七", applicants.id_number(), "12345", "四级", "高中", "在读", "abc", "航空"],             # 5
            ["孙八", twice, "13800138005", "四级", "中专", "在读", "0", "金融"],                      # 6
            ["孙八", twice, "13800138005", "四级", "中专", "在读", "0", "金融"],                      # 7
            ["周九", applicants.id_number(), "13800138006", "三级", "硕士", "毕业", "24", "碳交易"]]      # 8
    body = csv_bytes(rows, "gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")

    first = upload(operator, body)
    assert first.status_code == 201, first.text
    result = first.json()
    assert (result["encoding"], result["rows"], result["created"], result["failed"]) == ("gbk", 7, 3, 4)
    outcome = {r["row"]: r for r in result["results"]}
    assert [n for n, r in outcome.items() if r["outcome"] == "created"] == [2, 6, 8]
    assert outcome[3]["problem"]["type"] == "/problems/invalid-id-number"
    assert "id_number" in outcome[3]["problem"]["errors"]
    assert [r["rule"] for r in outcome[4]["problem"]["rules"]] == ["L4_EDUCATION", "L4_WORK_EXPERIENCE"]
    assert set(outcome[5]["problem"]["errors"]) == {"related_work_months"}
    assert outcome[7]["problem"]["type"] == "/problems/open-enrollment-exists"

    created = {r["enrollment_id"] for r in result["results"] if r["enrollment_id"]}
    for enrollment_id in created:
        sink.expect("enrollment.enrolled", where=lambda e, i=enrollment_id: str(e.data["enrollment_id"]) == i)
    wang = operator.get(f"/enrollment/enrollments/{outcome[2]['enrollment_id']}").json()
    assert (wang["full_name"], wang["level"], wang["sector"]) == ("王小明", "L4", "power")

    again = upload(operator, body)
    assert again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["upload_id"] == result["upload_id"]
    assert again.json()["results"] == result["results"]
    assert len(sink.drain(quiet=1.0)) == 3
    assert operator.get("/enrollment/enrollments").json()["total"] == 3

    path = f"/enrollment/bulk-enrollments/{result['upload_id']}"
    assert operator.get(path).json()["created"] == 3
    assert enrollment.client("enrollment", "base_operator", base="B002").get(path).status_code == 404


def test_the_template_uploads_as_utf8_with_bom_and_bad_files_are_refused_whole(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    template = operator.get("/enrollment/bulk-enrollments/template.csv")
    assert template.status_code == 200 and template.headers["Content-Type"].startswith("text/csv")
    assert template.content.startswith(b"\xef\xbb\xbf")
    header, example = list(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert header[:3] == ["full_name", "id_number", "mobile"] and len(example) == len(header)

    filled = template.content + csv_bytes([[
        "刘一", applicants.id_number(), "13900139000", "L4", "general_high_school", "graduated", "0", "", "other", ""]])
    answer = upload(operator, filled)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["encoding"], answer.json()["created"]) == ("utf-8-sig", 2)

    assert upload(operator, filled, "application/json").status_code == 415
    missing = upload(operator, csv_bytes([["full_name", "id_number"], ["张三", applicants.id_number()]]))
    assert missing.status_code == 422 and "mobile" in missing.json()["detail"]
    assert upload(operator, "\ufeff".encode("utf-16")).status_code == 422
    learner = enrollment.client("enrollment", "learner", subject="x")
    assert upload(learner, filled).status_code == 403

    admin = enrollment.client("enrollment", "admin")
    admin.post("/enrollment/bases/B001/suspension", {"reason": "audit"})
    refused = upload(operator, filled + csv_bytes([["x"]]))
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/base-not-authorized"


def test_openapi_documents_the_upload_and_its_columns(enrollment):
    spec = enrollment.anonymous("enrollment").get("/enrollment/openapi.json").json()
    op = spec["paths"]["/enrollment/bulk-enrollments"]["post"]
    for column in ("full_name", "id_number", "education_tier", "work_months_since_l4", "身份证号"):
        assert column in op["description"]
    assert op["x-roles"] == ["base_operator"]
    assert "/enrollment/enrollments/{enrollment_id}/cancellation" in spec["paths"]


def test_the_same_file_sent_twice_at_once_is_enrolled_once(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    body = roster(1200)  # three chunks; every tenth learner ineligible
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: upload(operator, body), range(2)))
    assert sorted(a.status_code for a in answers) in ([200, 201], [201, 409])
    first = next(a.json() for a in answers if a.status_code == 201)
    assert (first["created"], first["failed"]) == (1080, 120)
    assert operator.get("/enrollment/enrollments?limit=1").json()["total"] == 1080
    assert upload(operator, body).json()["replayed"] is True


def test_an_upload_left_processing_by_a_dead_process_is_resumed_once_its_claim_lapsed(enrollment):
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    body = roster(30)
    upload_id, now = uuid.uuid4(), datetime.now(timezone.utc)
    engine = make_engine(enrollment.database_urls["enrollment"])
    try:
        with engine.begin() as conn:  # what a process that died right after claiming the file leaves
            conn.execute(insert(BulkUpload), {
                "upload_id": upload_id, "base_code": "B001", "content_sha256": hashlib.sha256(body).hexdigest(),
                "encoding": "utf-8", "rows": 30, "created": 0, "failed": 0, "state": "processing",
                "uploaded_by": "op", "uploaded_at": now, "claimed_until": now + timedelta(minutes=5)})
        busy = upload(operator, body)
        assert busy.status_code == 409 and busy.json()["type"] == "/problems/upload-in-progress"
        with engine.begin() as conn:
            conn.execute(BulkUpload.__table__.update().values(claimed_until=now - timedelta(seconds=1)))
    finally:
        engine.dispose()
    resumed = upload(operator, body)
    assert resumed.status_code == 201
    assert (resumed.json()["upload_id"], resumed.json()["created"], resumed.json()["state"]) == (
        str(upload_id), 27, "complete")


def test_rosters_that_do_not_read_cleanly_are_refused_whole_naming_the_line(enrollment):
    """Shift-JIS or Big5 read as GBK enrolled garbled names; a bogus charset was
    ignored; a file without line breaks was a 500. Each is a 4xx now, nothing enrolled."""
    operator = enrollment.client("enrollment", "base_operator", base="B001")
    header = ["full_name", "id_number", "mobile", "level", "education_tier", "education_status",
              "related_work_months", "sector"]
    row = ["佐藤花子", applicants.id_number(), "13800138000", "L4", "bachelor", "graduated", "24", "power"]
    for body, content_type in ((csv_bytes([header, row, row], "shift_jis"), "text/csv"),
                               (csv_bytes([header, [c.replace("佐藤花子", "陳美玲") for c in row]], "big5"), "text/csv"),
                               (csv_bytes([header, row]), "text/csv; charset=bogus"),
                               (",".join(header).encode() + b"\r\n" + b"x" * 300_000, "text/csv")):
        refused = upload(operator, body, content_type)
        assert refused.status_code == 422, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "file" in refused.json()["errors"]
    declared = upload(operator, csv_bytes([header, [c.replace("佐藤花子", "陳美玲") for c in row]], "big5"),
                      "text/csv; charset=big5")
    assert declared.status_code == 201, declared.text
    assert declared.json()["created"] == 1
    listed = operator.get("/enrollment/enrollments").json()["items"]
    assert [e["full_name"] for e in listed] == ["陳美玲"]  # the refused files enrolled no one
