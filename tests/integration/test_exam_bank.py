"""The question bank and the papers drawn from it, through the API on the real
broker and database: examiners write, review, revise and retire questions; a
paper follows its level's blueprint and never carries an answer or a rubric."""
from collections import Counter
from decimal import Decimal

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

    retired = one.post(f"/exam/questions/{qid}/retire")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
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
            assert one.post(f"/exam/questions/{q['question_id']}/retire").status_code == 200

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
        assert all(set(q) == {"number", "question_id", "type", "area", "prompt", "options", "points"}
                   for q in paper["questions"])
        assert all(set(o) == {"key", "text"} for q in paper["questions"] for o in q["options"])
        assert "RUBRIC" not in raw[level] and "answer_key" not in raw[level] and "rubric" not in raw[level]
    assert ours["question_id"] in {q["question_id"] for q in papers["L4"]["questions"]}
    assert papers["L4"]["questions"] != papers["L3"]["questions"]

    # Drawn into a paper: the edit is a new revision, the paper keeps what it showed.
    revised = _patch(one, f"/exam/questions/{ours['question_id']}", {"prompt": "改过的题干"})
    assert revised.json()["revision"] == 2
    two.post(f"/exam/questions/{ours['question_id']}/review", {"approve": True})
    reopened = l4.get(f"/exam/registrations/{regs['L4']}/paper").json()
    shown = next(q for q in reopened["questions"] if q["question_id"] == ours["question_id"])
    assert shown["prompt"] == SHORT["prompt"]


def _patch(client, path, body):
    return client.request("PATCH", path, json=body)
