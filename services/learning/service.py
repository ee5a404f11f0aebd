"""The learning service: accounts opened by payment, study progress, the completion gate,
expiry, and the versioned catalog."""
from nameko.dependency_providers import Config

from datetime import timedelta

from shared import settings
from shared.calendar import utcnow
from shared.contracts import billing, enrollment
from shared.persistence.group_commit import GroupCommit
from shared.service import ServiceBase, api, event_handler, periodic
from shared.web.pagination import PageQuery, slice_page

from . import actions, catalogs, domain, schemas

STAFF = ("admin", "learner", "base_operator")


def _production_allowance(value: str) -> str | None:
    limit = domain.PRODUCTION_MAX_CLOCK_ALLOWANCE_MINUTES
    return f"must be at most {limit} minutes" if int(value) > limit else None


class LearningService(ServiceBase):
    name = "learning"
    config = Config()
    required_settings = (
        # The development profile lifts the allowance so the demo studies in seconds.
        settings.Setting("STUDY_CLOCK_ALLOWANCE_MINUTES", "LEARNING_STUDY_CLOCK_ALLOWANCE_MINUTES",
                         check=settings.whole_number(0, 1_000_000), optional=True,
                         outside_development=_production_allowance),
        settings.Setting("STUDY_IDLE_LIMIT_MINUTES", "LEARNING_STUDY_IDLE_LIMIT_MINUTES",
                         check=settings.whole_number(1, 60), optional=True),
    )
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

    def study_rules(self) -> actions.StudyRules:
        minutes = lambda key, default: timedelta(minutes=int(self.config.get(key) or default))  # noqa: E731
        return actions.StudyRules(
            daily_cap=int(self.config.get("DAILY_STUDY_CAP_MINUTES", 480)),
            allowance=minutes("STUDY_CLOCK_ALLOWANCE_MINUTES", 2),
            idle_limit=minutes("STUDY_IDLE_LIMIT_MINUTES", 10))

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/progress", roles=("learner",),
         request=schemas.StudyReport, response=schemas.StudyResult)
    def report_study(self, request, principal, enrollment_id, body):
        """A study session from the course player (idempotent per session id; a heartbeat
        is a one-minute session with its own id). Only time that fits is credited: no
        more than has passed since the start (plus the clock allowance), none another
        session of the learner claims, within the daily cap; the rest is refused with
        the reasons."""
        rules = self.study_rules()
        return self.reports.run(
            lambda tx: actions.report_study(tx, enrollment_id, principal, body, rules, utcnow()),
            key=str(enrollment_id))

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/sessions", roles=("learner",),
         request=schemas.NewLiveSession, response=schemas.LiveSession, status=201)
    def start_session(self, request, principal, enrollment_id, body):
        """Start a live study session of a course: the platform measures its time from
        the heartbeats (the player sends one about every minute) until it ends."""
        rules = self.study_rules()
        with self.db.transaction() as tx:
            return actions.start_live_session(tx, enrollment_id, principal, body, rules, utcnow())

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/sessions/<uuid:session_id>/heartbeats",
         roles=("learner",), response=schemas.LiveSession)
    def session_heartbeat(self, request, principal, enrollment_id, session_id):
        """The session is alive: the time since the last heartbeat is credited unless it
        is longer than the idle limit or another session of the learner claims it."""
        rules = self.study_rules()
        return self.reports.run(
            lambda tx: actions.beat_live_session(tx, enrollment_id, session_id, principal, rules, utcnow()),
            key=str(enrollment_id))

    @api("POST", "/learning/accounts/<uuid:enrollment_id>/sessions/<uuid:session_id>/end",
         roles=("learner",), response=schemas.LiveSession)
    def end_session(self, request, principal, enrollment_id, session_id):
        """End the session (a last heartbeat); ending it again answers it unchanged."""
        rules = self.study_rules()
        return self.reports.run(
            lambda tx: actions.beat_live_session(tx, enrollment_id, session_id, principal, rules, utcnow(),
                                                 end=True),
            key=str(enrollment_id))

    @api("GET", "/learning/accounts/<uuid:enrollment_id>/sessions/<uuid:session_id>", roles=STAFF,
         response=schemas.LiveSession)
    def get_session(self, request, principal, enrollment_id, session_id):
        """A live session: its time credited and refused, by reason."""
        with self.db.read() as session:
            return actions.live_session_view(session, enrollment_id, session_id, principal)

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
