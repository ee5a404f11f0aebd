"""Bank statement import and the clerk's review queue, through the API with the real
broker and database."""
from tests.support import payments
from tests.support.billing_helpers import enroll, order_of, statement, upload
from tests.support.wait import wait_for


def _orders(services, bus):
    """张三 L4, 李四 L3, 王芳 L4, two different learners called 赵敏, 陈静 paid by QR."""
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    enrolled = {name: enroll(bus, name, level) for name, level in
                (("张三", "L4"), ("李四", "L3"), ("王芳", "L4"), ("陈静", "L4"))}
    twins = [enroll(bus, "赵敏"), enroll(bus, "赵敏")]
    orders = {name: order_of(clerk, e) for name, e in enrolled.items()}
    orders["赵敏"] = [order_of(clerk, e) for e in twins]
    paid = payments.notify(services.anonymous("billing"), orders["陈静"]["order_id"], 390000, "WX-1")
    assert paid.json()["settlement"] == "applied"
    return clerk, orders


STATEMENT = statement([
    ("B1", "3,900.00", "张 三——碳排放管理员"),        # matched (variant)
    ("B2", "4900", "李四－碳排放管理员 报名费"),         # matched (full-width dash, trailing words)
    ("B3", "3800.00", "王芳-碳排放管理员"),            # wrong amount
    ("B4", "3900", "赵敏—碳排放管理员"),               # ambiguous: two open orders
    ("B5", "3900", "陈静　—　碳排放管理员"),           # already paid by QR: refund due
    ("B6", "3900", "刘伟—碳排放管理员"),               # unmatched: nobody of that name
    ("B7", "three thousand", "张三—碳排放管理员"),      # invalid
    ("B1", "3,900.00", "张 三——碳排放管理员"),        # the same bank line twice: duplicate
])


def test_each_statement_line_ends_in_one_state_and_only_exact_unambiguous_matches_pay(services, bus):
    sink = bus.sink("billing.paid")
    clerk, orders = _orders(services, bus)
    sink.expect("billing.paid")  # 陈静's QR payment

    answer = upload(clerk, STATEMENT, "gbk", filename="2026-11.csv")
    assert answer.status_code == 201, answer.text
    imported = answer.json()
    assert imported["encoding"] == "gbk" and imported["lines"] == 8
    assert imported["counts"] == {"matched": 2, "wrong_amount": 1, "ambiguous": 1, "already_paid": 1,
                                  "unmatched": 1, "invalid": 1, "duplicate": 1}
    lines = clerk.get(f"/billing/statements/{imported['statement_id']}/lines").json()["items"]
    assert [line["state"] for line in lines] == ["matched", "matched", "wrong_amount", "ambiguous",
                                                 "already_paid", "unmatched", "invalid", "duplicate"]
    assert lines[0]["order_id"] == orders["张三"]["order_id"]
    assert "not a number" in lines[6]["reason"]

    for name in ("张三", "李四"):
        event = sink.expect("billing.paid", where=lambda e, n=name: str(e.data["order_id"]) == orders[n]["order_id"])
        assert event.data["channel"] == "bank_transfer"
        assert clerk.get(f"/billing/orders/{orders[name]['order_id']}").json()["status"] == "paid"
    for open_ in (orders["王芳"], *orders["赵敏"]):
        assert clerk.get(f"/billing/orders/{open_['order_id']}").json()["status"] == "open"
    queue = clerk.get("/billing/review").json()
    assert sorted(i["reason"] for i in queue["items"]) == ["ambiguous", "refund_due", "unmatched", "wrong_amount"]
    ambiguous = next(i for i in queue["items"] if i["reason"] == "ambiguous")
    assert all(o["order_id"] in ambiguous["detail"] for o in orders["赵敏"])

    again = upload(clerk, STATEMENT, "gbk")  # the same file again: its import, nothing recorded
    assert again.status_code == 200 and again.json()["statement_id"] == imported["statement_id"]
    assert again.json()["counts"] == imported["counts"]
    overlapping = upload(clerk, STATEMENT + "2026-11-21,08:00:00,Z9,3900,某人,6222,无名—碳排放管理员\n", "gbk")
    assert overlapping.status_code == 201 and overlapping.json()["counts"] == {"duplicate": 7, "invalid": 1,
                                                                                 "unmatched": 1}
    assert clerk.get("/billing/review").json()["total"] == 5  # and the unmatched new line
    assert len(sink.drain(quiet=1.0) and sink.of_type("billing.paid")) == 3


