"""Bulk enrollment: a base's CSV, every row enrolled or refused on its own.

The file is remembered by its SHA-256 per base: the same file again answers the
first result and creates nothing. Rows are enrolled a chunk at a time, each chunk
one transaction with its enrollments, their `enrollment.enrolled` events and the
rows' outcomes; its checks read the chunk's learners in two queries (Register).
Between chunks the transaction is closed and other greenlets run (SQLite has one
writer). A process that dies mid-file leaves the upload `processing`; once its
claim has lapsed the same file uploaded again resumes after the last chunk done.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import eventlet
from marshmallow import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from shared.calendar import program_date
from shared.contracts import enrollment as events
from shared.errors import Conflict, DomainError, NotFound
from shared.uploads import Upload
from shared.web.problems import PROBLEM_TYPE_BASE, UnsupportedMediaType

from . import actions, bulk_csv, domain, schemas
from .models import BulkUpload, BulkUploadRow, TrainingBase

CHUNK_ROWS = 500
CLAIM = timedelta(minutes=5)
CHUNK_ATTEMPTS = 3
_APPLICATION = schemas.Application()
# 20,000 rows of about 150 bytes, with room for long names and extra columns.
MAX_BYTES = 8 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


class UploadInProgress(Conflict):
    slug = "upload-in-progress"
    title = "This file is being processed"


def check_media_type(mimetype: str | None) -> None:
    """The file itself is the body (docs/bulk-enrollment.md), not a multipart form."""
    kind = (mimetype or "").lower()
    if kind not in CSV_TYPES:
        raise UnsupportedMediaType(f"send the file itself as the body with Content-Type: "
                                   f"text/csv (got {kind or 'none'})")


def bulk_enroll(db, principal, upload: Upload, id_key: bytes, clock, max_rows: int,
                charset: str | None = None) -> tuple[int, dict]:
    """201 with every row's outcome; 200 with the first result for a file seen before."""
    sheet = bulk_csv.read(upload, max_rows, charset)
    digest = upload.sha256
    with db.transaction() as tx:
        upload, replay = _claim(tx, principal, digest, sheet, clock())
    if not replay:
        _enroll_rows(db, upload, sheet, principal, id_key, clock)
        with db.transaction() as tx:
            _complete(tx, upload.upload_id, clock())
    with db.read() as session:
        return (200 if replay else 201), upload_view(session, upload.upload_id, replayed=replay)


def _claim(tx, principal, digest, sheet, now) -> tuple[BulkUpload, bool]:
    base = tx.session.get(TrainingBase, principal.base)
    domain.check_base_may_enroll(base, program_date(now))
    upload = tx.session.scalars(select(BulkUpload).where(
        BulkUpload.base_code == base.code, BulkUpload.content_sha256 == digest)
        .with_for_update()).one_or_none()
    if upload is not None:
        if upload.state == "complete":
            return upload, True
        if upload.claimed_until > now:
            raise UploadInProgress("this file is being processed; ask for its result again shortly",
                                   upload_id=str(upload.upload_id))
        upload.claimed_until = now + CLAIM  # the last attempt died: resume it
        return upload, False
    upload = BulkUpload(upload_id=uuid.uuid4(), base_code=base.code, content_sha256=digest,
                        encoding=sheet.encoding, rows=sheet.rows, created=0, failed=0,
                        state="processing", uploaded_by=principal.subject[:64], uploaded_at=now,
                        claimed_until=now + CLAIM)
    tx.session.add(upload)
    try:
        tx.session.flush()
    except IntegrityError:
        raise UploadInProgress("this file is being uploaded at the same moment; ask for its "
                               "result shortly") from None
    return upload, False


def _enroll_rows(db, upload, sheet, principal, id_key, clock) -> None:
    with db.read() as session:
        done = set(session.scalars(select(BulkUploadRow.row_number)
                                   .where(BulkUploadRow.upload_id == upload.upload_id)))
    for rows in sheet.chunks(CHUNK_ROWS):  # read again from the spooled file, a chunk at a time
        chunk = [r for r in rows if r.number not in done]
        if not chunk:
            continue
        for attempt in range(1, CHUNK_ATTEMPTS + 1):
            try:
                _enroll_chunk(db, upload.upload_id, chunk, principal, id_key, clock())
                break
            except actions.OpenEnrollmentExists:
                # A concurrent request enrolled one of these learners after the chunk
                # read the register: the chunk rolled back; read again and redo it.
                if attempt == CHUNK_ATTEMPTS:
                    raise
        eventlet.sleep(0)  # let the relay and the consumers run between chunks


