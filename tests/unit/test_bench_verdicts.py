"""The benchmark's pure helpers: verdicts against issue 14's targets, percentiles,
visitor addresses and CPU time per request (tests/bench/verdicts.py, verify_load.py,
framework_cost.py)."""
import pytest

from tests.bench import framework_cost, verify_load
from tests.bench.verdicts import target_text, verdict


@pytest.mark.parametrize("key, figures, database, expected", [
    ("hop", {"ratio": 0.5}, "sqlite", "PASS"),
    ("hop", {"ratio": 0.49}, "postgresql", "MISS"),
    ("verification", {"rate": 2000, "p99_ms": 19.9}, "sqlite", "PASS"),
    ("verification", {"rate": 2500, "p99_ms": 20.0}, "sqlite", "MISS"),
    ("verification", {"rate": 1999, "p99_ms": 5}, "sqlite", "MISS"),
    ("exam_autosave", {"p99_ms": 99.9}, "sqlite", "PASS"),
    ("exam_scoring", {"seconds": 40}, "sqlite", "MISS"),
    ("exam_scoring", {"seconds": 40}, "postgresql", "PASS"),
    ("billing_statement", {"seconds": 10}, "postgresql", "MISS"),
    ("verification", {"rate": 3000}, "sqlite", "MISS"),  # a bound's figure missing is no pass
    ("lifecycles", {"rate": 1}, "sqlite", ""),  # no target: printed for orientation
])
def test_a_figure_passes_only_when_every_bound_of_its_target_holds(key, figures, database, expected):
    assert verdict(key, figures, database) == expected


def test_the_targets_print_as_issue_14_states_them():
    assert target_text("verification") == "≥ 2,000/s, p99 < 20 ms"
    assert target_text("exam_scoring", "sqlite") == "< 10 s"
    assert target_text("exam_scoring", "postgresql") == "< 60 s"
    assert target_text("hop", "postgresql") == "ratio ≥ 0.5"
    assert target_text("lifecycles") == ""


def test_percentiles_are_nearest_rank_in_milliseconds():
    seconds = [i / 1000 for i in range(1, 101)]  # 1 … 100 ms, shuffled order does not matter
    assert verify_load.percentile_ms(list(reversed(seconds)), 0.5) == 51.0
    assert verify_load.percentile_ms(seconds, 0.99) == 100.0
    assert verify_load.percentile_ms([], 0.99) is None


def test_each_generator_spreads_its_lookups_over_distinct_addresses():
    addresses = {verify_load.visitor_address(g, i) for g in (0, 1) for i in range(20_000)}
    assert len(addresses) == 40_000
    assert verify_load.visitor_address(1, 258) == "10.1.1.2"


def test_cpu_per_request_takes_the_idle_burn_off():
    stat = "4242 (python -m x) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0"
    assert framework_cost.parse_cpu(stat) == (250 + 150) / framework_cost.TICKS
    assert framework_cost.per_request(cpu=1.0, idle_rate=0.1, seconds=2.0, requests=1000) == pytest.approx(800.0)
    assert framework_cost.per_request(cpu=0.1, idle_rate=0.1, seconds=2.0, requests=10) == 0.0


def _summary(value):
    return {"median": value, "min": value, "max": value, "runs": []}


def test_one_table_holds_every_figure_with_its_target_and_verdict_on_both_databases():
    from rich.console import Console

    from tests.bench.__main__ import judged, table_of
    results = {"runs": 3, "loads": {
        "exam_autosave": judged("exam_autosave", "sqlite", {
            "what": "autosaves", "rate": _summary(670.0), "p50_ms": _summary(9.0), "p99_ms": _summary(120.0),
            "max_rate": _summary(900.0)})},
        "loads_postgresql": {"verification": judged("verification", "postgresql", {
            "what": "public verification", "rate": _summary(2100.0), "p50_ms": _summary(4.0),
            "p99_ms": _summary(15.0)})},
        "jobs": {"exam_scoring": judged("exam_scoring", "sqlite", {"what": "scoring", "seconds": _summary(12.0)})},
        "jobs_postgresql": {"exam_scoring": judged("exam_scoring", "postgresql", {
            "what": "scoring", "seconds": _summary(12.0)})}}
    console = Console(width=200, record=True, color_system=None)
    console.print(table_of(results))
    lines = {line.split("│")[1].strip() + " " + line.split("│")[2].strip(): line
             for line in console.export_text().splitlines() if line.startswith("│")}
    assert "p99 < 100 ms" in lines["autosaves, sustained/s sqlite"] and "MISS" in lines[
        "autosaves, sustained/s sqlite"]
    assert "the same endpoint at its most, req/s sqlite" in lines
    assert "PASS" in lines["public verification, sustained/s postgresql"]
    assert "MISS" in lines["scoring, seconds sqlite"] and "< 10 s" in lines["scoring, seconds sqlite"]
    assert "PASS" in lines["scoring, seconds postgresql"] and "< 60 s" in lines["scoring, seconds postgresql"]
