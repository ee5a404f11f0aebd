"""What certificate does, one function per action or event, over a transaction."""
from __future__ import annotations

import csv
import io
import json
import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

from sqlalchemy import select

from shared import identity
from shared.calendar import program_date
from shared.contracts import certificate as events
from shared.errors import Conflict, NotFound
from shared.messaging.consumer import Defer
from shared.web.pagination import fetch_page

from . import credentials, domain, signing, talent_export
from .models import Certificate, Holder, NumberSequence


def record_holders(tx, enrolled: list) -> None:
    """Certificate's projection of enrollments (who would be certified, as enrolled)."""
    tx.insert_absent(Holder, [{
        "enrollment_id": e.data["enrollment_id"], "learner_id": e.data["learner_id"], "level": e.data["level"],
        "full_name": e.data["full_name"], "id_number_hash": e.data["id_number_hash"],
        "id_number_masked": e.data["id_number_masked"], "base_code": e.data["base_code"],
        "base_name": e.data["base_name"]} for e in enrolled], key="enrollment_id")


def issue_on_passes(tx, graded: list, signer) -> None:
    """A pass issues exactly one certificate per enrollment (unique enrollment +
    serial); a later passed attempt (a re-marking) certifies nothing more. A batch
    reads its holders, their certificates and the number sequences once and
    inserts its certificates at once."""
    passes = [event for event in graded if event.data["passed"]]
    if not passes:
        return
    session = tx.session
    wanted = {event.data["enrollment_id"] for event in passes}
    holders = {row.enrollment_id: row for row in session.scalars(
        select(Holder).where(Holder.enrollment_id.in_(wanted)))}
    unknown = wanted - holders.keys()
    if unknown:  # alone, the event that came too early is retried; the others go on
        raise Defer(f"enrollment {next(iter(unknown))} not yet known to certificate")
    certified = set(session.scalars(select(Certificate.enrollment_id).where(
        Certificate.enrollment_id.in_(wanted))))
    # The status list's row first, always: batches then take the number rows in its
    # shadow and cannot deadlock on them in different orders.
    _sequence_row(session, *STATUS_LIST_SEQUENCE)
    rows = []
    for event in passes:
        holder = holders[event.data["enrollment_id"]]
        if holder.enrollment_id in certified:
            continue
        certified.add(holder.enrollment_id)
        issued_on = program_date(event.data["graded_at"])
        sequence = _next_sequence(session, holder.level, issued_on.year)
        certificate = SimpleNamespace(  # the row to insert; no ORM object to track
            certificate_id=uuid.uuid4(),
            number=domain.certificate_number(holder.level, issued_on.year, holder.base_code, sequence),
            serial=1, enrollment_id=holder.enrollment_id, learner_id=holder.learner_id, level=holder.level,
            holder_name=holder.full_name, id_number_hash=holder.id_number_hash,
            id_number_masked=holder.id_number_masked, base_code=holder.base_code,
            base_name=holder.base_name, issued_on=issued_on, issued_at=event.occurred_at, status="valid",
            origin="issued", imported_at=None, imported_by=None, import_file_sha256=None,
            status_index=next_status_index(session))
        _sign(certificate, signer)
        rows.append(vars(certificate))
        tx.caused_by(event).emit(events.Issued, {
            "certificate_id": certificate.certificate_id, "certificate_number": certificate.number,
            "enrollment_id": certificate.enrollment_id, "learner_id": certificate.learner_id,
            "level": certificate.level, "holder_name": certificate.holder_name,
            "id_number_hash": certificate.id_number_hash, "id_number_masked": certificate.id_number_masked,
            "base_code": certificate.base_code, "issued_on": certificate.issued_on,
            "issued_at": certificate.issued_at})
    tx.insert_rows(Certificate, rows)


def _sign(certificate: Certificate, signer) -> None:
    signed = signer.document(domain.signed_content(certificate))
    certificate.key_id, certificate.signature = signed["key_id"], signed["signature"]


def _next_sequence(session, level: str, year: int) -> int:
    row = _sequence_row(session, level, year)
    row.last += 1
    return row.last


def _sequence_row(session, level: str, year: int) -> NumberSequence:
    # The row stays locked to the end of the transaction, so a batch of passes
    # fetches it once; one a rolled-back savepoint took out of the session is fetched again.
    held = session.info.setdefault("number_sequences", {})
    row = held.get((level, year))
    if row is None or row not in session:
        row = session.scalar(select(NumberSequence).where(NumberSequence.level == level,
                                                          NumberSequence.year == year).with_for_update())
        if row is None:
            row = NumberSequence(level=level, year=year, last=0)
            session.add(row)
        held[(level, year)] = row
    return row


