"""A 10,000-row bulk-enrollment CSV through the running enrollment service over
HTTP: the service as its own process on SQLite, a fresh vhost, one upload.

Figures: the upload's wall time (every row checked, enrolled and its
`enrollment.enrolled` in the outbox), the time until the relay has published them
all, and the same file uploaded again (answered from the first result).

    python -m tests.bench.enrollment_csv [--rows 10000]
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from shared.identity import check_character
from shared.tokens import generate_key_pair, mint
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS
from tests.support.wait import wait_for

TIERS = ("secondary_vocational", "general_high_school", "junior_college", "bachelor")


def roster(rows: int) -> bytes:
    """`rows` distinct valid learners, every tenth one ineligible (a refused row)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["full_name", "id_number", "mobile", "level", "education_tier",
                     "education_status", "related_work_months", "sector"])
    for i in range(rows):
        born = date(1970, 1, 1) + timedelta(days=i // 1000)
        first17 = f"360402{born:%Y%m%d}{i % 1000:03d}"
        tier = "junior_secondary_or_below" if i % 10 == 9 else TIERS[i % 4]
        writer.writerow([f"学员{i:05d}", first17 + check_character(first17), f"139{i:08d}", "L4", tier,
                         "graduated", "12", "power"])
    return out.getvalue().encode("utf-8")


def _backlog(url: str) -> float:
    found = re.search(r"^cea_outbox_backlog\S*\s+(\S+)$", requests.get(url + "/metrics", timeout=10).text, re.M)
    return float(found.group(1)) if found else float("nan")


def run(amqp_uri: str, rows: int = 10000) -> dict:
    private, public = generate_key_pair()
    body = roster(rows)
    with tempfile.TemporaryDirectory() as tmp:
        config = {"AMQP_URI": amqp_uri, "DATABASE_URL": f"sqlite:///{tmp}/enrollment.sqlite3",
                  "JWT_PUBLIC_KEY": public.decode(), **TEST_SETTINGS}
        service = ServiceProcess(SERVICE_CLASSES["enrollment"], config, Path(tmp), "enrollment")
        service.start()
        try:
            admin = {"Authorization": f"Bearer {mint(private, 'admin')}"}
            today = date.today()
            requests.post(service.url + "/enrollment/bases", headers=admin, timeout=30, json={
                "code": "BENCH", "name": "基准测试基地", "contact": "bench",
                "authorized_from": (today - timedelta(days=1)).isoformat(),
                "authorized_until": (today + timedelta(days=365)).isoformat()}).raise_for_status()
            operator = {"Authorization": f"Bearer {mint(private, 'base_operator', base='BENCH')}",
                        "Content-Type": "text/csv"}
            started = time.perf_counter()
            answer = requests.post(service.url + "/enrollment/bulk-enrollments", data=body,
                                   headers=operator, timeout=600)
            upload_seconds = time.perf_counter() - started
            answer.raise_for_status()
            result = answer.json()
            wait_for(lambda: _backlog(service.url) == 0, timeout=600, interval=0.2,
                     message="the outbox never drained")
            published_seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = requests.post(service.url + "/enrollment/bulk-enrollments", data=body,
                                  headers=operator, timeout=600)
            replay_seconds = time.perf_counter() - started
            assert again.status_code == 200 and again.json()["replayed"], again.text[:300]
        finally:
            service.stop()
    assert result["created"] + result["failed"] == rows, result
    return {"n": rows, "bytes": len(body), "created": result["created"], "failed": result["failed"],
            "seconds": upload_seconds, "rate": rows / upload_seconds,
            "all_published_seconds": published_seconds, "replay_seconds": replay_seconds}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.enrollment_csv")
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args(argv)
    vhost = infra.create_vhost()
    try:
        figures = run(infra.amqp_uri(vhost), args.rows)
    finally:
        infra.delete_vhost(vhost)
    print(f"bulk enrollment CSV, {figures['n']} rows ({figures['bytes']:,} bytes): "
          f"{figures['created']} created, {figures['failed']} refused")
    print(f"  upload answered in   {figures['seconds']:.2f} s ({figures['rate']:,.0f} rows/s)")
    print(f"  all events published {figures['all_published_seconds']:.2f} s after the upload began")
    print(f"  same file again      {figures['replay_seconds']:.2f} s (first result, nothing created)")


if __name__ == "__main__":
    main()