def _enroll_chunk(db, upload_id, chunk, principal, id_key, now) -> None:
    today = program_date(now)
    outcomes, ready = {}, []
    for row in chunk:  # field and identity checks need no database
        try:
            ready.append((row, actions.prepare(_application(row), id_key, today)))
        except ValidationError as exc:
            outcomes[row.number] = _invalid(bulk_csv.field_errors(exc.messages))
        except DomainError as exc:
            outcomes[row.number] = _problem(exc)
    with db.transaction() as tx:
        session = tx.session
        base = session.get(TrainingBase, principal.base)
        upload = session.get(BulkUpload, upload_id)
        upload.claimed_until = now + CLAIM
        try:
            domain.check_base_may_enroll(base, today)  # suspended mid-upload: the rest fail
        except DomainError as exc:
            outcomes.update({row.number: _problem(exc) for row, _ in ready})
            ready = []
        register = actions.Register(session, [p for _, p in ready])
        for row, prepared in ready:
            try:
                enrollment_id = actions.enroll(tx, base, prepared, register, principal.subject, now)
                outcomes[row.number] = ("created", enrollment_id, None)
            except DomainError as exc:
                outcomes[row.number] = _problem(exc)
        actions.write_enrollments(session, register)
        session.execute(insert(BulkUploadRow), [
            {"upload_id": upload_id, "row_number": number, "outcome": outcome,
             "enrollment_id": enrollment_id, "problem": problem}
            for number, (outcome, enrollment_id, problem) in outcomes.items()])


def _application(row) -> dict:
    extra = [c for c in row.values.get("_extra", []) if c.strip()]
    if extra:
        raise ValidationError({"row": [f"{len(extra)} value(s) beyond the header's columns"]})
    return _APPLICATION.load(bulk_csv.application_from(row.values))


def _problem(exc: DomainError) -> tuple:
    body = {"type": PROBLEM_TYPE_BASE + exc.slug, "title": exc.title, "detail": exc.detail,
            **{k: v for k, v in exc.extra.items() if v not in (None, [], {})}}
    return "failed", None, json.dumps(body, ensure_ascii=False, default=str)


def _invalid(errors: dict) -> tuple:
    body = {"type": PROBLEM_TYPE_BASE + "validation-failed", "title": "The input is not valid",
            "detail": "some fields are not valid: " + ", ".join(sorted(errors)), "errors": errors}
    return "failed", None, json.dumps(body, ensure_ascii=False)


def _complete(tx, upload_id, now) -> None:
    upload = tx.session.get(BulkUpload, upload_id, with_for_update=True)
    counts = dict(tx.session.execute(select(BulkUploadRow.outcome, func.count())
                                     .where(BulkUploadRow.upload_id == upload_id)
                                     .group_by(BulkUploadRow.outcome)).all())
    upload.created, upload.failed = counts.get("created", 0), counts.get("failed", 0)
    upload.state, upload.completed_at = "complete", now
    tx.emit(events.RosterFinished, {
        "upload_id": upload.upload_id, "base_code": upload.base_code, "uploaded_by": upload.uploaded_by,
        "rows": upload.rows, "created": upload.created, "failed": upload.failed, "finished_at": now},
        correlation_id=upload.upload_id)


def find_upload(session, upload_id, principal) -> BulkUpload:
    upload = session.get(BulkUpload, upload_id)
    if upload is None or (principal.role == "base_operator" and upload.base_code != principal.base):
        raise NotFound(f"no bulk upload {upload_id}")
    return upload


def upload_view(session, upload_id, replayed: bool = False) -> dict:
    upload = session.get(BulkUpload, upload_id)
    rows = session.execute(select(BulkUploadRow).where(BulkUploadRow.upload_id == upload_id)
                           .order_by(BulkUploadRow.row_number)).scalars()
    return {**{c.key: getattr(upload, c.key) for c in BulkUpload.__table__.columns},
            "replayed": replayed,
            "results": [{"row": r.row_number, "outcome": r.outcome, "enrollment_id": r.enrollment_id,
                         "problem": json.loads(r.problem) if r.problem else None} for r in rows]}
