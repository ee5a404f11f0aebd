"""The question bank and the papers drawn from it, through the API on the real
broker and database: examiners write, review, revise and retire questions; a
paper follows its level's blueprint and never carries an answer or a rubric."""
from collections import Counter
from decimal import Decimal

import pytest

from services.exam import actions
from tests.support import exam_flow as flow

SHORT = {"type": "short_answer", "area": "foundation", "prompt": "简述碳达峰与碳中和的区别。",
         "rubric": "RUBRIC-碳达峰指排放量达到峰值后下降；碳中和指净零排放（各点酌情给分）。"}


def _approved(author, reviewer, body) -> dict:
    written = author.post("/exam/questions", body)
    assert written.status_code == 201, written.text
    assert written.json()["status"] == "draft" and written.json()["revision"] == 1
    approved = reviewer.post(f"/exam/questions/{written.json()['question_id']}/review", {"approve": True})
    assert approved.status_code == 200 and approved.json()["status"] == "active", approved.text
    return approved.json()


def _retired(asker, reviewer, question_id, reason="与新版教材不符") -> dict:
    asked = asker.post(f"/exam/questions/{question_id}/retire", {"reason": reason})
    assert asked.status_code == 200 and asked.json()["status"] == "active", asked.text
    approved = reviewer.post(f"/exam/questions/{question_id}/retire/review", {"approve": True})
    assert approved.status_code == 200, approved.text
    return approved.json()


def test_examiners_write_review_revise_and_retire_questions(services):
    services.start("exam")
    one = services.client("exam", "examiner", subject="examiner-1")
    two = services.client("exam", "examiner", subject="examiner-2")

    missing = one.post("/exam/questions", {**SHORT, "rubric": None})
    assert missing.status_code == 422 and "rubric" in missing.json()["errors"]
    wrong = one.post("/exam/questions", {"type": "multiple_choice", "area": "trading", "prompt": "?",
                                         "options": [{"key": "A", "text": "a"}, {"key": "B", "text": "b"}],
                                         "answer": ["A"]})
    assert wrong.status_code == 422 and {"options", "answer"} <= set(wrong.json()["errors"])
    learner = services.client("exam", "learner", subject="someone")
    assert learner.post("/exam/questions", SHORT).status_code == 403
    assert learner.get("/exam/questions").status_code == 403

    draft = one.post("/exam/questions", SHORT).json()
    qid = draft["question_id"]
    own = one.post(f"/exam/questions/{qid}/review", {"approve": True})
    assert own.status_code == 422 and own.json()["type"] == "/problems/second-examiner-required"
    in_place = _patch(one, f"/exam/questions/{qid}", {"prompt": "简述碳达峰、碳中和的区别。"})
    assert in_place.status_code == 200 and in_place.json()["revision"] == 1  # a draft, never drawn
    rejected = two.post(f"/exam/questions/{qid}/review", {"approve": False, "comment": "要点不全"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["review_comment"] == "要点不全"
    _patch(one, f"/exam/questions/{qid}", {"rubric": SHORT["rubric"] + "补充"})
    active = two.post(f"/exam/questions/{qid}/review", {"approve": True}).json()
    assert active["status"] == "active" and active["revision"] == 1 and active["reviewed_by"] == "examiner-2"

    # Active: an edit is a new draft revision; the active one stays until it is approved.
    revised = _patch(one, f"/exam/questions/{qid}", {"prompt": "新版题干"})
    assert revised.json()["revision"] == 2 and revised.json()["status"] == "draft"
    revisions = one.get(f"/exam/questions/{qid}").json()["revisions"]
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "active"), (2, "draft")]
    assert revisions[0]["prompt"] == "简述碳达峰、碳中和的区别。"
    two.post(f"/exam/questions/{qid}/review", {"approve": True})
    revisions = one.get(f"/exam/questions/{qid}").json()["revisions"]
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "superseded"), (2, "active")]
    assert one.post(f"/exam/questions/{qid}/review", {"approve": True}).status_code == 409  # nothing to review

    retired = _retired(one, two, qid)
    assert retired["status"] == "retired" and retired["retirement_requested"] is None
    assert _patch(one, f"/exam/questions/{qid}", {"prompt": "x"}).status_code == 409
    listed = one.get("/exam/questions", params={"status": "active", "type": "short_answer"}).json()["items"]
    assert qid not in {q["question_id"] for q in listed} and len(listed) == 8  # the seed's short answers
    assert one.get("/exam/questions/NOPE").status_code == 404


