"""The learning service: accounts opened by payment, study progress, the completion gate."""
from nameko.dependency_providers import Config

from shared.calendar import utcnow
from shared.contracts import billing, enrollment
from shared.service import ServiceBase, api, event_handler

from . import actions, catalogs, schemas


class LearningService(ServiceBase):
    name = "learning"
    config = Config()

    @event_handler(enrollment.Enrolled)
    def record_learner(self, tx, event):
        actions.record_learner(tx, event)

    @event_handler(billing.Paid)
    def open_account(self, tx, event):
        actions.open_account(tx, event)

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/progress", roles=("learner",),
         request=schemas.StudyReport, response=schemas.StudyResult)
    def report_study(self, request, principal, enrollment_id, body):
        """A study session from the course player (idempotent per session id)."""
        cap = int(self.config.get("DAILY_STUDY_CAP_MINUTES", 480))
        with self.db.transaction() as tx:
            return actions.report_study(tx, enrollment_id, principal, body, cap, utcnow())

    @api("GET", "/learning/accounts/<uuid:enrollment_id>", roles=("learner", "base_operator", "admin"),
         response=schemas.Account)
    def get_account(self, request, principal, enrollment_id):
        """The account's validity and progress per course and per category."""
        with self.db.read() as session:
            return actions.account_view(session, enrollment_id, principal)

    @api("GET", "/learning/catalog", roles=("admin", "learner", "base_operator"), response=schemas.Catalog)
    def get_catalog(self, request, principal):
        """The current curriculum: courses and each level's program."""
        return actions.catalog_view(catalogs.current())
