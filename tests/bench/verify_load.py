"""The verification load generator, in its own process (see verification.py): green
threads over keep-alive HTTP connections to 127.0.0.1 only, back to back for a
bounded time, each lookup from the next visitor address of this generator's share
of the pool (X-Forwarded-For, as the ingress sets it). Prints its figures as JSON."""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import http.client  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode, urlsplit  # noqa: E402


def percentile_ms(values, q):
    """The q-quantile (nearest rank) of sorted-or-not seconds, in milliseconds."""
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2) if values else None


def visitor_address(generator: int, i: int) -> str:
    """The i-th visitor of a generator: 10.<generator>.<high>.<low>, distinct up to 65,536."""
    return f"10.{generator % 256}.{(i >> 8) % 256}.{i % 256}"


def main(spec):
    parts = urlsplit(spec["url"])
    assert parts.hostname == "127.0.0.1", "load only against this machine"
    lookups = [f"/certificate/verify?{urlencode({'number': c['number'], 'name': c['name']})}"
               for c in spec["lookups"]]
    visitors = itertools.cycle(range(spec["addresses"]))
    latencies, statuses = [], []
    stop = time.monotonic() + spec["seconds"]

    def worker(w):
        rng, conn = random.Random(w), None
        while time.monotonic() < stop:
            path = rng.choice(lookups)
            headers = {"X-Forwarded-For": visitor_address(spec["generator"], next(visitors))}
            began = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                conn, status = None, 599
            latencies.append(time.monotonic() - began)
            statuses.append(status)

    start = time.monotonic()
    pool = eventlet.GreenPool(spec["concurrency"])
    for w in range(spec["concurrency"]):
        pool.spawn_n(worker, w)
    pool.waitall()
    seconds = time.monotonic() - start
    ok = sum(1 for s in statuses if s == 200)
    limited = sum(1 for s in statuses if s == 429)
    return {"n": len(statuses), "ok": ok, "limited": limited, "errors": len(statuses) - ok - limited,
            "seconds": seconds, "latencies": [x for x, s in zip(latencies, statuses) if s == 200]}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(open(sys.argv[1]).read()))))