def test_a_drawn_question_is_revised_not_edited_and_papers_follow_their_levels_blueprint(services, bus):
    services.start("exam")
    one = services.client("exam", "examiner", subject="examiner-1")
    two = services.client("exam", "examiner", subject="examiner-2")
    # The L4 blueprint draws one foundation short answer: make ours the only one.
    ours = _approved(one, two, SHORT)
    for q in one.get("/exam/questions", params={"type": "short_answer", "area": "foundation"}).json()["items"]:
        if q["question_id"] != ours["question_id"]:
            _retired(one, two, q["question_id"])

    sitting = flow.sitting(services)
    l4_id, l4, _ = flow.candidate(services, bus, level="L4")
    l3_id, l3, _ = flow.candidate(services, bus, level="L3")
    raw, papers, regs = {}, {}, {}
    for level, eid, learner in (("L4", l4_id, l4), ("L3", l3_id, l3)):
        reg = flow.registered(learner, eid, sitting["sitting_id"])
        regs[level] = reg["registration_id"]
        answer = learner.get(f"/exam/registrations/{reg['registration_id']}/paper")
        raw[level], papers[level] = answer.text, answer.json()

    for level, paper in papers.items():
        blueprint = actions.current_blueprint(level)
        drawn = Counter((q["type"], q["area"]) for q in paper["questions"])
        assert drawn == {(s.type, s.area): s.count for s in blueprint.sections}
        assert sum(Decimal(q["points"]) for q in paper["questions"]) == 100
        # The candidate's client gets no answer key and no rubric.
        assert set(paper) == {"paper_id", "status", "closes_at", "questions", "answers"}
        assert paper["answers"] == {}
        # Each question by its number on this paper only: the bank's id never reaches a candidate.
        assert all(set(q) == {"number", "type", "area", "prompt", "options", "points"}
                   for q in paper["questions"])
        assert "question_id" not in raw[level]
        assert all(set(o) == {"key", "text"} for q in paper["questions"] for o in q["options"])
        assert "RUBRIC" not in raw[level] and "answer_key" not in raw[level] and "rubric" not in raw[level]
    assert SHORT["prompt"] in {q["prompt"] for q in papers["L4"]["questions"]}
    assert papers["L4"]["questions"] != papers["L3"]["questions"]

    # Drawn into a paper: the edit is a new revision, the paper keeps what it showed.
    revised = _patch(one, f"/exam/questions/{ours['question_id']}", {"prompt": "改过的题干"})
    assert revised.json()["revision"] == 2
    two.post(f"/exam/questions/{ours['question_id']}/review", {"approve": True})
    reopened = l4.get(f"/exam/registrations/{regs['L4']}/paper").json()
    assert SHORT["prompt"] in {q["prompt"] for q in reopened["questions"]}
    assert "改过的题干" not in {q["prompt"] for q in reopened["questions"]}


def _patch(client, path, body):
    return client.request("PATCH", path, json=body)


def test_retiring_takes_a_second_examiner_and_never_leaves_a_scheduled_sittings_blueprint_short(services):
    services.start("exam")
    one = services.client("exam", "examiner", subject="examiner-1")
    two = services.client("exam", "examiner", subject="examiner-2")
    pool = one.get("/exam/questions", params={"type": "single_choice", "area": "trading",
                                              "status": "active"}).json()
    assert pool["total"] == 8  # the sample bank; the L3 blueprint draws 6 of them
    first, second, third = (q["question_id"] for q in pool["items"][:3])

    # One examiner alone retires nothing: the question stays active and drawn.
    asked = one.post(f"/exam/questions/{first}/retire", {"reason": "题干有歧义"})
    assert asked.status_code == 200 and asked.json()["status"] == "active"
    assert asked.json()["retirement_requested"]["requested_by"] == "examiner-1"
    assert one.post(f"/exam/questions/{first}/retire", {"reason": "题干有歧义"}).status_code == 200  # repeat
    assert two.post(f"/exam/questions/{first}/retire", {"reason": "x"}).status_code == 409  # one pending
    own = one.post(f"/exam/questions/{first}/retire/review", {"approve": True})
    assert own.status_code == 422 and own.json()["type"] == "/problems/second-examiner-required"
    assert one.get(f"/exam/questions/{first}").json()["revisions"][-1]["status"] == "active"

    # A second examiner decides: rejected, it stays; approved, it is retired.
    kept = two.post(f"/exam/questions/{first}/retire/review", {"approve": False, "comment": "改题即可"})
    assert kept.status_code == 200 and kept.json()["status"] == "active"
    assert kept.json()["retirement_requested"] is None
    assert _retired(one, two, first)["status"] == "retired"

    # 7 are left and both levels' blueprints draw 6: two requests pass alone, but the
    # second approval would leave 5 and is refused, with the numbers; so is a new request.
    for question_id in (second, third):
        assert one.post(f"/exam/questions/{question_id}/retire", {"reason": "过时"}).status_code == 200
    assert two.post(f"/exam/questions/{second}/retire/review", {"approve": True}).json()["status"] == "retired"
    refused = two.post(f"/exam/questions/{third}/retire/review", {"approve": True})
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/blueprint-unfillable"
    rule = refused.json()["rules"][0]
    assert (rule["type"], rule["area"], rule["active_after"], rule["needed"]) == (
        "single_choice", "trading", 5, 6)
    assert {r["blueprint"][:2] for r in refused.json()["rules"]} == {"L4", "L3"} and rule["sitting_id"]
    assert "5 active question(s) would be left" in refused.json()["detail"]
    assert one.get(f"/exam/questions/{third}").json()["revisions"][-1]["status"] == "active"
    fourth = pool["items"][3]["question_id"]
    assert one.post(f"/exam/questions/{fourth}/retire", {"reason": "过时"}).status_code == 422
    assert one.get("/exam/questions", params={"type": "single_choice", "area": "trading",
                                              "status": "active"}).json()["total"] == 6


