"""What certificate does, one function per action or event, over a transaction."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from sqlalchemy import select

from shared.calendar import program_date
from shared.contracts import certificate as events
from shared.errors import NotFound
from shared.messaging.consumer import Defer

from . import domain
from .models import Certificate, Holder, NumberSequence


def record_holder(tx, event) -> None:
    data = event.data
    if tx.session.get(Holder, data["enrollment_id"]) is None:
        tx.session.add(Holder(enrollment_id=data["enrollment_id"], learner_id=data["learner_id"],
                              level=data["level"], full_name=data["full_name"],
                              id_number_hash=data["id_number_hash"],
                              id_number_masked=data["id_number_masked"], base_code=data["base_code"],
                              base_name=data["base_name"]))


def issue_on_pass(tx, event) -> None:
    """A pass issues exactly one certificate per enrollment (unique enrollment_id)."""
    data = event.data
    if not data["passed"]:
        return
    session = tx.session
    holder = session.get(Holder, data["enrollment_id"])
    if holder is None:
        raise Defer(f"enrollment {data['enrollment_id']} not yet known to certificate")
    if session.scalar(select(Certificate.certificate_id).where(
            Certificate.enrollment_id == holder.enrollment_id)):
        return  # a later passed attempt (a re-marking) does not certify twice
    issued_on = program_date(data["graded_at"])
    sequence = _next_sequence(session, holder.level, issued_on.year)
    certificate = Certificate(
        certificate_id=uuid.uuid4(),
        number=domain.certificate_number(holder.level, issued_on.year, holder.base_code, sequence),
        serial=1, enrollment_id=holder.enrollment_id, learner_id=holder.learner_id, level=holder.level,
        holder_name=holder.full_name, id_number_hash=holder.id_number_hash,
        id_number_masked=holder.id_number_masked, base_code=holder.base_code,
        base_name=holder.base_name, issued_on=issued_on, issued_at=event.occurred_at, status="valid")
    session.add(certificate)
    tx.emit(events.Issued, {
        "certificate_id": certificate.certificate_id, "certificate_number": certificate.number,
        "enrollment_id": certificate.enrollment_id, "learner_id": certificate.learner_id,
        "level": certificate.level, "holder_name": certificate.holder_name,
        "id_number_hash": certificate.id_number_hash, "id_number_masked": certificate.id_number_masked,
        "base_code": certificate.base_code, "issued_on": certificate.issued_on,
        "issued_at": certificate.issued_at})


def _next_sequence(session, level: str, year: int) -> int:
    row = session.scalar(select(NumberSequence).where(NumberSequence.level == level,
                                                      NumberSequence.year == year).with_for_update())
    if row is None:
        row = NumberSequence(level=level, year=year, last=0)
        session.add(row)
    row.last += 1
    return row.last


class NoSuchCertificate(NotFound):
    slug = "certificate-not-found"
    title = "No certificate matches"


def verify(session, number: str, name: str) -> dict:
    """Anyone, by number and holder name. An unknown number, a mistyped one and a
    wrong name all answer the same, so the registry cannot be enumerated."""
    typed = domain.normalize_number(number)
    certificate = None
    if domain.check_number(typed):
        found = session.scalars(select(Certificate).where(Certificate.number == typed)
                                .order_by(Certificate.serial.desc())).first()
        if found is not None and domain.same_name(name, found.holder_name):
            certificate = found
    if certificate is None:
        raise NoSuchCertificate("no certificate matches this number and name")
    return {"status": certificate.status, "number": certificate.number,
            "holder_name": certificate.holder_name, "level": certificate.level,
            "issued_on": certificate.issued_on, "base_name": certificate.base_name,
            "id_number_masked": certificate.id_number_masked}


def of_enrollment(session, enrollment_id, principal, public_base_url: str) -> dict:
    certificate = session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment_id))
    if certificate is None or not _may_see(certificate, principal):
        raise NotFound(f"no certificate for enrollment {enrollment_id}")
    query = urlencode({"number": certificate.number, "name": certificate.holder_name})
    return {**{c.key: getattr(certificate, c.key) for c in Certificate.__table__.columns},
            "verify_url": f"{public_base_url.rstrip('/')}/certificate/verify/page?{query}"}


def _may_see(certificate: Certificate, principal) -> bool:
    if principal.role == "learner":
        return str(certificate.learner_id) == principal.subject
    if principal.role == "base_operator":
        return certificate.base_code == principal.base
    return principal.role in ("admin", "operator")
