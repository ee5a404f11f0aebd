"""The slot's end, on the real broker and database: two replicas close the papers
at once (rows claimed, PostgreSQL FOR UPDATE SKIP LOCKED), each attempt is scored
and graded exactly once, multiple choice scores only the exact set, blank short
answers need no examiner, an absence is an attempt scored 0."""
from decimal import Decimal

import eventlet

from shared.persistence.group_commit import GroupCommit
from tests.support import exam_flow as flow
from tests.support.exam_answers import correct_answers


def _open(learner, registration):
    return learner.get(f"/exam/registrations/{registration['registration_id']}/paper").json()


def _save(learner, paper, number, answer):
    saved = learner.put(f"/exam/papers/{paper['paper_id']}/answers/{number}", {"answer": answer})
    assert saved.status_code == 200, saved.text
    return saved.json()


def test_two_replicas_closing_at_once_grade_each_attempt_exactly_once(services, bus):
    sink = bus.sink("exam.graded")
    main = services.start("exam")
    sitting = flow.sitting(services)
    people = [flow.candidate(services, bus) for _ in range(5)]
    regs = [flow.registered(learner, eid, sitting["sitting_id"]) for eid, learner, _ in people]
    (a_id, a, _), (b_id, b, _), (c_id, c, _), (d_id, _, _), (e_id, _, _) = people

    # A: every objective answer right but one multiple choice with an extra option; short answers blank.
    paper_a = _open(a, regs[0])
    right = correct_answers(paper_a)
    questions = {q["number"]: q for q in paper_a["questions"]}
    superset = next(n for n, q in questions.items() if q["type"] == "multiple_choice"
                    and len(right[n]) < len(q["options"]))
    for number, q in questions.items():
        if q["type"] != "short_answer":
            _save(a, paper_a, number, right[number])
    wrong = sorted(set(right[superset]) | {next(o["key"] for o in questions[superset]["options"]
                                                 if o["key"] not in right[superset])}, reverse=True)
    assert _save(a, paper_a, superset, wrong)["answer"] == sorted(wrong)  # saved in canonical order
    _save(a, paper_a, superset, wrong)  # autosave is idempotent: the same save again changes nothing
    # B: true/false right, one short answer written (an examiner marks it).
    paper_b = _open(b, regs[1])
    right_b = correct_answers(paper_b)
    short_b = next(q["number"] for q in paper_b["questions"] if q["type"] == "short_answer")
    for q in paper_b["questions"]:
        if q["type"] == "true_false":
            _save(b, paper_b, q["number"], not right_b[q["number"]])  # first wrong ...
            _save(b, paper_b, q["number"], right_b[q["number"]])  # ... last write wins
    _save(b, paper_b, short_b, "碳排放核算的边界与方法")
    # C opens the paper and writes nothing; D and E never come.
    _open(c, regs[2])

    with flow.replica(services) as (replica, _):
        pool = eventlet.GreenPool(2)
        closed = list(pool.imap(lambda container: flow.close_all(container, flow.after(sitting), limit=1),
                                (main, replica)))
        assert sum(closed) == 5  # 3 papers, 2 absences, each taken by one replica only
        assert flow.close_all(replica, flow.after(sitting)) == 0  # and again: nothing left

    graded = {str(e.data["enrollment_id"]): e.data for e in
              [sink.expect("exam.graded", where=lambda e, i=i: str(e.data["enrollment_id"]) == i)
               for i in (a_id, c_id, d_id, e_id)]}
    assert graded[a_id]["score"] == Decimal("79.0") and graded[a_id]["passed"]
    assert graded[c_id]["score"] == Decimal("0.0") and not graded[c_id]["passed"]
    assert graded[d_id]["score"] == graded[e_id]["score"] == Decimal("0.0")
    assert all(g["attempt_number"] == 1 for g in graded.values())
    late = a.put(f"/exam/papers/{paper_a['paper_id']}/answers/{superset}", {"answer": right[superset]})
    assert late.status_code == 409
    assert b.get(f"/exam/registrations/{regs[1]['registration_id']}/result").json()["final"] is False

    examiner = services.client("exam", "examiner", subject="examiner-1")
    queue = examiner.get("/exam/marking", params={"sitting_id": sitting["sitting_id"]}).json()
    assert [(i["paper_id"], i["number"]) for i in queue["items"]] == [(paper_b["paper_id"], short_b)]
    assert queue["left_per_sitting"] == {sitting["sitting_id"]: 1}
    assert examiner.post(f"/exam/marking/{paper_b['paper_id']}/{short_b}",
                         {"points": "2.5", "comment": "要点部分正确"}).status_code == 204
    result_b = sink.expect("exam.graded", where=lambda e: str(e.data["enrollment_id"]) == b_id).data
    assert result_b["score"] == Decimal("12.5") and not result_b["passed"]
    mine = b.get(f"/exam/registrations/{regs[1]['registration_id']}/result").json()
    assert mine == {"registration_id": regs[1]["registration_id"], "final": True, "score": "12.5",
                    "passed": False, "attempt_number": 1}
    assert examiner.post(f"/exam/marking/{paper_b['paper_id']}/{short_b}",
                         {"points": "4.0", "comment": "?"}).status_code == 409  # final

    sink.drain(quiet=1.0)
    attempts = [str(e.data["attempt_id"]) for e in sink.of_type("exam.graded")]
    assert sorted(attempts) == sorted(r["registration_id"] for r in regs)  # exactly one each