class NoSuchCertificate(NotFound):
    slug = "certificate-not-found"
    title = "No certificate matches"


def _records(session, number: str) -> list[Certificate]:
    """Every serial of a number, the current (highest) first."""
    return list(session.scalars(select(Certificate).where(Certificate.number == number)
                                .order_by(Certificate.serial.desc())))


def verify(session, number: str, name: str) -> dict:
    """Anyone, by number and holder name. An unknown number, a mistyped one and a
    wrong name all answer the same, so the registry cannot be enumerated.

    The name may be the current one or the one on a superseded serial (a verifier
    holding the old document): the answer is the serial that name is on, with the
    number's history, so the old document shows as superseded."""
    typed = domain.normalize_number(number)
    records = _records(session, typed) if typed else []
    if not domain.check_number(typed):  # only an imported certificate keeps a number of another shape
        records = [r for r in records if r.origin == "imported"]
    matched = next((r for r in records if domain.same_name(name, r.holder_name)), None)
    if matched is None:
        raise NoSuchCertificate("no certificate matches this number and name")
    return {"status": matched.status, "number": matched.number, "serial": matched.serial,
            "origin": matched.origin,
            "holder_name": matched.holder_name, "level": matched.level,
            "issued_on": matched.issued_on, "base_name": matched.base_name,
            "id_number_masked": matched.id_number_masked, "current_serial": records[0].serial,
            "history": [{"serial": r.serial, "status": r.status, "since": _since(r)}
                        for r in reversed(records)]}


def _since(record: Certificate):
    if record.status_changed_at is not None:
        return program_date(record.status_changed_at)
    return record.issued_on if record.serial == 1 else program_date(record.issued_at)


def verify_url(public_base_url: str, certificate: Certificate) -> str:
    query = urlencode({"number": certificate.number, "name": certificate.holder_name})
    return f"{public_base_url.rstrip('/')}/certificate/verify/page?{query}"


def current_of_enrollment(session, enrollment_id, principal) -> Certificate:
    certificate = session.scalars(select(Certificate).where(Certificate.enrollment_id == enrollment_id)
                                  .order_by(Certificate.serial.desc())).first()
    if certificate is None or not _may_see(certificate, principal):
        raise NotFound(f"no certificate for enrollment {enrollment_id}")
    return certificate


def view(certificate: Certificate, public_base_url: str) -> dict:
    return {**{c.key: getattr(certificate, c.key) for c in Certificate.__table__.columns},
            "verify_url": verify_url(public_base_url, certificate)}


def of_enrollment(session, enrollment_id, principal, public_base_url: str) -> dict:
    return view(current_of_enrollment(session, enrollment_id, principal), public_base_url)


def signed_document(certificate: Certificate) -> dict:
    """The downloadable certificate file: exactly what was signed, and the signature."""
    return signing.certificate_file(domain.signed_content(certificate), certificate.key_id,
                                    certificate.signature)


def _may_see(certificate: Certificate, principal) -> bool:
    if principal.role == "learner":
        return str(certificate.learner_id) == principal.subject
    if principal.role == "base_operator":
        return certificate.base_code == principal.base
    return principal.role == "admin"


# -- the talent registry ---------------------------------------------------------

def search(session, criteria: dict, id_key: bytes, today, query: dict) -> tuple[list[Certificate], int]:
    """Administrators: the current serial of each certificate matching every criterion
    given, newest first; one page of them (`query`: limit, offset) and their count."""
    stmt = _registry_query(criteria, id_key, today)
    return fetch_page(session, stmt.order_by(Certificate.issued_on.desc(), Certificate.number), query)


def export(session, criteria: dict, id_key: bytes, today) -> list[Certificate]:
    return list(session.scalars(_registry_query(criteria, id_key, today)
                                .order_by(Certificate.issued_on, Certificate.number)))


def _registry_query(criteria: dict, id_key: bytes, today):
    query = select(Certificate)
    if not criteria.get("include_superseded"):
        query = query.where(Certificate.status != "superseded")
    if criteria.get("name"):
        pattern = "%" + criteria["name"].strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Certificate.holder_name.like(pattern, escape="\\"))
    if criteria.get("number"):
        query = query.where(Certificate.number == domain.normalize_number(criteria["number"]))
    for field in ("level", "base_code", "status"):
        if criteria.get(field):
            query = query.where(getattr(Certificate, field) == criteria[field])
    if criteria.get("issued_from"):
        query = query.where(Certificate.issued_on >= criteria["issued_from"])
    if criteria.get("issued_to"):
        query = query.where(Certificate.issued_on <= criteria["issued_to"])
    if criteria.get("id_number"):
        id_number = identity.parse_id_number(criteria["id_number"], today)
        query = query.where(Certificate.id_number_hash == identity.keyed_hash(id_number.value, id_key))
    return query


