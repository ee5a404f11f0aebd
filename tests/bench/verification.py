"""Public certificate verification under a crowd: certificates issued through the
certificate service's own actions (the holders recorded from `enrollment.enrolled`,
the certificates issued from passing `exam.graded`, signed with the test key), the
service in its own process (`python -m shared.runner`) with the rate limiter at its
production setting (30 lookups a minute per client), and load generators in
processes of their own sending GET /certificate/verify?number=…&name=… back to back
over many concurrent keep-alive connections (closed loop).

The crowd's addresses: the service runs with TRUSTED_PROXY_HOPS=1, as deployed
behind the ingress, and the generators stand where the ingress stands: each lookup
carries `X-Forwarded-For: <a visitor's address>` as the ingress would set it, the
visitors' addresses spread over a pool (10.x.y.z, default 20,000) so that no
visitor exceeds the limit. A 429 counts as an error and is shown.

    python -m tests.bench.verification [--certificates 2000] [--seconds 10] [--concurrency 32]
                                       [--generators 2] [--addresses 20000] [--postgres] [--small]"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.certificate import actions, signing
from services.certificate.models import Certificate
from shared.contracts import decode, encode
from shared.persistence import migrations
from shared.persistence.engine import make_engine
from shared.persistence.transaction import Transaction
from shared.tokens import generate_key_pair
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES, TEST_SETTINGS

from .hop import _enrolled, _graded

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_LIMIT = "30/minute"  # services/certificate/config.yaml's default
CHUNK = 500


def seed(database_url: str, certificates: int) -> list[dict]:
    """`certificates` issued through certificate's actions, the events as a consumer
    receives them (decoded from the wire form); their numbers and names. The
    `certificate.issued` events they emit are not written to the outbox: the relay
    would publish them during the measurement."""
    engine = make_engine(database_url)
    migrations.upgrade(engine, "services.certificate")
    signer = signing.load_signer(TEST_SETTINGS)
    for start in range(0, certificates, CHUNK):
        with Session(engine.execution_options(cea_write=True)) as session, session.begin():
            tx = Transaction(session, "certificate")
            span = range(start, min(start + CHUNK, certificates))
            actions.record_holders(tx, [decode(encode(_enrolled(i))) for i in span])
            actions.issue_on_passes(tx, [decode(encode(_graded(i))) for i in span], signer)
    with Session(engine) as session:
        made = [{"number": n, "name": name} for n, name in
                session.execute(select(Certificate.number, Certificate.holder_name))]
    engine.dispose()
    return made


def run(amqp_uri: str | None = None, certificates: int = 2000, seconds: float = 10, concurrency: int = 32,
        generators: int = 2, addresses: int = 20_000, database: str = "sqlite") -> dict:
    vhost = None
    if amqp_uri is None:
        vhost = infra.create_vhost()
        amqp_uri = infra.amqp_uri(vhost)
    _, public = generate_key_pair()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = (infra.create_database("bench_verify") if database == "postgresql"
               else f"sqlite:///{workdir}/certificate.sqlite3")
        try:
            made = seed(url, certificates)
            service = ServiceProcess(SERVICE_CLASSES["certificate"], {
                "AMQP_URI": amqp_uri, "DATABASE_URL": url, "JWT_PUBLIC_KEY": public.decode(),
                **TEST_SETTINGS, "VERIFY_RATE_LIMIT": PRODUCTION_LIMIT, "TRUSTED_PROXY_HOPS": "1"},
                workdir, "certificate")
            service.start()
            try:
                figures = generate(workdir, {"url": service.url, "lookups": made, "seconds": seconds,
                                             "concurrency": concurrency, "addresses": addresses}, generators)
            finally:
                service.stop()
        finally:
            if database == "postgresql":
                infra.drop_database(url)
            if vhost:
                infra.delete_vhost(vhost)
    return {"certificates": len(made), "database": database, "limit": PRODUCTION_LIMIT,
            "client_addresses": addresses, "generators": generators, **figures}


def generate(workdir: Path, spec: dict, generators: int) -> dict:
    """`generators` load processes at once, each with its share of the connections
    and of the address pool; their figures merged."""
    procs = []
    for g in range(generators):
        path = workdir / f"load-{g}.json"
        share = {**spec, "generator": g, "concurrency": max(1, spec["concurrency"] // generators),
                 "addresses": max(1, spec["addresses"] // generators)}
        path.write_text(json.dumps(share))
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.bench.verify_load", str(path)], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=spec["seconds"] + 120)
        if p.returncode != 0:
            raise RuntimeError(err[-3000:])
        outputs.append(json.loads(out))
    return merge(outputs)


def merge(outputs: list[dict]) -> dict:
    """The generators' figures as one: counts and rates add up; the percentiles come
    from all latencies together."""
    from .verify_load import percentile_ms
    latencies = sorted(x for o in outputs for x in o.pop("latencies"))
    seconds = max(o["seconds"] for o in outputs)
    ok = sum(o["ok"] for o in outputs)
    return {"n": sum(o["n"] for o in outputs), "ok": ok, "limited": sum(o["limited"] for o in outputs),
            "errors": sum(o["errors"] for o in outputs), "seconds": round(seconds, 2),
            "rate": round(ok / seconds, 1) if seconds else 0.0,
            "p50_ms": percentile_ms(latencies, 0.5), "p99_ms": percentile_ms(latencies, 0.99)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.verification")
    parser.add_argument("--certificates", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--small", action="store_true", help="a few certificates for 2 s: does it run")
    args = parser.parse_args(argv)
    if args.small:
        args.certificates, args.seconds, args.concurrency, args.generators = 50, 2, 4, 1
    from .verdicts import verdict
    r = run(None, args.certificates, args.seconds, args.concurrency, args.generators, args.addresses,
            "postgresql" if args.postgres else "sqlite")
    r["verdict"] = verdict("verification", r)
    print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
