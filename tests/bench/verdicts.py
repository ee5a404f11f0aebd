"""Issue 14's targets and the verdict of a figure against them (pure: no I/O).

A target is a list of bounds on a figure's fields, per database when they differ;
`verdict` says PASS when every bound holds, MISS otherwise, and "" for a figure
without a target (printed for orientation only)."""
from __future__ import annotations

import operator

AT_LEAST, BELOW = (">=", operator.ge), ("<", operator.lt)

# key -> database ("any" for both) -> [(field, bound, value)]
TARGETS = {
    "hop": {"any": [("ratio", AT_LEAST, 0.5)]},
    "exam_autosave": {"any": [("p99_ms", BELOW, 100)]},
    "learning_progress": {"any": [("p99_ms", BELOW, 100)]},
    "verification": {"any": [("rate", AT_LEAST, 2000), ("p99_ms", BELOW, 20)]},
    "billing_statement": {"any": [("seconds", BELOW, 10)]},
    "enrollment_csv": {"any": [("seconds", BELOW, 5)]},
    "exam_scoring": {"sqlite": [("seconds", BELOW, 10)], "postgresql": [("seconds", BELOW, 60)]},
}
UNITS = {"ratio": "", "p99_ms": " ms", "rate": "/s", "seconds": " s"}
NAMES = {"ratio": "ratio", "p99_ms": "p99", "rate": "", "seconds": ""}


def bounds(key: str, database: str = "sqlite") -> list:
    by_database = TARGETS.get(key, {})
    return by_database.get(database, by_database.get("any", []))


def target_text(key: str, database: str = "sqlite") -> str:
    """The target as the table prints it, e.g. "≥ 2,000/s, p99 < 20 ms"."""
    return ", ".join(f"{NAMES[field]} {'≥' if op is AT_LEAST else '<'} {value:,}{UNITS[field]}".strip()
                     for field, op, value in bounds(key, database))


def verdict(key: str, figures: dict, database: str = "sqlite") -> str:
    checks = bounds(key, database)
    if not checks:
        return ""
    for field, (_, holds), value in checks:
        measured = figures.get(field)
        if measured is None or not holds(measured, value):
            return "MISS"
    return "PASS"
