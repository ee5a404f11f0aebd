"""Throttling failed logins (docs/identity.md, "Lockout"): growing delays per
account and per client address. Pure: counts and instants in, a verdict out.

After `free` consecutive failures every further attempt must wait; the wait
doubles with each failure from `first_delay` up to `cap`. A success clears an
account's count; a client's count is forgotten after `forget_after` without a
failure. An attempt made while waiting is refused unchecked (the password is not
even compared), so waiting cannot be shortened by guessing faster."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Policy:
    free: int
    first_delay: timedelta
    cap: timedelta
    forget_after: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait imposed after `failures` consecutive failures."""
        if failures < self.free:
            return timedelta(0)
        return min(self.first_delay * (2 ** (failures - self.free)), self.cap)


ACCOUNT = Policy(free=5, first_delay=timedelta(seconds=30), cap=timedelta(minutes=15),
                 forget_after=timedelta(hours=24))
CLIENT = Policy(free=20, first_delay=timedelta(seconds=30), cap=timedelta(hours=1),
                forget_after=timedelta(hours=1))


def current_failures(policy: Policy, failures: int, last_failure: datetime | None, now: datetime) -> int:
    """The count that still counts: old failures are forgotten."""
    if last_failure is None or now - last_failure >= policy.forget_after:
        return 0
    return failures


def wait_until(policy: Policy, failures: int, last_failure: datetime | None,
               now: datetime) -> datetime | None:
    """When the next attempt may be made, or None if it may be made now."""
    failures = current_failures(policy, failures, last_failure, now)
    if not failures or last_failure is None:
        return None
    until = last_failure + policy.delay(failures)
    return until if until > now else None