def test_a_clerk_settles_or_rejects_what_waits_and_the_decision_is_audited(services, bus):
    sink = bus.sink("billing.paid")
    _, orders = _orders(services, bus)
    clerk = services.client("billing", "finance_clerk", subject="clerk-1")
    imported = upload(clerk, STATEMENT, "utf-8").json()
    assert imported["encoding"] == "utf-8"
    items = {i["reason"]: i for i in clerk.get("/billing/review").json()["items"]}
    twin = orders["赵敏"][1]["order_id"]

    settled = clerk.post(f"/billing/review/{items['ambiguous']['id']}/settle",
                         {"order_id": twin, "reason": "the payer's bank account is the second 赵敏's"})
    assert settled.status_code == 200, settled.text
    assert settled.json()["outcome"] == "paid" and settled.json()["resolved_by"] == "clerk-1"
    assert sink.expect("billing.paid", where=lambda e: str(e.data["order_id"]) == twin).data["channel"] == "bank_transfer"
    assert clerk.get(f"/billing/orders/{twin}").json()["status"] == "paid"

    short = clerk.post(f"/billing/review/{items['wrong_amount']['id']}/settle",
                       {"order_id": orders["王芳"]["order_id"], "reason": "100.00 short; asked for the rest"})
    assert short.json()["outcome"] == "recorded"
    assert clerk.get(f"/billing/orders/{orders['王芳']['order_id']}").json()["status"] == "open"

    admin = services.client("billing", "admin", subject="admin-7")
    rejected = admin.post(f"/billing/review/{items['unmatched']['id']}/reject", {"reason": "not ours: returned"})
    assert rejected.json()["outcome"] == "rejected" and rejected.json()["resolved_by"] == "admin-7"
    assert rejected.json()["resolved_at"] and rejected.json()["resolution_reason"] == "not ours: returned"

    twice = clerk.post(f"/billing/review/{items['unmatched']['id']}/reject", {"reason": "again"})
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/review-item-resolved"
    no_reason = clerk.post(f"/billing/review/{items['refund_due']['id']}/reject", {})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    unknown_order = clerk.post(f"/billing/review/{items['refund_due']['id']}/settle",
                               {"order_id": "00000000-0000-0000-0000-000000000000", "reason": "typo"})
    assert unknown_order.status_code == 404
    assert services.client("billing", "learner").get("/billing/review").status_code == 403

    decided = clerk.get("/billing/review", params={"state": "all"}).json()["items"]
    assert sorted(i["state"] for i in decided) == ["open", "rejected", "settled", "settled"]
    assert clerk.get("/billing/review").json()["total"] == 1


