"""The autosave load generator, in its own process (see exam_autosave.py): green
threads over keep-alive HTTP connections to 127.0.0.1 only, bounded in time.
Prints its figures as JSON."""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from eventlet.queue import LightQueue  # noqa: E402

MAX_IN_FLIGHT = 512  # the open loop never holds more connections than this


def _answer(rng, type_, options):
    letters = [chr(65 + i) for i in range(options)]
    return {"single_choice": lambda: rng.choice(letters),
            "multiple_choice": lambda: rng.sample(letters, 2),
            "true_false": lambda: rng.random() < 0.5,
            "short_answer": lambda: "按要点作答：碳排放核算边界"}[type_]()


class Saver:
    def __init__(self, spec, seed):
        self.spec, self.rng = spec, random.Random(seed)
        parts = urlsplit(spec["url"])
        assert parts.hostname == "127.0.0.1", "load only against this machine"
        self.host, self.port = parts.hostname, parts.port
        self.conn = None

    def save(self) -> int:
        p = self.rng.choice(self.spec["papers"])
        number = self.rng.randrange(len(p["questions"])) + 1
        type_, options = p["questions"][number - 1]
        body = json.dumps({"answer": _answer(self.rng, type_, options)})
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request("PUT", f"/exam/papers/{p['paper']}/answers/{number}", body,
                                  {"Authorization": f"Bearer {p['token']}", "Content-Type": "application/json"})
                answer = self.conn.getresponse()
                answer.read()
                return answer.status
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    return 599


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else None


def figures(latencies, statuses, seconds):
    ok = sum(1 for s in statuses if s == 200)
    return {"n": len(statuses), "ok": ok, "errors": len(statuses) - ok, "seconds": round(seconds, 2),
            "rate": round(ok / seconds, 1), "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2)}


def open_loop(spec):
    rate, seconds = spec["rate"], spec["seconds"]
    idle = LightQueue()
    savers = [Saver(spec, i) for i in range(MAX_IN_FLIGHT)]
    for s in savers:
        idle.put(s)
    latencies, statuses, pool = [], [], eventlet.GreenPool(MAX_IN_FLIGHT)

    def one(due):
        saver = idle.get()
        status = saver.save()
        latencies.append(time.monotonic() - due)  # from when it was due: queueing counts
        statuses.append(status)
        idle.put(saver)

    start = time.monotonic()
    sent = 0
    while True:
        due = start + sent / rate
        now = time.monotonic()
        if due - start >= seconds:
            break
        if due > now:
            eventlet.sleep(due - now)
        pool.spawn_n(one, due)
        sent += 1
    pool.waitall()
    return figures(latencies, statuses, time.monotonic() - start) | {"offered": rate}


def closed_loop(spec):
    latencies, statuses = [], []
    stop = time.monotonic() + spec["seconds"]

    def worker(i):
        saver = Saver(spec, 10_000 + i)
        while time.monotonic() < stop:
            began = time.monotonic()
            statuses.append(saver.save())
            latencies.append(time.monotonic() - began)

    start = time.monotonic()
    pool = eventlet.GreenPool(spec["concurrency"])
    for i in range(spec["concurrency"]):
        pool.spawn_n(worker, i)
    pool.waitall()
    return figures(latencies, statuses, time.monotonic() - start) | {"concurrency": spec["concurrency"]}


if __name__ == "__main__":
    spec = json.loads(open(sys.argv[1]).read())
    print(json.dumps(open_loop(spec) if spec["mode"] == "open" else closed_loop(spec)))
