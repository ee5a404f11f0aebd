"""Catalog versions: published through the API into the database (the shipped
catalog/v1.yaml is seeded as the first by a migration) and immutable once there.

A published version never changes, so its parsed form is cached per database: a
progress report does not re-read or re-validate the curriculum."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound

from .domain import Catalog, load_catalog
from .models import CatalogVersion

DIRECTORY = Path(__file__).parent / "catalog"  # the shipped YAML (seeded by a migration)

_parsed: dict[tuple[str, str], Catalog] = {}


class VersionExists(Conflict):
    slug = "catalog-version-exists"
    title = "That catalog version is already published"


def _key(session: Session, name: str) -> tuple[str, str]:
    return str(session.get_bind().url), name


def version(session: Session, name: str) -> Catalog:
    key = _key(session, name)
    if key not in _parsed:
        row = session.scalar(select(CatalogVersion).where(CatalogVersion.version == name))
        if row is None:
            raise NotFound(f"no catalog version {name}")
        _parsed[key] = load_catalog(row.data)
    return _parsed[key]


def current(session: Session) -> Catalog:
    """The newest published version: new accounts study it; open accounts keep theirs.
    Looked up once per transaction: a batch of `billing.paid` events shares it."""
    if "catalog_current" not in session.info:
        name = session.scalar(select(CatalogVersion.version).order_by(CatalogVersion.seq.desc()).limit(1))
        if name is None:
            raise NotFound("no catalog has been published")
        session.info["catalog_current"] = version(session, name)
    return session.info["catalog_current"]


def publish(session: Session, data: dict, by: str, now: datetime, note: str | None = None) -> tuple[Catalog, bool]:
    """Validate the whole catalog, then record it as the current version. (The
    catalog, whether it is new: the same content under its version again answers it.)"""
    catalog = load_catalog(data)
    try:
        with session.begin_nested():  # the unique version decides a race between two publishers
            if _published_as(session, catalog.version, data):
                return catalog, False
            session.add(CatalogVersion(version=catalog.version, data=data, published_at=now,
                                       published_by=by, note=note))
    except IntegrityError:  # another publisher won: the same content is a repeat
        if _published_as(session, catalog.version, data):
            return catalog, False
        raise VersionExists(f"catalog version {catalog.version} was just published") from None
    session.info.pop("catalog_current", None)
    return catalog, True


def _published_as(session: Session, version_: str, data: dict) -> bool:
    """True when the version is published with this content; refused when with other content."""
    published = session.scalar(select(CatalogVersion.data).where(CatalogVersion.version == version_))
    if published is None:
        return False
    if published == data:
        return True
    raise VersionExists(f"catalog version {version_} is already published with other content; "
                        "a published version never changes, publish a new one", version=version_)


def listing(session: Session) -> list[dict]:
    rows = session.scalars(select(CatalogVersion).order_by(CatalogVersion.seq)).all()
    newest = rows[-1].version if rows else None
    out = []
    for row in rows:
        catalog = version(session, row.version)
        out.append({"version": row.version, "published_at": row.published_at,
                    "published_by": row.published_by, "note": row.note,
                    "current": row.version == newest,
                    "program_class_hours": {level: catalog.program_hours(level)
                                            for level in catalog.programs}})
    return out
