"""Autosave at a national sitting's rate: 20,000 candidates saving every 30 s is
about 670 saves/s. The exam service runs in its own process (`python -m shared.runner`, SQLite)
on a sitting seeded through its models; a load generator in another process sends
PUT /exam/papers/<paper>/answers/<n> over keep-alive connections.

Two runs: a fixed offered load (open loop: requests are due at the rate whatever
the answers' speed; latency counts from when a request was due, so queueing
shows) and a maximum-throughput run (closed loop, `concurrency` connections
sending back to back).

    python -m tests.bench.exam_autosave [--papers 5000] [--rate 670] [--seconds 15] [--max-workers 128]"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from shared.tokens import generate_key_pair, mint
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

from .exam_seed import now_utc, seed

ROOT = Path(__file__).resolve().parents[2]


def run(papers: int = 5000, rate: float = 670, seconds: float = 15, max_seconds: float = 10,
        concurrency: int = 32, max_workers: int = 128) -> dict:
    private, public = generate_key_pair()
    vhost = infra.create_vhost()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir}/exam.sqlite3"
        starts = now_utc() - timedelta(minutes=5)
        made = seed(url, papers, starts, starts + timedelta(hours=2), answered=False)
        spec = {"papers": [{"paper": p["paper_id"], "token": mint(private, "learner", subject=p["learner_id"]),
                            "questions": p["questions"]} for p in made]}
        service = ServiceProcess(SERVICE_CLASSES["exam"], {
            "AMQP_URI": infra.amqp_uri(vhost), "DATABASE_URL": url, "JWT_PUBLIC_KEY": public.decode(),
            **TEST_SETTINGS, "max_workers": max_workers}, workdir, "exam")
        service.start()
        try:
            spec["url"] = service.url
            fixed = _generate(workdir, {**spec, "mode": "open", "rate": rate, "seconds": seconds})
            most = _generate(workdir, {**spec, "mode": "closed", "concurrency": concurrency,
                                       "seconds": max_seconds})
        finally:
            service.stop()
            infra.delete_vhost(vhost)
    return {"papers": papers, "offered_rate": rate, "fixed_load": fixed, "max_throughput": most}


def _generate(workdir: Path, spec: dict) -> dict:
    path = workdir / "load.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([sys.executable, "-m", "tests.bench.exam_load", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=spec["seconds"] + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.exam_autosave")
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=670)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-workers", type=int, default=128, help="the service's (EXAM_MAX_WORKERS)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.papers, args.rate, args.seconds, args.max_seconds, args.concurrency,
                         args.max_workers), indent=2))


if __name__ == "__main__":
    main()
