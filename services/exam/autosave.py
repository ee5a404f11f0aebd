"""Group commit for autosaves. At a national sitting 20,000 candidates save every
30 s (about 670 saves a second); one transaction per save would pay one disk sync
per save and, on SQLite, queue every save behind the single writer. Instead the
saves that arrive together are applied in one transaction (a refused save is
refused before it writes anything, so it refuses only itself), and every
candidate gets their answer only after that transaction committed: the same
guarantee, one sync."""
from __future__ import annotations

import logging

from eventlet.event import Event
from eventlet.queue import LightQueue
from nameko.extensions import DependencyProvider, SharedExtension

from shared.errors import DomainError
from shared.persistence.database import Database

from . import papers

log = logging.getLogger(__name__)
BATCH = 200


class _Save:
    __slots__ = ("args", "done")

    def __init__(self, args):
        self.args, self.done = args, Event()


class AutosaveWriter(SharedExtension):
    database = Database()

    def setup(self):
        self.queue = LightQueue()
        self._gt = None
        self.largest_batch = 0  # for operators and tests: does grouping happen?

    def start(self):
        self._gt = self.container.spawn_managed_thread(self._run, identifier="autosave-writer")

    def stop(self):
        if self._gt is not None:
            self._gt.kill()

    kill = stop

    def save(self, paper_id, number, principal, answer, now) -> dict:
        item = _Save((paper_id, number, principal, answer, now))
        self.queue.put(item)
        outcome, failed = item.done.wait()
        if failed:
            raise outcome
        return outcome

    def _run(self):
        while True:
            batch = [self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._write(batch)

    def _write(self, batch):
        self.largest_batch = max(self.largest_batch, len(batch))
        outcomes = []
        try:
            with self.database.transaction() as tx:
                for item in batch:
                    try:
                        outcomes.append((papers.save_answer(tx, *item.args), False))
                    except DomainError as refused:
                        outcomes.append((refused, True))
        except Exception as exc:  # the commit failed: no save of the batch counted
            log.exception("autosave batch of %d failed", len(batch))
            outcomes = [(exc, True)] * len(batch)
        for item, outcome in zip(batch, outcomes):
            item.done.send(outcome)


class Autosave(DependencyProvider):
    writer = AutosaveWriter()

    def get_dependency(self, worker_ctx):
        return self.writer
