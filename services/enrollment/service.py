"""The enrollment service: training bases, applications, and each enrollment's
status as the other services report it."""
import inspect

from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from shared.calendar import program_date, utcnow
from shared.contracts import billing, certificate, exam, learning
from shared import settings
from shared.service import ServiceBase, api, event_handler
from shared.web.pagination import PageQuery
from shared.uploads import spool

from . import actions, bulk, bulk_csv, schemas

# The operator (SRE) reads no personal data: journeys by id (every service), queues and
# dead letters (the broker) are what operations need.
BASE_READERS = ("base_operator", "admin")


class EnrollmentService(ServiceBase):
    name = "enrollment"
    config = Config()
    required_settings = (settings.ID_HASH_KEY,
                         settings.Setting("BULK_MAX_ROWS", "ENROLLMENT_BULK_MAX_ROWS",
                                          check=settings.whole_number(1, 100_000), optional=True),
                         settings.Setting("BULK_MAX_BYTES", "ENROLLMENT_BULK_MAX_BYTES",
                                          check=settings.whole_number(1024, 64 * 2**20), optional=True))

    @property
    def id_key(self) -> bytes:
        return self.config["ID_HASH_KEY"].encode()

    # -- HTTP ------------------------------------------------------------------

    @api("POST", "/enrollment/bases", roles=("admin",), request=schemas.BaseRegistration,
         response=schemas.TrainingBase, status=201)
    def register_base(self, request, principal, body):
        """Register a training base with its authorization period. The same registration
        again answers the base (200); other details under a registered code: 409 (`code`)."""
        now = utcnow()
        with self.db.transaction() as tx:
            base, new = actions.register_base(tx, body, principal.subject, now)
            tx.session.flush()
            return (201 if new else 200), actions.base_view(tx.session, base, program_date(now))

    @api("GET", "/enrollment/bases", roles=("admin",), query=PageQuery,
         response=schemas.TrainingBaseList)
    def list_bases(self, request, principal, query):
        """Every training base with its authorization today, by code."""
        with self.db.read() as session:
            return actions.list_bases(session, program_date(utcnow()), query)

    @api("GET", "/enrollment/bases/<code>", roles=BASE_READERS, response=schemas.TrainingBase)
    def get_base(self, request, principal, code):
        """A training base with its authorization history (a base operator sees only its own)."""
        if principal.role == "base_operator" and principal.base != code:
            code = ""  # another base answers like an unknown one
        with self.db.read() as session:
            return actions.base_view(session, actions.find_base(session, code), program_date(utcnow()))

    @api("POST", "/enrollment/bases/<code>/suspension", roles=("admin",), request=schemas.Reason,
         response=schemas.TrainingBase)
    def suspend_base(self, request, principal, code, body):
        """Suspend a base's authorization (recorded with who, when and why); it enrolls no one."""
        return self._change_base(actions.suspend_base, code, body["reason"], principal)

    @api("POST", "/enrollment/bases/<code>/reinstatement", roles=("admin",), request=schemas.Reason,
         response=schemas.TrainingBase)
    def reinstate_base(self, request, principal, code, body):
        """Lift a base's suspension (recorded with who, when and why)."""
        return self._change_base(actions.reinstate_base, code, body["reason"], principal)

    @api("PUT", "/enrollment/bases/<code>/authorization", roles=("admin",),
         request=schemas.AuthorizationPeriod, response=schemas.TrainingBase)
    def change_authorization(self, request, principal, code, body):
        """Set a base's authorization period (renewal or shortening), with the reason."""
        return self._change_base(actions.change_authorization_period, code, body, principal)

    def _change_base(self, action, code, argument, principal):
        now = utcnow()
        with self.db.transaction() as tx:
            base = action(tx, code, argument, principal.subject, now)
            tx.session.flush()
            return actions.base_view(tx.session, base, program_date(now))

    @api("POST", "/enrollment/enrollments", roles=("base_operator",), request=schemas.Application,
         response=schemas.Enrollment, status=201)
    def submit_application(self, request, principal, body):
        """Enroll a learner at the operator's base (eligibility and identity checked).
        The same application again, while its enrollment is open, answers that
        enrollment (200); a different one for the learner and level answers 409,
        naming the enrollment when it is this base's (`enrollment_id`)."""
        try:
            return self._submit(principal, body)
        except actions.EnrolledConcurrently:  # asked again, it is a repeat or a named refusal
            return self._submit(principal, body)

    def _submit(self, principal, body):
        with self.db.transaction() as tx:
            enrollment, new = actions.submit_application(tx, principal.base, body, self.id_key,
                                                         principal.subject, utcnow())
            return (201 if new else 200), actions.view(tx.session, enrollment)

    @api("PUT", "/enrollment/enrollments/<uuid:enrollment_id>/contact", roles=("base_operator", "admin"),
         request=schemas.ContactChange, response=schemas.Enrollment)
    def change_contact(self, request, principal, enrollment_id, body):
        """Correct the mobile number of the base's own enrollment, with a reason (the
        history records who changed it, masked). Another base's enrollments keep theirs."""
        with self.db.transaction() as tx:
            enrollment = actions.change_contact(tx, enrollment_id, principal, body, utcnow())
            tx.session.flush()
            return actions.view(tx.session, enrollment)

    @api("POST", "/enrollment/enrollments/<uuid:enrollment_id>/cancellation",
         roles=("base_operator", "admin"), request=schemas.Reason, response=schemas.Enrollment)
    def cancel_enrollment(self, request, principal, enrollment_id, body):
        """Cancel an enrollment before payment, with a reason: emits enrollment.cancelled
        (billing closes the order). After payment: 409, the way out is a refund."""
        with self.db.transaction() as tx:
            enrollment = actions.cancel_enrollment(tx, enrollment_id, principal, body["reason"], utcnow())
            tx.session.flush()
            return actions.view(tx.session, enrollment)

    @api("POST", "/enrollment/bulk-enrollments", roles=("base_operator",), response=schemas.BulkUpload,
         status=201, body_limit=("BULK_MAX_BYTES", bulk.MAX_BYTES), media_types=bulk.CSV_TYPES,
         alternatives={200: "This file was uploaded before: its first result, nothing created"},
         responses={409: "The same file is being processed right now"})
    def bulk_enroll(self, request, principal):
        """Enroll learners from a CSV file sent as the body (Content-Type: text/csv).

        UTF-8 (with or without a byte-order mark) and GBK are accepted and detected;
        a `charset` in the Content-Type is honoured. A file that does not read
        cleanly in its encoding is refused whole, naming the line.
        Every row is enrolled or refused on its own (`results`, with the row number as
        a spreadsheet shows it); a bad row never blocks the others. The same file sent
        again answers 200 with the first result and creates nothing. Up to
        BULK_MAX_ROWS rows (default 20,000). The header names the columns, in English
        or Chinese, in any order; unknown columns are ignored:
        """
        bulk.check_media_type(request.mimetype)
        upload = spool(request.stream)  # to a temporary file: never held whole
        try:
            return bulk.bulk_enroll(self.db, principal, upload, self.id_key, utcnow,
                                    int(self.config.get("BULK_MAX_ROWS", 20000)),
                                    request.mimetype_params.get("charset"))
        finally:
            upload.close()

    @api("GET", "/enrollment/bulk-enrollments/template.csv", roles=("base_operator", "admin"),
         produces=("text/csv",))
    def bulk_template(self, request, principal):
        """The bulk-enrollment CSV template: the header and one example row (UTF-8 with BOM)."""
        return Response(bulk_csv.template(), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="enrollment-template.csv"'})

    @api("GET", "/enrollment/bulk-enrollments/<uuid:upload_id>", roles=("base_operator", "admin"),
         response=schemas.BulkUpload)
    def get_bulk_upload(self, request, principal, upload_id):
        """A bulk upload's result, row by row (a base operator sees only its own base's)."""
        with self.db.read() as session:
            upload = bulk.find_upload(session, upload_id, principal)
            return bulk.upload_view(session, upload.upload_id)

    @api("GET", "/enrollment/enrollments/<uuid:enrollment_id>",
         roles=BASE_READERS + ("learner",), response=schemas.Enrollment)
    def get_enrollment(self, request, principal, enrollment_id):
        """One enrollment with its status history."""
        with self.db.read() as session:
            return actions.view(session, actions.visible_enrollment(session, enrollment_id, principal))

    @api("GET", "/enrollment/enrollments", roles=BASE_READERS + ("learner",),
         query=schemas.EnrollmentQuery, response=schemas.EnrollmentList)
    def list_enrollments(self, request, principal, query):
        """Enrollments the caller may see, newest first."""
        with self.db.read() as session:
            return actions.list_enrollments(session, principal, query)

    # -- events ----------------------------------------------------------------

    @event_handler(billing.OrderOpened)
    def on_order_opened(self, tx, event):
        actions.on_order_opened(tx, event)

    @event_handler(billing.Paid)
    def on_paid(self, tx, event):
        actions.on_paid(tx, event)

    @event_handler(billing.Refunded)
    def on_refunded(self, tx, event):
        actions.on_refunded(tx, event)

    @event_handler(learning.AccountOpened)
    def on_account_opened(self, tx, event):
        actions.on_account_opened(tx, event)

    @event_handler(learning.AccountExpired)
    def on_account_expired(self, tx, event):
        actions.on_account_expired(tx, event)

    @event_handler(learning.AccountExtended)
    def on_account_extended(self, tx, event):
        actions.on_account_extended(tx, event)

    @event_handler(learning.CourseCompleted)
    def on_course_completed(self, tx, event):
        actions.on_course_completed(tx, event)

    @event_handler(exam.Graded)
    def on_graded(self, tx, event):
        actions.on_graded(tx, event)

    @event_handler(exam.SittingChanged)
    def on_sitting_changed(self, tx, event):
        actions.on_sitting_changed(tx, event)

    @event_handler(certificate.Issued)
    def on_certificate_issued(self, tx, event):
        actions.on_certificate_issued(tx, event)

    @event_handler(certificate.Imported)
    def on_certificate_imported(self, tx, event):
        actions.on_certificate_imported(tx, event)

    @event_handler(certificate.Reissued)
    def on_certificate_reissued(self, tx, event):
        actions.on_certificate_reissued(tx, event)

    @event_handler(certificate.ReissuedV2)  # v2: also imported certificates (no enrollment)
    def on_certificate_reissued_v2(self, tx, event):
        actions.on_certificate_reissued(tx, event)

    @event_handler(certificate.Revoked)
    def on_certificate_revoked(self, tx, event):
        actions.on_certificate_revoked(tx, event)

    @event_handler(certificate.RevokedV2)
    def on_certificate_revoked_v2(self, tx, event):
        actions.on_certificate_revoked(tx, event)


# The OpenAPI description of the upload lists the columns from their one definition.
EnrollmentService.bulk_enroll.__doc__ = (inspect.cleandoc(EnrollmentService.bulk_enroll.__doc__)
                                         + "\n\n" + bulk_csv.describe_columns())
