"""Token lifetimes and the refresh-token rules (docs/identity.md, "Tokens"). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Lifetimes:
    access: timedelta = timedelta(minutes=10)
    setup: timedelta = timedelta(minutes=10)   # a token that may only finish the login's setup
    refresh_staff: timedelta = timedelta(hours=12)
    refresh_learner: timedelta = timedelta(days=7)
    family: timedelta = timedelta(days=30)     # then the person logs in again

    def refresh(self, kind: str) -> timedelta:
        return self.refresh_learner if kind == "learner" else self.refresh_staff


@dataclass(frozen=True)
class RefreshState:
    expires_at: datetime
    family_expires_at: datetime
    spent_at: datetime | None
    revoked_at: datetime | None


# Outcomes of presenting a refresh token.
ROTATE, EXPIRED, REVOKED, REUSED = "rotate", "expired", "revoked", "reused"


def on_refresh(token: RefreshState, now: datetime) -> str:
    """A spent token presented again means it was copied: the caller revokes its
    whole family (the thief's and the owner's sessions alike)."""
    if token.revoked_at is not None:
        return REVOKED
    if token.spent_at is not None:
        return REUSED
    if now >= token.expires_at or now >= token.family_expires_at:
        return EXPIRED
    return ROTATE


def next_expiry(lifetimes: Lifetimes, kind: str, family_expires_at: datetime, now: datetime) -> datetime:
    return min(now + lifetimes.refresh(kind), family_expires_at)
