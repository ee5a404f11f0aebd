"""`make bench`: the figures of ../shared/benchmarks.md, each the median of several
runs with min and max, printed as a table and written to var/bench.json.

    python -m tests.bench [--events 20000] [--runs 3] [--learners 12] [--concurrency 4]
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

from . import hop, lifecycles, raw_hop

ROOT = Path(__file__).resolve().parents[2]


def summary(runs: list[dict]) -> dict:
    rates = [r["rate"] for r in runs]
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "runs": runs}


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
    args = parser.parse_args(argv)
    console = Console(width=120)
    infra.delete_stale_vhosts()
    results: dict = {"measured_at": datetime.now(timezone.utc).isoformat(),
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "events_per_run": args.events, "runs": args.runs}
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

    table = Table(title=f"make bench — median of {args.runs} runs (min … max)")
    for column in ("figure", "median", "min … max", "ratio to raw hop"):
        table.add_column(column, justify="left" if column == "figure" else "right")
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
    console.print(table)
    out = ROOT / "var" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    console.print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
