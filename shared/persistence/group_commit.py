"""Group commit: writes that arrive together share one transaction and one disk sync.

At the exam-month peaks (progress heartbeats ~330/s, autosaves ~670/s) a write
costs less CPU than its commit: with SQLite `synchronous=FULL` every commit waits for
the disk, and under eventlet that wait blocks the whole process. So writes queue for
one writer greenlet, which takes what has queued (at most `batch`), runs each in its
own savepoint (a refused or failing write loses only its own rows and events),
commits once, and only then answers each caller: nothing is answered before it is
durable. A batch runs in `key` order, so replicas on PostgreSQL lock rows in one
order instead of deadlocking on them.

    progress = GroupCommit("progress", window_setting="PROGRESS_BATCH_WINDOW_SECONDS")
    ...
    return self.progress.run(lambda tx: actions.report_study(tx, ...), key=str(account))

`window` (seconds) lets the writer wait a moment after the first write for the ones
in flight to join: bigger batches, a little more latency.
"""
from __future__ import annotations

import logging

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from shared.observability import Metrics
from shared.resilience import Loops, is_database_outage

from .database import Database

log = logging.getLogger(__name__)


class _Write:
    __slots__ = ("work", "key", "done")

    def __init__(self, work, key):
        self.work, self.key, self.done = work, key, Event()


class GroupCommit(DependencyProvider):
    database = Database()
    metrics = Metrics()
    loops = Loops()

    def __init__(self, name: str, *, window_setting: str | None = None, window: float = 0.0,
                 batch: int = 200):
        self.name, self.window_setting, self.default_window, self.batch = name, window_setting, window, batch

    def setup(self):
        config = self.container.config
        self.window = float(config.get(self.window_setting, self.default_window)
                            if self.window_setting else self.default_window)
        self.queue = LightQueue()
        self.largest_batch = 0  # for operators and tests: does grouping happen?
        self._gt = None

    @property
    def loop_name(self) -> str:
        return f"group-commit-{self.name}"

    def start(self):
        self.loops.register(self.loop_name)
        self._gt = self.container.spawn_managed_thread(self._guarded, identifier=self.loop_name)

    def stop(self):
        # Nameko stops dependencies after the workers that wait here have finished.
        if self._gt is not None:
            self._gt.kill()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def run(self, work, key: str = ""):
        """`work(tx)` in a transaction shared with the writes queued beside it; its
        value (or its exception) comes back once that transaction committed."""
        write = _Write(work, key)
        self.queue.put(write)
        outcome, failed = write.done.wait()
        if failed:
            raise outcome
        return outcome

    def _guarded(self):
        try:
            self._run()
        except Exception as exc:  # a bug, not an outage: the process must be restarted
            self.loops.fatal(self.loop_name, exc)

    def _run(self):
        while True:
            self.loops.beat(self.loop_name)
            waiting = self.loops.is_waiting(self.loop_name)
            try:
                batch = [self.queue.get(timeout=1 if waiting else 5)]
            except Empty:
                if waiting:  # no write came to find out: ask the database itself
                    self._probe()
                continue
            if self.window:
                eventlet.sleep(self.window)
            while len(batch) < self.batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._commit(sorted(batch, key=lambda w: w.key))

    def _probe(self) -> None:
        try:
            self.database.ping()
        except Exception as exc:
            self.loops.waiting(self.loop_name, "database", exc)
        else:
            self.loops.recovered(self.loop_name)

    def _commit(self, batch: list[_Write]) -> None:
        self.largest_batch = max(self.largest_batch, len(batch))
        outcomes = []
        try:
            with self.database.transaction() as tx:
                for write in batch:
                    mark = len(tx.outgoing)
                    try:
                        with tx.session.begin_nested():
                            outcomes.append((write.work(tx), False))
                    except Exception as exc:  # this write only: its savepoint and its events go
                        del tx.outgoing[mark:]
                        outcomes.append((exc, True))
            self.metrics.group_commit_size.labels(self.name).observe(len(batch))
            self.loops.recovered(self.loop_name)
        except Exception as exc:  # the commit itself failed: nothing of the batch holds
            if is_database_outage(exc):  # each caller answers 503; the next batch tries again
                self.loops.waiting(self.loop_name, "database", exc)
            else:
                log.exception("group commit %s of %d writes failed", self.name, len(batch))
            outcomes = [(exc, True)] * len(batch)
        for write, outcome in zip(batch, outcomes):
            write.done.send(outcome)
