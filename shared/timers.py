"""`@periodic`: a service's timer (account expiry, closing papers, preparing sittings).

Like nameko's `@timer`, one run at a time, every `interval` seconds (a config
setting, with a default). Unlike it, a run that failed because the database is
away (or the broker refuses messages) is tried again after a capped backoff rather
than a whole interval later, with readiness false meanwhile; a run that failed
otherwise is logged and tried again at the next interval. SIGTERM ends the wait at
once and lets a run in progress finish.
"""
from __future__ import annotations

import time

import eventlet
from eventlet.event import Event as Signal
from nameko.extensions import Entrypoint

from shared.errors import Unavailable
from shared.resilience import DATABASE_OUTAGES, Backoff, Loops, is_database_outage


class Periodic(Entrypoint):
    loops = Loops()

    def __init__(self, setting: str | None = None, default: float = 60.0, eager: bool = False,
                 **kwargs):
        self.setting, self.interval, self.eager = setting, float(default), eager
        kwargs.setdefault("expected_exceptions", DATABASE_OUTAGES + (Unavailable,))
        super().__init__(**kwargs)

    @property
    def loop_name(self) -> str:
        return f"timer-{self.method_name}"

    def setup(self):
        if self.setting:
            self.interval = float(self.container.config.get(self.setting, self.interval))
        self._stopping = False
        self._wakeup = Signal()
        self._gt = None

    def start(self):
        # A run may take a while (closing a national sitting); only a run that
        # never ends counts as wedged.
        self.loops.register(self.loop_name, stall_after=max(600.0, 3 * self.interval))
        self._gt = self.container.spawn_managed_thread(self._run, identifier=self.loop_name)

    def stop(self):
        self._stopping = True
        if not self._wakeup.ready():
            self._wakeup.send(True)
        if self._gt is not None:
            self._gt.wait()
        self.loops.unregister(self.loop_name)

    def kill(self):
        self._stopping = True
        if self._gt is not None:
            self._gt.kill()

    def _run(self):
        backoff = Backoff()
        delay = 0.0 if self.eager else self.interval
        while self._pause(delay):
            failure = self._tick()
            if failure is None:
                self.loops.recovered(self.loop_name)
                backoff.reset()
                delay = self.interval
            elif is_database_outage(failure) or isinstance(failure, Unavailable):
                self.loops.waiting(self.loop_name, "database" if is_database_outage(failure)
                                   else "broker", failure)
                delay = min(backoff.next(), self.interval)
            else:  # logged by nameko with its traceback; the next interval tries again
                self.loops.beat(self.loop_name)
                delay = self.interval

    def _pause(self, seconds: float) -> bool:
        """Wait `seconds` (beating), unless stopping; True if the timer should run."""
        deadline = time.monotonic() + seconds
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            self.loops.beat(self.loop_name)
            with eventlet.Timeout(min(left, 5.0), False):
                self._wakeup.wait()
        return not self._stopping

    def _tick(self) -> BaseException | None:
        done = Signal()

        def handle_result(worker_ctx, result, exc_info):
            done.send(exc_info)
            return result, exc_info

        self.container.spawn_worker(self, (), {}, handle_result=handle_result)
        exc_info = done.wait()
        return exc_info[1] if exc_info else None


periodic = Periodic.decorator
