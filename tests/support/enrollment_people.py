"""Applicants with ID numbers drawn from a wide space: people.id_number() varies
only the 3-digit sequence, so a test with a dozen learners could draw one twice."""
from __future__ import annotations

import random
from datetime import date, timedelta

from tests.support import people


def id_number() -> str:
    born = date(1960, 1, 1) + timedelta(days=random.randrange(40 * 365))
    return people.id_number(born=born, seq=random.randrange(1000))


def application(level="L4", **overrides) -> dict:
    overrides.setdefault("id_number", id_number())
    return people.application(level, **overrides)
