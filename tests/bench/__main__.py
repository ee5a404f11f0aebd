"""`make bench`: the figures of docs/benchmarks.md, each the median of several
runs with min and max, printed as a table and written to var/bench.json.

    python -m tests.bench [--events 20000] [--runs 3] [--learners 12] [--concurrency 4]
                          [--only hops,loads,jobs] [--postgres]

hops: the raw hop, each project hop and its ratio, learner lifecycles per second,
the CPU time per request of a trivial route against a bare Werkzeug app.
loads: HTTP endpoints at the exam-month load (progress reports, autosaves): the
sustained rate at a fixed offered load with p50/p99; public verification from a
crowd of client addresses. jobs: bulk jobs' wall time (10,000-row enrollment CSV,
100,000-line bank statement, scoring 20,000 papers). `--postgres`: the hops, and
the loads and jobs that run on PostgreSQL, once more on PostgreSQL.
One table: every figure, its target (tests/bench/verdicts.py) and PASS or MISS.
Each module also runs alone: `python -m tests.bench.<module>`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.support import infra

from . import (billing_statement, enrollment_csv, exam_autosave, exam_scoring, framework_cost, hop, lifecycles,
               learning_progress, raw_hop, verification)
from .verdicts import target_text, verdict

ROOT = Path(__file__).resolve().parents[2]


def summary(runs: list[dict], key: str = "rate") -> dict:
    values = [r[key] for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": runs}


# HTTP endpoints under load: (key, what, run on a fresh vhost -> {rate, p50_ms, p99_ms,
# max_rate, detail}), each at a fixed offered load, then at its most (closed loop).
def _progress(uri, database="sqlite"):
    r = learning_progress.run(uri)
    return {"rate": r["rate"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "max_rate": r["max"]["rate"],
            "detail": r}


def _autosave(uri, database="sqlite"):
    r = exam_autosave.run()  # on a vhost of its own
    fixed = r["fixed_load"]
    return {"rate": fixed["rate"], "p50_ms": fixed["p50_ms"], "p99_ms": fixed["p99_ms"],
            "max_rate": r["max_throughput"]["rate"], "detail": r}


def _verification(uri, database="sqlite"):
    r = verification.run(uri, database=database)
    return {"rate": r["rate"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "detail": r}  # closed loop only


def _scoring(uri, database="sqlite"):
    if database != "postgresql":
        return exam_scoring.run(20_000)
    url = infra.create_database("bench_exam")
    try:
        return exam_scoring.run(20_000, url)
    finally:
        infra.drop_database(url)


# (key, what, run(uri, database), runs on PostgreSQL too)
LOADS = [
    ("learning_progress", "progress reports, 330/s offered (20,000 learners)", _progress, False),
    ("exam_autosave", "autosaves, 670/s offered (a national sitting)", _autosave, False),
    ("verification", "public verification, 32 keep-alive clients, 20,000 client addresses, limiter on",
     _verification, True),
]
# Bulk jobs: (key, what, run(uri, database) -> {seconds, ...}, runs on PostgreSQL too).
JOBS = [
    ("enrollment_csv", "bulk enrollment CSV, 10,000 rows (HTTP)", lambda uri, db: enrollment_csv.run(uri, 10_000),
     False),
    ("billing_statement", "bank statement import, 100,000 lines (HTTP)",
     lambda uri, db: billing_statement.run(uri, 100_000, postgres=db == "postgresql"), True),
    ("exam_scoring", "close and score 20,000 papers", _scoring, True),
]


def in_fresh_vhost(measure, *args):
    """Each measurement on an empty broker of its own: nothing left over from the last."""
    vhost = infra.create_vhost()
    try:
        return measure(infra.amqp_uri(vhost), *args)
    finally:
        infra.delete_vhost(vhost)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--learners", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", default="hops,loads,jobs", help="which groups: hops, loads, jobs")
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL as well as SQLite")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    groups = set(args.only.split(","))
    console = Console(width=170)
    infra.delete_stale_vhosts()
    results: dict = {"measured_at": datetime.now(timezone.utc).isoformat(),
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "events_per_run": args.events, "runs": args.runs}
    if "hops" in groups:
        measure_hops(args, results, console, databases)
    if "loads" in groups:
        for database in databases:
            loads = results.setdefault(_group("loads", database), {})
            for key, what, run, on_postgres in LOADS:
                if database == "postgresql" and not on_postgres:
                    continue
                console.print(f"load ({database}): {what} × {args.runs}")
                runs = [in_fresh_vhost(run, database) for _ in range(args.runs)]
                entry = {"what": what, "rate": summary(runs), "p50_ms": summary(runs, "p50_ms"),
                         "p99_ms": summary(runs, "p99_ms")}
                if all("max_rate" in r for r in runs):
                    entry["max_rate"] = summary(runs, "max_rate")
                loads[key] = judged(key, database, entry)
    if "jobs" in groups:
        for database in databases:
            jobs = results.setdefault(_group("jobs", database), {})
            for key, what, run, on_postgres in JOBS:
                if database == "postgresql" and not on_postgres:
                    continue
                console.print(f"job ({database}): {what} × {args.runs}")
                jobs[key] = judged(key, database, {"what": what, "seconds": summary(
                    [in_fresh_vhost(run, database) for _ in range(args.runs)], "seconds")})
    console.print(table_of(results))
    out = ROOT / "var" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"written to {out.relative_to(ROOT)}")
    return 0


def _group(name: str, database: str) -> str:
    """Where a group's figures go in var/bench.json: `hops`, `loads`, `jobs` for SQLite
    (as before), `hops_postgresql` and so on for PostgreSQL."""
    return name if database == "sqlite" else f"{name}_{database}"


def judged(key: str, database: str, entry: dict) -> dict:
    """An entry with its database, its target and its verdict on the medians."""
    medians = {field: value["median"] for field, value in entry.items()
               if isinstance(value, dict) and "median" in value}
    return {**entry, "database": database, "target": target_text(key, database),
            "verdict": verdict(key, medians, database)}


def measure_hops(args, results: dict, console, databases=("sqlite",)) -> None:
    console.print(f"raw hop (pika, no database), {args.events} messages × {args.runs}")
    results["raw_hop"] = summary([in_fresh_vhost(raw_hop.run, args.events) for _ in range(args.runs)])
    for database in databases:
        hops = results.setdefault(_group("hops", database), {})
        for h in hop.HOPS:
            console.print(f"project hop {h.service} ({database}): {h.incoming} → {h.outgoing}")
            runs = summary([in_fresh_vhost(lambda uri, n: hop.run(h, uri, n, database), args.events)
                            for _ in range(args.runs)])
            ratio = runs["median"] / results["raw_hop"]["median"]
            hops[h.service] = {
                "incoming": h.incoming, "outgoing": h.outgoing, "events_per_second": runs,
                "ratio_to_raw_hop": ratio, "database": database, "target": target_text("hop", database),
                "verdict": verdict("hop", {"ratio": ratio}, database)}
    console.print(f"lifecycles: {args.learners} learners, {args.concurrency} at a time, × {args.runs}")
    results["lifecycles_per_second"] = summary(
        [in_fresh_vhost(lifecycles.run, args.learners, args.concurrency) for _ in range(args.runs)])
    console.print(f"framework cost: CPU per GET /health/live, service against bare Werkzeug × {args.runs}")
    runs = [in_fresh_vhost(framework_cost.run) for _ in range(args.runs)]
    results["framework_cost"] = {
        "service_cpu_us": summary([r["service"] for r in runs], "cpu_us_per_request"),
        "bare_werkzeug_cpu_us": summary([r["bare_werkzeug"] for r in runs], "cpu_us_per_request"),
        "runs": runs}


def table_of(results: dict) -> Table:
    """Every figure in one table: median, min … max, its ratio or p50/p99, its target
    and PASS or MISS (blank where issue 14 sets no target)."""
    table = Table(title=f"make bench — median of {results['runs']} runs (min … max)")
    for column in ("figure", "db", "median", "min … max", "ratio / p50, p99", "target", "verdict"):
        table.add_column(column, justify="left" if column in ("figure", "db", "target") else "right")

    def row(figure, db, s, fmt, extra="", entry=None):
        v = (entry or {}).get("verdict", "")
        table.add_row(figure, db, fmt.format(s["median"]), f"{fmt.format(s['min'])} … {fmt.format(s['max'])}",
                      extra, (entry or {}).get("target", ""),
                      f"[green]{v}[/]" if v == "PASS" else f"[red]{v}[/]" if v == "MISS" else "")

    if "raw_hop" in results:
        row("raw hop, msg/s (pika consume + confirmed republish)", "", results["raw_hop"], "{:,.0f}", "1.00")
    for database in ("sqlite", "postgresql"):
        for name, h in results.get(_group("hops", database), {}).items():
            row(f"{name} hop, events/s ({h['incoming']} → {h['outgoing']})", database, h["events_per_second"],
                "{:,.0f}", f"{h['ratio_to_raw_hop']:.2f}", h)
    if "lifecycles_per_second" in results:
        row("learner lifecycles/s (5 services, HTTP)", "sqlite", results["lifecycles_per_second"], "{:.2f}")
    if "framework_cost" in results:
        fc = results["framework_cost"]
        svc, bare = fc["service_cpu_us"], fc["bare_werkzeug_cpu_us"]
        ratio = f"{svc['median'] / bare['median']:.1f}× bare" if bare["median"] else ""
        row("CPU µs per GET /health/live, a service (nameko + ApiServer)", "", svc, "{:,.0f}", ratio)
        row("CPU µs per GET /health/live, bare Werkzeug, same eventlet server", "", bare, "{:,.0f}", "1.0× bare")
    for database in ("sqlite", "postgresql"):
        for load in results.get(_group("loads", database), {}).values():
            p50, p99 = load["p50_ms"], load["p99_ms"]
            row(f"{load['what']}, sustained/s", database, load["rate"], "{:,.1f}",
                f"{p50['median']:.1f} ms, {p99['median']:.1f} ms", load)
            if "max_rate" in load:
                row("  the same endpoint at its most, req/s", database, load["max_rate"], "{:,.0f}")
    for database in ("sqlite", "postgresql"):
        for job in results.get(_group("jobs", database), {}).values():
            row(f"{job['what']}, seconds", database, job["seconds"], "{:.1f}", "", job)
    return table


if __name__ == "__main__":
    raise SystemExit(main())
