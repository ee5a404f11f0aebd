"""The one pagination convention of every list (docs/api-conventions.md).

A list endpoint takes `limit` (1..500, default 50) and `offset` (0 or more) in its
query string and answers `{"items": [...], "total": n, "limit": l, "offset": o}`:
`total` counts every match of the filter, so a client knows how many pages there
are; the next page starts at `offset + limit` while that is below `total`.

    class EnrollmentQuery(PageQuery):              # filters beside limit and offset
        status = fields.Str()

    EnrollmentList = page_of(Enrollment)           # the response schema

    rows, total = fetch_page(session, stmt, query) # SQL: one count, one page
    return page(rows, total, query)
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 10_000_000


class PageQuery(Schema):
    limit = fields.Int(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                       metadata={"description": f"items per page, 1 to {MAX_LIMIT}"})
    offset = fields.Int(load_default=0, validate=validate.Range(0, MAX_OFFSET),
                        metadata={"description": "how many matching items to skip"})


def page_of(item_schema: type[Schema], name: str | None = None) -> type[Schema]:
    """The response schema of a list of `item_schema`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Int(metadata={"description": "every item matching the filter"}),
        "limit": fields.Int(),
        "offset": fields.Int(),
    }, name=name or item_schema.__name__ + "Page")


def page(items: list, total: int, query: dict) -> dict:
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


def fetch_page(session, stmt, query: dict) -> tuple[list, int]:
    """One page of an ordered select, and the count of every row it matches."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(query["limit"]).offset(query["offset"])).all()
    return rows, total


def slice_page(items: list, query: dict) -> dict:
    """A page of a list already in memory (short lists: a catalog's versions)."""
    start = query["offset"]
    return page(items[start:start + query["limit"]], len(items), query)
