"""The local supervisor's liveness check (a supervisord event listener).

supervisord restarts a process that exits; this restarts one that is still there
but no longer answers its liveness probe (wedged, or paused), as Kubernetes does
with a livenessProbe: every TICK_5, GET each program's /health/live; after
`--failures` answers in a row that are not 200 (timeouts included), and once the
process has been up for `--grace` seconds, restart it.

    python -m shared.ops.watchdog --failures 3 --grace 30 \\
        enrollment=http://127.0.0.1:8001/health/live billing=...
"""
from __future__ import annotations

import argparse
import os
import sys

import requests
from supervisor import childutils


def probe(url: str, timeout: float) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def check(rpc, checks: dict[str, str], failures: dict[str, int], limit: int, grace: float,
          timeout: float) -> list[str]:
    """One round; the programs restarted."""
    restarted = []
    states = {p["name"]: p for p in rpc.supervisor.getAllProcessInfo()}
    for name, url in checks.items():
        info = states.get(name)
        if info is None or info["statename"] != "RUNNING" or info["now"] - info["start"] < grace:
            failures[name] = 0
            continue
        if probe(url, timeout):
            failures[name] = 0
            continue
        failures[name] = failures.get(name, 0) + 1
        if failures[name] >= limit:
            print(f"watchdog: {name} did not answer {url} {limit} times in a row; restarting it",
                  file=sys.stderr, flush=True)
            rpc.supervisor.stopProcess(name, True)
            rpc.supervisor.startProcess(name, False)
            failures[name] = 0
            restarted.append(name)
    return restarted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", type=int, default=3)
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("checks", nargs="*", help="program=url")
    args = parser.parse_args(argv)
    checks = dict(c.split("=", 1) for c in args.checks)
    rpc = childutils.getRPCInterface(os.environ)  # supervisord says where it listens
    failures: dict[str, int] = {}
    while True:
        headers, _payload = childutils.listener.wait(sys.stdin, sys.stdout)  # says READY first
        if headers["eventname"].startswith("TICK"):
            try:
                check(rpc, checks, failures, args.failures, args.grace, args.timeout)
            except Exception as exc:  # supervisord busy or stopping: try again next tick
                print(f"watchdog: {exc}", file=sys.stderr, flush=True)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
