"""`make bench`: the figures of docs/benchmarks.md, each the median of several
runs with min and max, printed as a table and written to var/bench.json.

    python -m tests.bench [--events 20000] [--runs 3] [--learners 12] [--concurrency 4]
                          [--only hops,loads,jobs]

hops: the raw hop, each project hop and its ratio, learner lifecycles per second.
loads: HTTP endpoints at the exam-month load (progress reports, autosaves): the
sustained rate at a fixed offered load with p50/p99. jobs: bulk jobs' wall time
(10,000-row enrollment CSV, 100,000-line bank statement, scoring 20,000 papers).
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

from . import (billing_statement, enrollment_csv, exam_autosave, exam_scoring, hop, lifecycles,
               learning_progress, raw_hop)

ROOT = Path(__file__).resolve().parents[2]


def summary(runs: list[dict], key: str = "rate") -> dict:
    values = [r[key] for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": runs}


# HTTP endpoints under load: (key, what, run on a fresh vhost -> {rate, p50_ms, p99_ms,
# max_rate, detail}), each at a fixed offered load, then at its most (closed loop).
def _progress(uri):
    r = learning_progress.run(uri)
    return {"rate": r["rate"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "max_rate": r["max"]["rate"],
            "detail": r}


def _autosave(uri):
    r = exam_autosave.run()  # on a vhost of its own
    fixed = r["fixed_load"]
    return {"rate": fixed["rate"], "p50_ms": fixed["p50_ms"], "p99_ms": fixed["p99_ms"],
            "max_rate": r["max_throughput"]["rate"], "detail": r}


LOADS = [
    ("learning_progress", "progress reports, 330/s offered (20,000 learners)", _progress),
    ("exam_autosave", "autosaves, 670/s offered (a national sitting)", _autosave),
]
# Bulk jobs: (key, what, run -> {seconds, ...}).
JOBS = [
    ("enrollment_csv", "bulk enrollment CSV, 10,000 rows (HTTP)", lambda uri: enrollment_csv.run(uri, 10_000)),
    ("billing_statement", "bank statement import, 100,000 lines (HTTP)",
     lambda uri: billing_statement.run(uri, 100_000)),
    ("exam_scoring", "close and score 20,000 papers", lambda uri: exam_scoring.run(20_000)),
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
    args = parser.parse_args(argv)
    groups = set(args.only.split(","))
    console = Console(width=120)
    infra.delete_stale_vhosts()
    results: dict = {"measured_at": datetime.now(timezone.utc).isoformat(),
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "events_per_run": args.events, "runs": args.runs}
    if "hops" in groups:
        measure_hops(args, results, console)
    if "loads" in groups:
        results["loads"] = {}
        for key, what, run in LOADS:
            console.print(f"load: {what} × {args.runs}")
            runs = [in_fresh_vhost(run) for _ in range(args.runs)]
            results["loads"][key] = {"what": what, "rate": summary(runs), "p50_ms": summary(runs, "p50_ms"),
                                     "p99_ms": summary(runs, "p99_ms"), "max_rate": summary(runs, "max_rate")}
    if "jobs" in groups:
        results["jobs"] = {}
        for key, what, run in JOBS:
            console.print(f"job: {what} × {args.runs}")
            results["jobs"][key] = {"what": what,
                                    "seconds": summary([in_fresh_vhost(run) for _ in range(args.runs)], "seconds")}
    console.print(table_of(results))
    out = ROOT / "var" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"written to {out.relative_to(ROOT)}")
    return 0


def measure_hops(args, results: dict, console) -> None:
    console.print(f"raw hop (pika, no database), {args.events} messages × {args.runs}")
    results["raw_hop"] = summary([in_fresh_vhost(raw_hop.run, args.events) for _ in range(args.runs)])
    results["hops"] = {}
    for h in hop.HOPS:
        console.print(f"project hop {h.service}: {h.incoming} → {h.outgoing}")
        runs = summary([in_fresh_vhost(lambda uri, n: hop.run(h, uri, n), args.events)
                        for _ in range(args.runs)])
        results["hops"][h.service] = {
            "incoming": h.incoming, "outgoing": h.outgoing, "events_per_second": runs,
            "ratio_to_raw_hop": runs["median"] / results["raw_hop"]["median"]}
    console.print(f"lifecycles: {args.learners} learners, {args.concurrency} at a time, × {args.runs}")
    results["lifecycles_per_second"] = summary(
        [in_fresh_vhost(lifecycles.run, args.learners, args.concurrency) for _ in range(args.runs)])


def table_of(results: dict) -> Table:
    table = Table(title=f"make bench — median of {results['runs']} runs (min … max)")
    for column in ("figure", "median", "min … max", "ratio to raw hop / p50, p99"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    if "raw_hop" in results:
        raw = results["raw_hop"]
        table.add_row("raw hop, msg/s (pika consume + confirmed republish)", f"{raw['median']:,.0f}",
                      f"{raw['min']:,.0f} … {raw['max']:,.0f}", "1.00")
        for name, h in results["hops"].items():
            e = h["events_per_second"]
            table.add_row(f"{name} hop, events/s ({h['incoming']} → {h['outgoing']})", f"{e['median']:,.0f}",
                          f"{e['min']:,.0f} … {e['max']:,.0f}", f"{h['ratio_to_raw_hop']:.2f}")
        lc = results["lifecycles_per_second"]
        table.add_row("learner lifecycles/s (5 services, HTTP)", f"{lc['median']:.2f}",
                      f"{lc['min']:.2f} … {lc['max']:.2f}", "")
    for load in results.get("loads", {}).values():
        rate, p50, p99, top = load["rate"], load["p50_ms"], load["p99_ms"], load["max_rate"]
        table.add_row(f"{load['what']}, sustained/s", f"{rate['median']:,.1f}",
                      f"{rate['min']:,.1f} … {rate['max']:,.1f}",
                      f"{p50['median']:.1f} ms, {p99['median']:.1f} ms")
        table.add_row("  the same endpoint at its most, req/s", f"{top['median']:,.0f}",
                      f"{top['min']:,.0f} … {top['max']:,.0f}", "")
    for job in results.get("jobs", {}).values():
        sec = job["seconds"]
        table.add_row(f"{job['what']}, seconds", f"{sec['median']:.1f}", f"{sec['min']:.1f} … {sec['max']:.1f}", "")
    return table


if __name__ == "__main__":
    raise SystemExit(main())