def test_statement_upload_as_a_form_file_and_refusals(services, bus):
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    order = order_of(clerk, enroll(bus, "王五"))
    text = statement([("F1", "3900", "王五—碳排放管理员")])
    form = clerk.post("/billing/statements", files={"file": ("nov.csv", text.encode("gbk"), "text/csv")})
    assert form.status_code == 201 and form.json()["counts"] == {"matched": 1}
    assert form.json()["filename"] == "nov.csv"
    wait_for(lambda: clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "paid")

    plain = clerk.post("/billing/statements", data=(text + "x,y,F2,3900,,,\n").encode("gbk"),  # curl's type
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert plain.status_code == 201 and plain.json()["counts"] == {"duplicate": 1, "invalid": 1}
    no_header = upload(clerk, "a,b\n1,2\n", "utf-8")
    assert no_header.status_code == 422 and no_header.json()["type"] == "/problems/unreadable-statement"
    empty = clerk.post("/billing/statements", data=b"", headers={"Content-Type": "text/csv"})
    assert empty.status_code == 422
    operator = services.client("billing", "base_operator", base="B001")
    assert upload(operator, text).status_code == 403


def test_the_same_statement_uploaded_twice_at_once_counts_each_line_once(services, bus):
    from concurrent.futures import ThreadPoolExecutor
    sink = bus.sink("billing.paid")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    people = [enroll(bus, name) for name in ("韩一", "韩二", "韩三")]
    for event in people:
        order_of(clerk, event)
    rows = [(f"U{i}", "3900", f"无名{i}—碳排放管理员") for i in range(4500)]  # several chunks
    rows[100:100] = [(f"M{i}", "3900", f"{e.data['full_name']}—碳排放管理员") for i, e in enumerate(people)]
    text = statement(rows)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: upload(services.client("billing", "finance_clerk"), text), range(2)))
    assert [a.status_code for a in answers] == [201, 201], [a.text[:300] for a in answers]
    both = [a.json()["counts"] for a in answers]
    assert sum(c.get("matched", 0) for c in both) == 3
    assert sum(c.get("unmatched", 0) for c in both) == 4500
    assert sum(c.get("duplicate", 0) for c in both) == 4503
    assert len(sink.drain(quiet=1.0) and sink.of_type("billing.paid")) == 3
    assert clerk.get("/billing/review").json()["total"] == 4500


def test_a_statement_import_is_never_half_recorded(services, bus, monkeypatch):
    """A file without line breaks and a line of 10^20 yuan answered 500, the second
    leaving a statement that declared 601 lines and held none. Unreadable files are
    refused whole; an import that stops half-way says so and the same file resumes it."""
    from datetime import timedelta

    from services.billing.actions import statements as importing

    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    no_breaks = clerk.post("/billing/statements", data=statement([]).encode() + b"9" * 300_000,
                           headers={"Content-Type": "text/csv"})
    assert no_breaks.status_code == 422 and no_breaks.json()["type"] == "/problems/unreadable-statement"
    huge = upload(clerk, statement([("H1", str(10**20), "张三—碳排放管理员"), ("H2", "3900", "某某—碳排放管理员")]))
    assert huge.status_code == 201, huge.text
    assert huge.json()["counts"] == {"invalid": 1, "unmatched": 1} and huge.json()["state"] == "complete"

    # The second chunk fails (the process stops there): the first stays, marked importing.
    monkeypatch.setattr(importing, "CHUNK", 3)
    monkeypatch.setattr(importing, "CLAIM", timedelta(0))  # so that it can be resumed at once
    real, calls = importing._import_chunk, []

    def failing_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the process stopped here")
        return real(*args)

    monkeypatch.setattr(importing, "_import_chunk", failing_second)
    text = statement([(f"S{i}", "3900", f"路人{i}—碳排放管理员") for i in range(7)])
    assert upload(clerk, text).status_code == 500
    stopped_id = _statement_ids(services)[-1]
    stopped = clerk.get(f"/billing/statements/{stopped_id}").json()
    assert stopped["state"] == "importing" and stopped["lines"] == 7 and stopped["counts"] == {"unmatched": 3}

    resumed = upload(clerk, text)
    assert resumed.status_code == 201 and resumed.json()["statement_id"] == stopped_id
    assert resumed.json()["state"] == "complete" and resumed.json()["counts"] == {"unmatched": 7}
    lines = clerk.get(f"/billing/statements/{stopped_id}/lines").json()
    assert [line["line_number"] for line in lines["items"]] == list(range(3, 10))  # each line once


def _statement_ids(services) -> list:
    from sqlalchemy import text

    from shared.persistence.engine import make_engine
    engine = make_engine(services.database_urls["billing"])
    try:
        with engine.connect() as conn:
            return [str(__import__("uuid").UUID(str(r[0]))) for r in
                    conn.execute(text("SELECT statement_id FROM statements ORDER BY uploaded_at"))]
    finally:
        engine.dispose()
