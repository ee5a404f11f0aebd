"""The learning service: accounts opened by payment, study progress, the completion gate,
expiry, and the versioned catalog."""
from nameko.dependency_providers import Config

from shared.calendar import utcnow
from shared.contracts import billing, enrollment
from shared.persistence.group_commit import GroupCommit
from shared.service import ServiceBase, api, event_handler, periodic
from shared.web.pagination import PageQuery, slice_page

from . import actions, catalogs, schemas

STAFF = ("admin", "learner", "base_operator")


class LearningService(ServiceBase):
    name = "learning"
    config = Config()
    # Progress reports at the exam-month peak share commits (one disk sync for many).
    reports = GroupCommit("progress", window_setting="PROGRESS_BATCH_WINDOW_SECONDS", window=0.002)

    # -- events and timers -----------------------------------------------------

    @event_handler(enrollment.Enrolled, batch=True)
    def record_learners(self, tx, events):
        actions.record_learners(tx, events)

    @event_handler(billing.Paid, batch=True)
    def open_accounts(self, tx, events):
        actions.open_accounts(tx, events)

    @event_handler(billing.Refunded)
    def close_account(self, tx, event):
        actions.close_account(tx, event)

    @periodic("EXPIRY_INTERVAL_SECONDS", 60)
    def expire_accounts(self):
        """Expire accounts whose last day has passed, a claimed batch per transaction
        (idempotent, restart-safe, safe with several replicas)."""
        limit = int(self.config.get("EXPIRY_BATCH", 200))
        while True:
            with self.db.transaction() as tx:
                claimed = actions.expire_due(tx, utcnow(), limit)
            if claimed < limit:
                return

    # -- accounts and progress ---------------------------------------------------

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/progress", roles=("learner",),
         request=schemas.StudyReport, response=schemas.StudyResult)
    def report_study(self, request, principal, enrollment_id, body):
        """A study session from the course player (idempotent per session id; a heartbeat
        is a one-minute session with its own id)."""
        cap = int(self.config.get("DAILY_STUDY_CAP_MINUTES", 480))
        return self.reports.run(
            lambda tx: actions.report_study(tx, enrollment_id, principal, body, cap, utcnow()),
            key=str(enrollment_id))

    @api("GET", "/learning/accounts/<uuid:enrollment_id>", roles=STAFF, response=schemas.Account)
    def get_account(self, request, principal, enrollment_id):
        """The account's validity and progress per course and per category."""
        with self.db.read() as session:
            return actions.account_view(session, enrollment_id, principal)

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/extensions", roles=("admin",),
         request=schemas.NewExtension, response=schemas.Account, status=201)
    def extend_account(self, request, principal, enrollment_id, body):
        """Move a running account's last day later, with a reason (recorded, enrollment told).
        The same extension again answers the account (200)."""
        with self.db.transaction() as tx:
            new = actions.extend_account(tx, enrollment_id, principal, body, utcnow())
        with self.db.read() as session:
            return (201 if new else 200), actions.account_view(session, enrollment_id, principal)

    # -- the catalog ---------------------------------------------------------------

    @api("GET", "/learning/catalog", roles=STAFF, response=schemas.Catalog)
    def get_catalog(self, request, principal):
        """The current curriculum: courses and each level's program."""
        with self.db.read() as session:
            return actions.catalog_view(catalogs.current(session))

    @api("GET", "/learning/catalog/versions", roles=("admin",), query=PageQuery,
         response=schemas.CatalogVersionList)
    def list_catalog_versions(self, request, principal, query):
        """Every published version, oldest first; the newest is current."""
        with self.db.read() as session:
            return slice_page(catalogs.listing(session), query)

    @api("GET", "/learning/catalog/versions/<version>", roles=STAFF, response=schemas.Catalog)
    def get_catalog_version(self, request, principal, version):
        """One published version (open accounts keep the version they started with)."""
        with self.db.read() as session:
            return actions.catalog_view(catalogs.version(session, version))

    @api("POST", "/learning/catalog/versions", roles=("admin",), request=schemas.NewCatalog,
         response=schemas.Catalog, status=201)
    def publish_catalog(self, request, principal, body):
        """Publish a new version: validated whole, it applies to accounts opened from now on.
        The same version with the same content again answers it (200); other content
        under a published version: 409 (`version`)."""
        note = body.pop("note", None)
        with self.db.transaction() as tx:
            catalog, new = catalogs.publish(tx.session, body, principal.subject, utcnow(), note)
        return (201 if new else 200), actions.catalog_view(catalog)