def test_a_submitted_paper_is_final_and_the_close_leaves_it_alone(services, bus):
    sink = bus.sink("exam.graded")
    main = services.start("exam")
    sitting = flow.sitting(services)
    eid, learner, _ = flow.candidate(services, bus)
    reg = flow.registered(learner, eid, sitting["sitting_id"])
    paper = _open(learner, reg)
    tf = next(q["number"] for q in paper["questions"] if q["type"] == "true_false")
    _save(learner, paper, tf, correct_answers(paper)[tf])
    submitted = learner.post(f"/exam/papers/{paper['paper_id']}/submit")
    assert submitted.status_code == 200 and submitted.json()["final"] is True  # nothing to mark
    assert learner.post(f"/exam/papers/{paper['paper_id']}/submit").status_code == 409
    assert learner.put(f"/exam/papers/{paper['paper_id']}/answers/{tf}", {"answer": True}).status_code == 409
    assert flow.close_all(main, flow.after(sitting)) == 0
    assert sink.expect("exam.graded").data["score"] == Decimal("0.4")
    sink.drain(quiet=1.0)
    assert len(sink.of_type("exam.graded")) == 1


def test_saves_arriving_together_commit_together_and_a_refused_one_refuses_only_itself(services, bus):
    container = services.start("exam")
    sitting = flow.sitting(services)
    eid, learner, _ = flow.candidate(services, bus)
    registration = flow.registered(learner, eid, sitting["sitting_id"])
    paper = _open(learner, registration)
    right = correct_answers(paper)
    numbers = range(1, 41)

    def put(number):  # odd numbers send a number, which no question accepts
        answer = right[number] if number % 2 == 0 else 12345
        return number, learner.put(f"/exam/papers/{paper['paper_id']}/answers/{number}", {"answer": answer})

    answers = dict(eventlet.GreenPool(40).imap(put, numbers))
    assert {n for n, a in answers.items() if a.status_code == 200} == {n for n in numbers if n % 2 == 0}
    assert all(answers[n].status_code == 422 and answers[n].json()["type"] == "/problems/invalid-answer"
               for n in numbers if n % 2)
    writer = next(e for e in container.extensions if isinstance(e, GroupCommit))
    assert writer.largest_batch > 1  # some saves did share a transaction
    stored = _open(learner, registration)["answers"]
    assert {int(n) for n in stored} == {n for n in numbers if n % 2 == 0}
