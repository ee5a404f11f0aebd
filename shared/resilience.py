"""What every background loop shares (architecture: "Faults and edges").

A loop tells a dependency's outage (the database or the broker is away: wait,
back off, go on by itself when it returns) from a bug (it cannot go on: the
process exits non-zero so that its supervisor restarts it). `Loops` keeps each
loop's last sign of life, for the probes: readiness is false while a loop waits
on a dependency; liveness fails only when a loop has stopped beating (wedged).
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field

import eventlet
from nameko.extensions import SharedExtension
from sqlalchemy import exc as sa

log = logging.getLogger(__name__)

# Armed by the process runner: a hard deadline for a process whose loop failed.
fatal_hooks: list = []


# What nameko should log as expected (a warning, no traceback) when a worker fails with it.
DATABASE_OUTAGES = (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)


def is_database_outage(exc: BaseException) -> bool:
    """The database is unreachable or refused for a passing reason (connection lost,
    locked, deadlock, statement timeout), as opposed to a refusal of this data."""
    if isinstance(exc, DATABASE_OUTAGES):
        return True
    return isinstance(exc, sa.DBAPIError) and bool(exc.connection_invalidated)


class Backoff:
    """Capped exponential backoff with jitter: 0.25 s, 0.5 s, ... at most `cap`."""

    def __init__(self, first: float = 0.25, cap: float = 5.0):
        self.first, self.cap, self.current = first, cap, first

    def next(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.cap)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.current = self.first


@dataclass
class LoopState:
    stall_after: float
    beat_at: float = field(default_factory=time.monotonic)
    waiting_on: str | None = None
    error: str | None = None
    since: float | None = None


class Loops(SharedExtension):
    """The service's background loops and how each is doing."""

    def __init__(self):
        super().__init__()
        self.loops: dict[str, LoopState] = {}

    def register(self, name: str, stall_after: float = 120.0) -> None:
        self.loops[name] = LoopState(stall_after=stall_after)

    def unregister(self, name: str) -> None:
        self.loops.pop(name, None)

    def beat(self, name: str) -> None:
        state = self.loops.get(name)
        if state is not None:
            state.beat_at = time.monotonic()

    def waiting(self, name: str, dependency: str, exc: BaseException) -> None:
        """The loop waits for `dependency` to come back (logged once per outage)."""
        state = self.loops.get(name)
        if state is None:
            return
        state.beat_at = time.monotonic()
        if state.waiting_on != dependency:
            log.warning("%s waits for the %s: %s", name, dependency, _first_line(exc))
            state.waiting_on, state.since = dependency, time.monotonic()
        state.error = _first_line(exc)

    def recovered(self, name: str) -> None:
        state = self.loops.get(name)
        if state is not None and state.waiting_on is not None:
            log.warning("%s goes on: the %s is back after %.1f s", name, state.waiting_on,
                        time.monotonic() - (state.since or time.monotonic()))
            state.waiting_on = state.error = state.since = None
        self.beat(name)

    def fatal(self, name: str, exc: BaseException) -> None:
        """The loop cannot go on: kill the container, so the process exits non-zero
        and its supervisor starts a fresh one (never a live process serving 500s)."""
        log.critical("%s cannot go on; the process stops so that it is restarted", name,
                     exc_info=(type(exc), exc, exc.__traceback__))
        for hook in fatal_hooks:
            hook()
        eventlet.spawn_n(self.container.kill, (type(exc), exc, exc.__traceback__))

    def is_waiting(self, name: str) -> bool:
        state = self.loops.get(name)
        return state is not None and state.waiting_on is not None

    def waiting_on(self) -> dict[str, str]:
        return {name: s.waiting_on for name, s in self.loops.items() if s.waiting_on}

    def stalled(self) -> list[str]:
        now = time.monotonic()
        return [name for name, s in self.loops.items() if now - s.beat_at > s.stall_after]

    def report(self) -> dict:
        now = time.monotonic()
        return {name: {"seconds_since_beat": round(now - s.beat_at, 1),
                       "waiting_on": s.waiting_on, "error": s.error}
                for name, s in sorted(self.loops.items())}


def sleep_while(running, seconds: float, step: float = 0.5) -> None:
    """Sleep up to `seconds`, but return early once `running()` turns false (SIGTERM)."""
    deadline = time.monotonic() + seconds
    while running() and (left := deadline - time.monotonic()) > 0:
        eventlet.sleep(min(step, left))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
