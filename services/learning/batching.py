"""Group commit for the progress reports.

At the exam-month peak (~330 reports/s) a report costs less CPU than its commit: with
SQLite `synchronous=FULL` every commit waits for the disk, and under eventlet that wait
blocks the whole process. So a report waits a moment (PROGRESS_BATCH_WINDOW_SECONDS,
2 ms) for the reports arriving beside it, or for the commit under way, and they run
together in one transaction, each in its own savepoint (a refused or failing report
leaves the others alone), answered once that transaction has committed. Nothing is
answered before it is durable. (The SQLite calls do not yield to other greenlets, so
without the window no second report could ever join a batch.)
"""
from __future__ import annotations

import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from prometheus_client import Histogram

from shared.observability import Metrics
from shared.persistence.database import Database


class _Report:
    __slots__ = ("work", "key", "done", "value", "error")

    def __init__(self, work, key):
        self.work, self.key, self.done, self.value, self.error = work, key, Event(), None, None


class GroupCommit(DependencyProvider):
    """`self.reports.run(lambda tx: ..., key)`: the function runs in a transaction shared
    with the reports queued beside it; its value (or its exception) comes back after
    commit. A batch runs in `key` order (the account), so replicas on PostgreSQL lock
    the accounts of their batches in one order instead of deadlocking on them."""

    database = Database()
    metrics = Metrics()

    def setup(self):
        self.pending: list[_Report] = []
        self.turn = Semaphore(1)  # one batch at a time; whoever holds it runs all pending
        self.window = float(self.container.config.get("PROGRESS_BATCH_WINDOW_SECONDS", 0.002))
        self.sizes = Histogram("cea_learning_progress_reports_per_commit", "Progress reports per group commit",
                               buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.metrics.registry)

    def get_dependency(self, worker_ctx):
        return self

    def run(self, work, key: str = ""):
        report = _Report(work, key)
        self.pending.append(report)
        with self.turn:
            if not report.done.ready():  # nobody took it into a batch yet: lead one
                if self.window:
                    eventlet.sleep(self.window)  # let the reports in flight join
                batch, self.pending = sorted(self.pending, key=lambda r: r.key), []
                self._commit(batch)
        report.done.wait()
        if report.error is not None:
            raise report.error
        return report.value

    def _commit(self, batch: list[_Report]) -> None:
        try:
            with self.database.transaction() as tx:
                for report in batch:
                    mark = len(tx.outgoing)
                    try:
                        with tx.session.begin_nested():
                            report.value = report.work(tx)
                    except Exception as exc:  # this report only: its savepoint and events go
                        del tx.outgoing[mark:]
                        report.error = exc
            self.sizes.observe(len(batch))
        except Exception as exc:  # the commit itself failed: nothing of the batch holds
            for report in batch:
                report.value, report.error = None, exc
        finally:
            for report in batch:
                report.done.send()