CSV_COLUMNS = ("number", "serial", "status", "holder_name", "id_number_masked", "level", "issued_on",
               "base_code", "base_name")


def registry_csv(rows: list[Certificate]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value):
    """A spreadsheet must not run a cell as a formula (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# -- corrections and revocation -----------------------------------------------------

def _current_for_change(session, number: str) -> Certificate:
    typed = domain.normalize_number(number)
    certificate = session.scalars(select(Certificate).where(Certificate.number == typed)
                                  .order_by(Certificate.serial.desc()).with_for_update()).first()
    if certificate is None:
        raise NoSuchCertificate(f"no certificate numbered {typed}")
    return certificate


def correct(tx, number: str, correction: dict, signer, id_key: bytes, now) -> tuple[Certificate, bool]:
    """The learner's data was wrong: reissue the number with the next serial, newly
    signed; the current one becomes superseded. (The reissue, whether it is new:
    the same correction again answers the reissue it made.)"""
    current = _current_for_change(tx.session, number)
    new_id = None
    if correction.get("id_number"):
        new_id = identity.parse_id_number(correction["id_number"], program_date(now))
    new_hash = identity.keyed_hash(new_id.value, id_key) if new_id else None
    if current.status == "valid" and domain.repeats_correction(
            current.serial, current.correction_reason, current.holder_name, current.id_number_hash,
            correction.get("holder_name"), new_hash, correction["reason"]):
        return current, False
    domain.check_correction(current.status, current.holder_name, current.id_number_hash,
                            correction.get("holder_name"), new_hash)
    reissued = Certificate(
        certificate_id=uuid.uuid4(), number=current.number, serial=current.serial + 1,
        enrollment_id=current.enrollment_id, learner_id=current.learner_id, level=current.level,
        holder_name=(correction.get("holder_name") or current.holder_name).strip(),
        id_number_hash=new_hash or current.id_number_hash,
        id_number_masked=new_id.masked if new_id else current.id_number_masked,
        base_code=current.base_code, base_name=current.base_name, issued_on=current.issued_on,
        issued_at=now, status="valid", correction_reason=correction["reason"], origin=current.origin,
        imported_at=current.imported_at, imported_by=current.imported_by,
        import_file_sha256=current.import_file_sha256, status_index=next_status_index(tx.session))
    _sign(reissued, signer)
    current.status, current.status_changed_at = "superseded", now
    tx.session.add(reissued)
    tx.emit(events.ReissuedV2, {
        "certificate_id": reissued.certificate_id, "certificate_number": reissued.number,
        "serial": reissued.serial, "superseded_certificate_id": current.certificate_id,
        "enrollment_id": reissued.enrollment_id, "learner_id": reissued.learner_id,
        "level": reissued.level, "holder_name": reissued.holder_name,
        "id_number_hash": reissued.id_number_hash, "id_number_masked": reissued.id_number_masked,
        "issued_on": reissued.issued_on, "reason": correction["reason"], "reissued_at": now},
        correlation_id=reissued.enrollment_id or reissued.certificate_id)
    return reissued, True


def revoke(tx, number: str, reason: str, now) -> Certificate:
    """An administrator revokes the certificate (fraud): verification shows it revoked."""
    current = _current_for_change(tx.session, number)
    domain.check_revocation(current.status)
    current.status, current.status_changed_at, current.revocation_reason = "revoked", now, reason
    tx.emit(events.RevokedV2, {
        "certificate_id": current.certificate_id, "certificate_number": current.number,
        "enrollment_id": current.enrollment_id, "learner_id": current.learner_id,
        "level": current.level, "id_number_hash": current.id_number_hash, "reason": reason,
        "revoked_at": now}, correlation_id=current.enrollment_id or current.certificate_id)
    return current


# -- certificates issued before this system ------------------------------------------

class ImportedMeanwhile(Conflict):
    slug = "imported-meanwhile"
    title = "Another import wrote the same certificates meanwhile"


STATUS_LIST_SEQUENCE = ("SL", 0)  # the number_sequences row that hands out status list indices


def next_status_index(session) -> int:
    """The next free bit of the published status list (0, 1, 2...; never reused)."""
    return _next_sequence(session, *STATUS_LIST_SEQUENCE) - 1


def import_certificates(tx, rows: list[tuple[int, dict]], file_sha256: str, imported_by: str,
                        signer, id_key: bytes, now) -> list[dict]:
    """Every row of an import file answered: imported, already imported (the same
    certificate again: nothing changes) or refused with its reasons."""
    session, today = tx.session, program_date(now)
    results, made = [], {}
    for line, values in rows:
        row, reasons = domain.check_import_row(values, today)
        if row is None:
            results.append({"row": line, "number": values.get("number") or None,
                            "outcome": domain.REFUSED, "reasons": reasons})
            continue
        row_hash = identity.keyed_hash(row.id_number, id_key)
        existing = made.get(row.number) or session.scalars(
            select(Certificate).where(Certificate.number == row.number)
            .order_by(Certificate.serial.desc())).first()
        outcome, reasons = domain.import_outcome(row, row_hash, existing)
        answer = {"row": line, "number": row.number, "outcome": outcome, "reasons": reasons}
        if existing is not None and outcome == domain.ALREADY_IMPORTED:
            answer["certificate_id"] = existing.certificate_id
        if outcome == domain.IMPORTED:
            certificate = Certificate(
                certificate_id=uuid.uuid4(), number=row.number, serial=1, enrollment_id=None,
                learner_id=None, level=row.level, holder_name=row.holder_name, id_number_hash=row_hash,
                id_number_masked=identity.mask(row.id_number), base_code=row.base_code,
                base_name=row.base_name, issued_on=row.issued_on, issued_at=now, status="valid",
                origin="imported", imported_at=now, imported_by=imported_by,
                import_file_sha256=file_sha256, status_index=next_status_index(session))
            _sign(certificate, signer)
            session.add(certificate)
            made[row.number] = certificate
            answer["certificate_id"] = certificate.certificate_id
            tx.emit(events.Imported, {
                "certificate_id": certificate.certificate_id, "certificate_number": certificate.number,
                "level": certificate.level, "holder_name": certificate.holder_name,
                "id_number_hash": row_hash, "id_number_masked": certificate.id_number_masked,
                "base_code": certificate.base_code, "base_name": certificate.base_name,
                "issued_on": certificate.issued_on, "imported_at": now, "imported_by": imported_by,
                "import_file_sha256": file_sha256}, correlation_id=certificate.certificate_id)
        results.append(answer)
    return results


# -- verifiable credentials and their status list ------------------------------------

def credential_jwt(certificate: Certificate, signer, public_base_url: str) -> str:
    """The certificate record as a `vc+jwt` credential, signed with the current key."""
    return signer.sign_jwt(credentials.certificate_claims(certificate, public_base_url))


def current_by_number(session, number: str) -> Certificate:
    records = _records(session, domain.normalize_number(number))
    if not records:
        raise NoSuchCertificate("no certificate has this number")
    return records[0]


def status_list_jwt(session, signer, public_base_url: str, now) -> str:
    """The published revocation list: every record that no longer stands has its bit set."""
    fallen = session.scalars(select(Certificate.status_index).where(
        Certificate.status.in_(credentials.STOPS_STANDING), Certificate.status_index.is_not(None)))
    encoded = credentials.encode_status_list(fallen)
    return signer.sign_jwt(credentials.status_list_claims(public_base_url, encoded, now))


# -- the talent registry export (人才库) ----------------------------------------------

def export_talent_registry(session, issued_from, issued_to, signer, now) -> dict[str, bytes]:
    """Every record (every serial, whatever its status) of the certificates issued in
    the period, as CSV and JSON, and the signed manifest: file name -> bytes."""
    rows = session.scalars(select(Certificate).where(Certificate.issued_on >= issued_from,
                                                     Certificate.issued_on <= issued_to)
                           .order_by(Certificate.issued_on, Certificate.number, Certificate.serial))
    records = [talent_export.record(c) for c in rows]
    as_csv = talent_export.records_csv(records)
    as_json = talent_export.records_json(records, issued_from, issued_to)
    files = [talent_export.file_entry(talent_export.CSV_NAME, "text/csv", as_csv, len(records)),
             talent_export.file_entry(talent_export.JSON_NAME, "application/json", as_json,
                                             len(records))]
    signed = signer.sign_manifest(talent_export.manifest(records, files, issued_from, issued_to, now))
    return {talent_export.CSV_NAME: as_csv, talent_export.JSON_NAME: as_json,
            talent_export.MANIFEST_NAME: json.dumps(signed, ensure_ascii=False, indent=1).encode("utf-8")}
