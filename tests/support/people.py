"""Valid test identities and applications."""
from __future__ import annotations

import random
from datetime import date

from shared.identity import check_character


def id_number(region: str = "360402", born: date = date(1990, 3, 7), seq: int | None = None) -> str:
    seq = random.randint(0, 999) if seq is None else seq
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def application(level="L4", **overrides) -> dict:
    body = {
        "full_name": "张三",
        "id_number": id_number(),
        "mobile": "13800138000",
        "level": level,
        "education": {"tier": "bachelor", "status": "graduated"},
        "related_work_months": 12,
        "sector": "power",
    }
    body.update(overrides)
    return body


def base(code="B001", **overrides) -> dict:
    body = {"code": code, "name": "江西碳排放培训基地", "contact": "李老师 0791-88888888",
            "authorized_from": "2026-01-01", "authorized_until": "2028-12-31"}
    body.update(overrides)
    return body
