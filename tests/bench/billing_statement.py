"""Importing a 100,000-line bank statement through the running billing service.

The billing service runs as its own process (`python -m shared.runner`, SQLite file by default,
or PostgreSQL with --postgres). Its database is seeded directly with the open
orders the statement pays (opening 100,000 orders through `enrollment.enrolled`
would measure the event path, which the hop benchmark already does, not the
import). Then one finance clerk's upload — a GBK file, one HTTP POST — is timed
from the request until the answer with every line's state; then the same lines
in another file (a blank line added: the same file would answer the first import
without reading it), every line a duplicate; then how long the relay takes to publish the
`billing.paid` events the import committed to the outbox.

    python -m tests.bench.billing_statement [--lines 100000] [--postgres]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import insert

from services.billing.domain.remarks import name_key
from services.billing.models import Order
from shared.persistence import migrations
from shared.persistence.engine import make_engine
from shared.tokens import generate_key_pair, mint
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲建国云飞志宇浩然子涵欣怡梓轩雨桐晨阳思远嘉怡佳琪文博一诺俊熙"
VARIANTS = ("{}—碳排放管理员", "{}——碳排放管理员", "{}-碳排放管理员", "{} 碳排放管理员", "{}－碳排放管理员",
            "{}_碳排放管理员 报名费", "{}　—　碳排放管理员")


def names(count: int, rng: random.Random) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 3)))))
    return sorted(seen)


def seed_orders(url: str, people: list[str], twins: int) -> None:
    """One open L4 order per name; the first `twins` names get a second one (two
    learners of the same name: their lines are ambiguous)."""
    engine = make_engine(url)
    migrations.upgrade(engine, "services.billing")
    now = datetime.now(timezone.utc)
    rows = [{"order_id": uuid.uuid4(), "enrollment_id": uuid.uuid4(), "kind": "enrollment", "retake_attempt": 0,
             "learner_id": uuid.uuid4(), "base_code": f"B{i % 50:03d}", "level": "L4", "full_name": name,
             "name_key": name_key(name), "amount_fen": 390000, "payment_remark": f"{name}—碳排放管理员",
             "status": "open", "opened_at": now}
            for i, name in enumerate(people + people[:twins])]
    with engine.execution_options(cea_write=True).begin() as conn:
        for start in range(0, len(rows), 10000):
            conn.execute(insert(Order), rows[start:start + 10000])
    engine.dispose()


def statement(people: list[str], lines: int, twins: int, rng: random.Random) -> bytes:
    """`lines` lines: mostly exact payments (remark variants), plus wrong amounts,
    unknown names, ambiguous twins, unreadable amounts and repeated lines."""
    out = io.StringIO()
    out.write("账号,0200 0000 0000 0000 000\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["交易日期", "交易时间", "交易流水号", "贷方金额", "对方户名", "对方账号", "附言"])
    day = datetime(2026, 11, 1)
    written = []
    for i in range(lines):
        at = day + timedelta(seconds=i * 7)
        kind = i % 100
        name = people[i % len(people)]
        amount = "3,900.00"
        if kind < 2 and twins:
            name = people[i % twins]                              # ambiguous
        elif kind < 5:
            amount = "3800.00"                                    # wrong amount
        elif kind < 7:
            name = "无名氏" + str(i)                               # unmatched
        elif kind == 7:
            amount = "n/a"                                        # invalid
        elif kind == 9 and written:
            writer.writerow(written[-1])                          # the same line again: duplicate
            continue
        row = [at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S"), f"BK{i:09d}", amount, name,
               f"62220202{i:011d}", rng.choice(VARIANTS).format(name)]
        writer.writerow(row)
        written.append(row)
    return out.getvalue().encode("gbk")


def run(amqp_uri: str, lines: int = 100_000, postgres: bool = False) -> dict:
    rng = random.Random(7)
    twins = max(1, lines // 500)
    people = names(lines, rng)
    private, public = generate_key_pair()
    with tempfile.TemporaryDirectory() as tmp:
        url = infra.create_database("bench_billing") if postgres else f"sqlite:///{tmp}/billing.sqlite3"
        try:
            seed_orders(url, people, twins)
            body = statement(people, lines, twins, rng)
            config = {"AMQP_URI": amqp_uri, "DATABASE_URL": url, "JWT_PUBLIC_KEY": public.decode(),
                      **TEST_SETTINGS}
            service = ServiceProcess(SERVICE_CLASSES["billing"], config, Path(tmp), "billing").start()
            try:
                return _measure(service.url, mint(private, "finance_clerk", subject="bench-clerk"), body, lines)
            finally:
                service.stop()
        finally:
            if postgres:
                infra.drop_database(url)


def _measure(base_url: str, token: str, body: bytes, lines: int) -> dict:
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    started = time.perf_counter()
    answer = http.post(f"{base_url}/billing/statements", data=body, params={"filename": "bench.csv"}, timeout=900)
    seconds = time.perf_counter() - started
    answer.raise_for_status()
    first = answer.json()
    started = time.perf_counter()
    again = http.post(f"{base_url}/billing/statements", data=body + b"\n", timeout=900)
    reimport = time.perf_counter() - started
    again.raise_for_status()
    started = time.perf_counter()
    while _outbox_backlog(base_url) > 0 and time.perf_counter() - started < 600:
        time.sleep(0.5)
    relay = time.perf_counter() - started
    assert sum(first["counts"].values()) == lines, first["counts"]
    assert set(again.json()["counts"]) <= {"duplicate", "invalid"}, again.json()["counts"]
    return {"n": lines, "bytes": len(body), "seconds": seconds, "rate": lines / seconds,
            "counts": first["counts"], "reimport_seconds": reimport,
            "outbox_drained_after_seconds": relay}


def _outbox_backlog(base_url: str) -> float:
    for line in requests.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith("cea_outbox_backlog"):
            return float(line.split()[-1])
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.billing_statement")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    vhost = infra.create_vhost()
    try:
        figures = run(infra.amqp_uri(vhost), args.lines, args.postgres)
    finally:
        infra.delete_vhost(vhost)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
