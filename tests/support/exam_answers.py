"""A prepared candidate: knows the question bank (services/exam/bank/questions.yaml)
and answers a paper correctly, mapping the shuffled option letters back by text."""
from pathlib import Path

import yaml

BANK = Path(__file__).resolve().parents[2] / "services" / "exam" / "bank" / "questions.yaml"


def _bank():
    return {q["id"]: q for q in yaml.safe_load(BANK.read_text(encoding="utf-8"))["questions"]}


def correct_answers(paper: dict) -> dict[int, object]:
    bank = _bank()
    answers = {}
    for q in paper["questions"]:
        known = bank[q["question_id"]]
        if q["type"] == "true_false":
            answers[q["number"]] = known["answer"]
        elif q["type"] == "short_answer":
            answers[q["number"]] = "按要点作答：" + known["rubric"][:60]
        else:
            right = known["answer"] if isinstance(known["answer"], list) else [known["answer"]]
            texts = {o["text"] for o in known["options"] if o["key"] in right}
            letters = sorted(o["key"] for o in q["options"] if o["text"] in texts)
            answers[q["number"]] = letters[0] if q["type"] == "single_choice" else letters
    return answers
