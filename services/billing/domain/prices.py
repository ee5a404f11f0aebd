"""The price schedule: what an order costs, by level (L4, L3) and for a paid
retake, set by administrators with an effective date. Pure: the schedule is a list
of entries, the instant is given.

An entry takes effect at 00:00 Asia/Shanghai of its date. The schedule is
append-only: a correction is a new entry, never an edit. Two entries of one kind on
the same date: the one recorded last wins (both stay in the history), so a
mistaken future price is corrected by recording it again. The starting entries
come from the configuration (BILLING_FEE_L4_FEN, BILLING_FEE_L3_FEN,
BILLING_RETAKE_FEE_FEN), in effect since always until an administrator's entry
takes over. An order keeps the amount it was opened at: the schedule is asked once,
when the order opens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.calendar import start_of_day
from shared.errors import InvalidInput, NotFound

LEVELS = ("L4", "L3")
RETAKE = "retake"
KINDS = LEVELS + (RETAKE,)
MAX_FEN = 10_000_000            # 100,000.00 CNY: more than any price of this program
LONGEST_NOTICE = timedelta(days=731)  # a price is set at most two years ahead
CONFIGURATION = "configuration"  # who recorded a starting entry


@dataclass(frozen=True)
class PriceEntry:
    kind: str                     # L4, L3 or retake
    amount_fen: int
    effective_from: date | None   # None: a starting entry, in effect since always
    sequence: int = 0             # the order entries were recorded in (0: starting)
    recorded_by: str = CONFIGURATION
    recorded_at: datetime | None = None
    reason: str | None = None

    @property
    def takes_effect_at(self) -> datetime | None:
        return start_of_day(self.effective_from) if self.effective_from else None


class NoPrice(NotFound):
    """Nothing in the schedule for that kind at that instant (not seeded)."""
    slug = "no-price"


def price_entry_in_effect(schedule: list[PriceEntry], kind: str, at: datetime) -> PriceEntry:
    """The entry of `kind` in effect at the instant `at`: the latest effective date
    not after `at` (00:00 Asia/Shanghai of that date), and of entries on one date the
    one recorded last."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: time must be timezone-aware")
    started = [e for e in schedule
               if e.kind == kind and (e.effective_from is None or e.takes_effect_at <= at)]
    if not started:
        raise NoPrice(f"no {kind} price in effect at {at.isoformat()}")
    return max(started, key=lambda e: (e.effective_from or date.min, e.sequence))


def price_in_effect(schedule: list[PriceEntry], kind: str, at: datetime) -> int:
    """The price in fen of `kind` (L4, L3, retake) at the instant `at`."""
    return price_entry_in_effect(schedule, kind, at).amount_fen


def current_schedule(schedule: list[PriceEntry], at: datetime) -> list[PriceEntry]:
    """Per kind: the entry in effect at `at`, then those still to come (by date),
    each date's last recorded only."""
    out = []
    for kind in KINDS:
        try:
            now = price_entry_in_effect(schedule, kind, at)
        except NoPrice:
            now = None
        later = {}
        for e in sorted((e for e in schedule if e.kind == kind and e.effective_from
                         and e.takes_effect_at > at), key=lambda e: (e.effective_from, e.sequence)):
            later[e.effective_from] = e
        out.extend(([now] if now else []) + list(later.values()))
    return out


def check_new_price(kind: str, amount_fen: int, effective_from: date, today: date) -> None:
    """An administrator's new entry: a known kind, a positive amount under MAX_FEN,
    effective today or later (never in the past: that would say orders already
    opened had another price) and at most two years ahead."""
    errors = {}
    if kind not in KINDS:
        errors["kind"] = [f"one of {', '.join(KINDS)}"]
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 1 <= amount_fen <= MAX_FEN:
        errors["amount_fen"] = [f"a whole number of fen from 1 to {MAX_FEN}"]
    if effective_from < today:
        errors["effective_from"] = [f"today ({today.isoformat()}, Asia/Shanghai) or later"]
    elif effective_from > today + LONGEST_NOTICE:
        errors["effective_from"] = [f"at most {LONGEST_NOTICE.days} days ahead"]
    if errors:
        raise InvalidInput("the price cannot be recorded", errors=errors)