OWN_BANK = """
questions:
- {id: REAL-001, type: true_false, area: trading, prompt: 全国碳市场首个履约周期为2019—2020年。, answer: true}
- id: REAL-002
  type: single_choice
  area: foundation
  prompt: 碳排放权交易的标的是什么？
  options: [{key: A, text: 排放配额}, {key: B, text: 电力}]
  answer: A
"""


def test_the_bank_comes_from_the_file_the_setting_names_and_the_repositorys_is_a_marked_sample(
        services, tmp_path):
    from services.exam import question_bank
    assert question_bank.read_bank_file(question_bank.SAMPLE_BANK).sample is True
    own = tmp_path / "bank.yaml"
    own.write_text(OWN_BANK, encoding="utf-8")
    services.start("exam", QUESTION_BANK_FILE=str(own))
    examiner = services.client("exam", "examiner", subject="examiner-1")
    listed = examiner.get("/exam/questions").json()
    assert listed["total"] == 2 and {q["question_id"] for q in listed["items"]} == {"REAL-001", "REAL-002"}


def test_without_a_bank_setting_the_database_gets_no_questions(services):
    services.start("exam", QUESTION_BANK_FILE="")
    assert services.client("exam", "examiner").get("/exam/questions").json()["total"] == 0


def test_the_load_command_checks_the_whole_file_and_refuses_the_sample_unless_asked(tmp_path, capsys):
    from services.exam import load_bank, question_bank
    url = f"sqlite:///{tmp_path}/exam.sqlite3"
    own = tmp_path / "bank.yaml"
    own.write_text(OWN_BANK, encoding="utf-8")
    assert load_bank.main([str(own), "--database-url", url]) == 0
    assert load_bank.main([str(own), "--database-url", url]) == 0  # again: nothing new
    assert "2 question(s) added" in capsys.readouterr().out

    broken = tmp_path / "broken.yaml"
    broken.write_text(OWN_BANK.replace("answer: A", "answer: C").replace("REAL-00", "NEW-00"), encoding="utf-8")
    assert load_bank.main([str(broken), "--database-url", url]) == 2
    assert "NEW-002: answer" in capsys.readouterr().err
    assert load_bank.main([str(question_bank.SAMPLE_BANK), "--database-url", url]) == 2
    assert "sample" in capsys.readouterr().err
    assert load_bank.main([str(question_bank.SAMPLE_BANK), "--database-url", url, "--sample"]) == 0
    from sqlalchemy import create_engine, text
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT question_id) FROM questions")).scalar() == 125


def test_a_missing_or_broken_bank_file_stops_the_start_naming_it(services, tmp_path):
    from nameko.containers import ServiceContainer

    from shared.settings import CannotStart
    from tests.support.services import SERVICE_CLASSES, load_class
    broken = tmp_path / "broken.yaml"
    broken.write_text(OWN_BANK.replace("answer: A", "answer: C"), encoding="utf-8")
    for path, said in ((tmp_path / "absent.yaml", "No such file"), (broken, "REAL-002: answer")):
        container = ServiceContainer(load_class(SERVICE_CLASSES["exam"]),
                                     services.config("exam", QUESTION_BANK_FILE=str(path)))
        try:
            with pytest.raises(CannotStart, match=said):
                container.start()
        finally:
            container.kill()


def test_a_question_written_again_by_its_author_answers_the_draft(services):
    services.start("exam")
    one = services.client("exam", "examiner", subject="examiner-1")
    two = services.client("exam", "examiner", subject="examiner-2")
    first = one.post("/exam/questions", SHORT)
    again = one.post("/exam/questions", SHORT)
    assert first.status_code == 201 and again.status_code == 200 and again.json() == first.json()
    theirs = two.post("/exam/questions", SHORT)  # another author's is their own draft
    assert theirs.status_code == 201 and theirs.json()["question_id"] != first.json()["question_id"]
    assert one.get("/exam/questions", params={"status": "draft"}).json()["total"] == 2
