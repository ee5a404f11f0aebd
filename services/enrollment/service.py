"""The enrollment service: training bases, applications, and each enrollment's
status as the other services report it."""
from nameko.dependency_providers import Config

from shared.calendar import utcnow
from shared.contracts import billing, certificate, exam, learning
from shared.service import ServiceBase, api, event_handler

from . import actions, schemas

BASE_READERS = ("base_operator", "admin", "operator")


class EnrollmentService(ServiceBase):
    name = "enrollment"
    config = Config()

    @property
    def id_key(self) -> bytes:
        return self.config["ID_HASH_KEY"].encode()

    # -- HTTP ------------------------------------------------------------------

    @api("POST", "/enrollment/bases", roles=("admin",), request=schemas.BaseRegistration,
         response=schemas.TrainingBase, status=201)
    def register_base(self, request, principal, body):
        """Register a training base with its authorization period."""
        with self.db.transaction() as tx:
            return actions.register_base(tx, body, utcnow())

    @api("GET", "/enrollment/bases/<code>", roles=BASE_READERS, response=schemas.TrainingBase)
    def get_base(self, request, principal, code):
        """A training base (a base operator sees only its own)."""
        if principal.role == "base_operator" and principal.base != code:
            code = ""  # another base answers like an unknown one
        with self.db.read() as session:
            return actions.find_base(session, code)

    @api("POST", "/enrollment/enrollments", roles=("base_operator",), request=schemas.Application,
         response=schemas.Enrollment, status=201)
    def submit_application(self, request, principal, body):
        """Enroll a learner at the operator's base (eligibility and identity checked)."""
        with self.db.transaction() as tx:
            enrollment = actions.submit_application(tx, principal.base, body, self.id_key,
                                                    principal.subject, utcnow())
            return actions.view(tx.session, enrollment)

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
            rows, total = actions.list_enrollments(session, principal, query)
            return {"items": [actions.view(session, e) for e in rows], "total": total}

    # -- events ----------------------------------------------------------------

    @event_handler(billing.OrderOpened)
    def on_order_opened(self, tx, event):
        actions.on_order_opened(tx, event)

    @event_handler(billing.Paid)
    def on_paid(self, tx, event):
        actions.on_paid(tx, event)

    @event_handler(learning.AccountOpened)
    def on_account_opened(self, tx, event):
        actions.on_account_opened(tx, event)

    @event_handler(learning.CourseCompleted)
    def on_course_completed(self, tx, event):
        actions.on_course_completed(tx, event)

    @event_handler(exam.Graded)
    def on_graded(self, tx, event):
        actions.on_graded(tx, event)

    @event_handler(certificate.Issued)
    def on_certificate_issued(self, tx, event):
        actions.on_certificate_issued(tx, event)
