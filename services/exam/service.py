"""The exam service: sittings, registration, the candidate's paper, marking, results."""
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.timer import timer

from shared.calendar import program_date, utcnow
from shared.contracts import learning
from shared.service import ServiceBase, api, event_handler

from . import actions, schemas

LEARNER = ("learner",)


class ExamService(ServiceBase):
    name = "exam"
    config = Config()

    # -- events and timers -------------------------------------------------------

    @event_handler(learning.CourseCompleted)
    def record_candidate(self, tx, event):
        actions.record_candidate(tx, event)

    @timer(interval=3600, eager=True)
    def prepare(self):
        """Seed the question bank and generate the coming months' sittings (idempotent)."""
        with self.db.transaction() as tx:
            actions.load_bank(tx.session)
            actions.generate_sittings(
                tx.session, program_date(utcnow()), int(self.config.get("SITTING_MONTHS_AHEAD", 3)),
                int(self.config.get("SITTING_CAPACITY", 500)),
                timedelta(hours=float(self.config.get("REGISTRATION_CLOSES_HOURS_BEFORE", 24))))

    @timer(interval=5)
    def close_due_papers(self):
        """Close papers whose slot ended, record absences (idempotent, restart-safe)."""
        with self.db.transaction() as tx:
            actions.close_due(tx, utcnow())

    # -- sittings and registration -------------------------------------------------

    @api("POST", "/exam/sittings", roles=("admin",), request=schemas.NewSitting,
         response=schemas.Sitting, status=201)
    def create_sitting(self, request, principal, body):
        """An extra sitting (an administrator's temporary adjustment)."""
        with self.db.transaction() as tx:
            return actions.sitting_view(actions.create_sitting(tx, body, utcnow()))

    @api("GET", "/exam/sittings", roles=("learner", "admin", "examiner"), query=schemas.SittingQuery,
         response=schemas.SittingList)
    def list_sittings(self, request, principal, query):
        """Upcoming sittings with the seats left."""
        with self.db.read() as session:
            return {"items": actions.upcoming_sittings(session, query.get("level"), utcnow())}

    @api("POST", "/exam/registrations", roles=LEARNER, request=schemas.NewRegistration,
         response=schemas.Registration, status=201)
    def register(self, request, principal, body):
        """Register for a sitting (coursework complete, one open registration, a seat left)."""
        with self.db.transaction() as tx:
            return actions.registration_view(tx.session, actions.register(tx, principal, body, utcnow()))

    @api("GET", "/exam/registrations/<uuid:registration_id>", roles=LEARNER, response=schemas.Registration)
    def get_registration(self, request, principal, registration_id):
        """The learner's registration."""
        with self.db.read() as session:
            registration = actions.own_registration(session, registration_id, principal)
            return actions.registration_view(session, registration)

    @api("GET", "/exam/registrations/<uuid:registration_id>/result", roles=LEARNER, response=schemas.Result)
    def get_result(self, request, principal, registration_id):
        """The attempt's score and pass, once final (never the answer key)."""
        with self.db.read() as session:
            return actions.result_view(actions.own_registration(session, registration_id, principal))

    # -- the paper ---------------------------------------------------------------------

    @api("GET", "/exam/registrations/<uuid:registration_id>/paper", roles=LEARNER,
         response=schemas.CandidatePaper)
    def open_paper(self, request, principal, registration_id):
        """The candidate's paper, inside the slot only; drawn on first opening."""
        with self.db.transaction() as tx:
            return actions.candidate_paper(tx.session, actions.open_paper(tx, registration_id, principal, utcnow()))

    @api("PUT", "/exam/papers/<uuid:paper_id>/answers/<int:number>", roles=LEARNER,
         request=schemas.AnswerBody, response=schemas.Saved)
    def save_answer(self, request, principal, paper_id, number, body):
        """Autosave one answer (last write wins) until submission or the slot's end."""
        with self.db.transaction() as tx:
            return actions.save_answer(tx, paper_id, number, principal, body["answer"], utcnow())

    @api("POST", "/exam/papers/<uuid:paper_id>/submit", roles=LEARNER, response=schemas.Result)
    def submit(self, request, principal, paper_id):
        """Final submission: objective answers are scored now."""
        with self.db.transaction() as tx:
            return actions.result_view(actions.submit(tx, paper_id, principal, utcnow()))

    # -- marking --------------------------------------------------------------------

    @api("GET", "/exam/marking", roles=("examiner",), query=schemas.MarkingQuery,
         response=schemas.MarkingQueue)
    def marking_queue(self, request, principal, query):
        """Short answers waiting for an examiner, and how many are left per sitting."""
        with self.db.read() as session:
            return actions.marking_queue(session, query.get("sitting_id"))

    @api("POST", "/exam/marking/<uuid:paper_id>/<int:number>", roles=("examiner",), request=schemas.Mark,
         status=204)
    def mark(self, request, principal, paper_id, number, body):
        """Mark one short answer (0..its points, with a comment)."""
        with self.db.transaction() as tx:
            actions.mark(tx, paper_id, number, principal.subject, body, utcnow())
        return 204, ""
