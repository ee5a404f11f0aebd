"""The exam service: sittings, registration, the candidate's paper, marking, results."""
import logging
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import IntegrityError

from shared.calendar import program_date, utcnow
from shared.contracts import billing, learning
from shared.persistence.group_commit import GroupCommit
from shared.errors import DomainError
from shared.service import ServiceBase, api, event_handler, periodic
from shared.settings import CannotStart
from shared.web.pagination import PageQuery, slice_page

from . import actions, holidays, papers, question_bank, schemas

log = logging.getLogger(__name__)
LEARNER = ("learner",)
EXAMINER = ("examiner",)


class QuestionBankFile(DependencyProvider):
    """The bank file the database is seeded from (QUESTION_BANK_FILE), read and
    checked whole at start: a missing or invalid file stops the start, named. None
    when unset: a real bank is loaded from outside the image (docs/question-bank.md)."""

    def setup(self):
        path = self.container.config.get("QUESTION_BANK_FILE")
        self.bank = None
        if path:
            try:
                self.bank = question_bank.read_bank_file(path)
            except OSError as exc:
                raise CannotStart(f"QUESTION_BANK_FILE {path}: {exc.strerror}") from None
            except DomainError as exc:
                raise CannotStart(f"QUESTION_BANK_FILE {path}: {exc.detail}") from None

    def get_dependency(self, worker_ctx):
        return self.bank


class ExamService(ServiceBase):
    name = "exam"
    config = Config()
    bank_file = QuestionBankFile()
    # Autosaves at a national sitting share commits (one disk sync for many).
    autosave = GroupCommit("autosave")
    holiday_calendar = holidays.ChineseHolidays()  # China's statutory holidays and working weekends

    # -- events and timers -------------------------------------------------------

    @event_handler(learning.CourseCompleted)
    def record_candidate(self, tx, event):
        actions.record_candidate(tx, event)

    @event_handler(billing.RetakePaid)
    def record_retake_paid(self, tx, event):
        actions.record_retake_paid(tx, event)

    def sitting_defaults(self) -> tuple[int, timedelta]:
        """A generated sitting's capacity, and how long before it registration closes."""
        return (int(self.config.get("SITTING_CAPACITY", 500)),
                timedelta(hours=float(self.config.get("REGISTRATION_CLOSES_HOURS_BEFORE", 24))))

    @periodic("PREPARE_INTERVAL_SECONDS", 3600, eager=True)
    def prepare(self):
        """Seed the question bank and generate the coming months' sittings (idempotent;
        a replica doing the same at the same moment wins, the unique keys say so)."""
        try:
            with self.db.transaction() as tx:
                if self.bank_file is not None:
                    question_bank.seed(tx.session, self.bank_file)
                actions.generate_sittings(
                    tx.session, program_date(utcnow()), int(self.config.get("SITTING_MONTHS_AHEAD", 3)),
                    *self.sitting_defaults())
        except IntegrityError:
            log.info("another replica prepared the bank and sittings first")

    @periodic("CLOSE_INTERVAL_SECONDS", 5)
    def close_due_papers(self):
        """Close papers whose slot ended, record absences (idempotent, restart-safe,
        replica-safe); a batch per transaction, until none is left."""
        while True:
            with self.db.transaction() as tx:
                if papers.close_due(tx, utcnow()) < papers.CLOSE_BATCH:
                    return

    # -- sittings and registration -------------------------------------------------

    @api("POST", "/exam/sittings", roles=("admin",), request=schemas.NewSitting,
         response=schemas.Sitting, status=201)
    def create_sitting(self, request, principal, body):
        """An extra sitting (an administrator's temporary adjustment). The same request
        again answers the sitting it made (200); another sitting at that start and
        level answers 409 naming it (`sitting_id`)."""
        with self.db.transaction() as tx:
            sitting, new = actions.create_sitting(tx, body, utcnow())
            return (201 if new else 200), actions.sitting_view(sitting)

    @api("POST", "/exam/sittings/<uuid:sitting_id>/move", roles=("admin",), request=schemas.SittingMove,
         response=schemas.Sitting)
    def move_sitting(self, request, principal, sitting_id, body):
        """Move a sitting not yet begun; its candidates keep their seats at the new time."""
        with self.db.transaction() as tx:
            return actions.sitting_view(actions.move_sitting(tx, sitting_id, body, utcnow()))

    @api("POST", "/exam/sittings/<uuid:sitting_id>/cancel", roles=("admin",), request=schemas.SittingCancel,
         response=schemas.Sitting)
    def cancel_sitting(self, request, principal, sitting_id, body):
        """Cancel a sitting not yet begun; its registrations are released."""
        with self.db.transaction() as tx:
            return actions.sitting_view(actions.cancel_sitting(tx, sitting_id, body["reason"], utcnow()))

    # -- the exam calendar a year ahead ----------------------------------------------

    @api("GET", "/exam/calendar", roles=("learner", "base_operator", "admin", "examiner"), query=PageQuery,
         response=schemas.CalendarMonths)
    def get_calendar(self, request, principal, query):
        """The published exam calendar, from this month on, month by month: the
        sitting weekend (Saturday and Sunday, 09:00 and 14:00 Asia/Shanghai) and how
        it was decided."""
        with self.db.read() as session:
            return actions.published_calendar(session, program_date(utcnow()), query)

    @api("GET", "/exam/calendar/proposal", roles=("admin",), query=PageQuery, response=schemas.CalendarMonths)
    def get_calendar_proposal(self, request, principal, query):
        """The twelve months after this one, for publishing: a published month as
        published; the others as the rule generates them (`published: false`), each
        with its flags (statutory holiday, working weekend 调休, holidays unknown)."""
        with self.db.read() as session:
            return slice_page(actions.calendar_year_ahead(session, program_date(utcnow()), self.holiday_calendar),
                              query)

    @api("POST", "/exam/calendar/publication", roles=("admin",), request=schemas.CalendarPublication,
         response=schemas.PublishedCalendar)
    def publish_calendar(self, request, principal, body):
        """Publish the months of the year ahead not yet published, each on the rule's
        weekend unless decided otherwise. A month whose weekend is flagged (statutory
        holiday, working weekend 调休, or holidays unknown for its year) needs a
        decision: `confirm`, or `move` to another full weekend of the month (`saturday`);
        without one, nothing is published (422 naming every such month). The
        sittings of the published months are made (or moved) on the weekends decided.
        Publishing again publishes only what is new (a month already published: 409)."""
        try:
            with self.db.transaction() as tx:
                count, months = actions.publish_calendar(
                    tx, body["decisions"], principal, utcnow(), self.holiday_calendar,
                    f"chinesecalendar {holidays.VERSION}", *self.sitting_defaults())
        except IntegrityError:  # the generator or another publication made a sitting meanwhile
            raise actions.CalendarChanged("the calendar changed while publishing: publish again") from None
        return {"published": count, "months": months}

    @api("GET", "/exam/sittings", roles=("learner", "admin", "examiner"), query=schemas.SittingQuery,
         response=schemas.SittingList)
    def list_sittings(self, request, principal, query):
        """Upcoming sittings with the seats left."""
        with self.db.read() as session:
            return actions.upcoming_sittings(session, query, utcnow())

    @api("POST", "/exam/registrations", roles=LEARNER, request=schemas.NewRegistration,
         response=schemas.Registration, status=201)
    def register(self, request, principal, body):
        """Register for a sitting (coursework complete, one open registration, a seat left).
        The same request again answers the open registration (200); a registration
        for another sitting while one is open answers 409 with its `registration_id`."""
        with self.db.transaction() as tx:
            registration, new = actions.register(tx, principal, body, utcnow())
            return (201 if new else 200), actions.registration_view(tx.session, registration)

    @api("GET", "/exam/registrations", roles=LEARNER, query=PageQuery, response=schemas.RegistrationList)
    def list_registrations(self, request, principal, query):
        """The learner's own registrations, newest first, whatever their state."""
        with self.db.read() as session:
            return actions.own_registrations(session, principal, query)

    @api("GET", "/exam/registrations/<uuid:registration_id>", roles=LEARNER, response=schemas.Registration)
    def get_registration(self, request, principal, registration_id):
        """The learner's registration."""
        with self.db.read() as session:
            registration = actions.own_registration(session, registration_id, principal)
            return actions.registration_view(session, registration)

    @api("POST", "/exam/registrations/<uuid:registration_id>/cancel", roles=LEARNER,
         response=schemas.Registration)
    def cancel_registration(self, request, principal, registration_id):
        """Give the seat up before registration closes (the attempt unused)."""
        with self.db.transaction() as tx:
            registration = actions.cancel_registration(tx, registration_id, principal, utcnow())
            return actions.registration_view(tx.session, registration)

    @api("POST", "/exam/enrollments/<uuid:enrollment_id>/retakes", roles=LEARNER,
         response=schemas.PaidRetake, status=201)
    def request_retake(self, request, principal, enrollment_id):
        """Ask for a paid retake (no free retake left): billing opens the order.
        Asking again answers the same request (200)."""
        with self.db.transaction() as tx:
            retake, new = actions.request_retake(tx, enrollment_id, principal, utcnow())
            return (201 if new else 200), actions.retake_view(retake)

    @api("GET", "/exam/registrations/<uuid:registration_id>/result", roles=LEARNER, response=schemas.Result)
    def get_result(self, request, principal, registration_id):
        """The attempt's score and pass, once final (never the answer key)."""
        with self.db.read() as session:
            return papers.result_view(actions.own_registration(session, registration_id, principal))

    # -- the paper ---------------------------------------------------------------------

    @api("GET", "/exam/registrations/<uuid:registration_id>/paper", roles=LEARNER,
         response=schemas.CandidatePaper)
    def open_paper(self, request, principal, registration_id):
        """The candidate's paper, inside the slot only; drawn on first opening."""
        with self.db.transaction() as tx:
            paper = papers.open_paper(tx, registration_id, principal, utcnow(), self.bank_file)
            return papers.candidate_paper(tx.session, paper)

    @api("PUT", "/exam/papers/<uuid:paper_id>/answers/<int:number>", roles=LEARNER,
         request=schemas.AnswerBody, response=schemas.Saved)
    def save_answer(self, request, principal, paper_id, number, body):
        """Autosave one answer (last write wins) until submission or the slot's end."""
        return self.autosave.run(
            lambda tx: papers.save_answer(tx, paper_id, number, principal, body["answer"], utcnow()),
            key=str(paper_id))

    @api("POST", "/exam/papers/<uuid:paper_id>/submit", roles=LEARNER, response=schemas.Result)
    def submit(self, request, principal, paper_id):
        """Final submission: objective answers are scored now."""
        with self.db.transaction() as tx:
            return papers.result_view(papers.submit(tx, paper_id, principal, utcnow()))

    # -- the question bank ------------------------------------------------------------

    @api("POST", "/exam/questions", roles=EXAMINER, request=schemas.NewQuestion,
         response=schemas.BankQuestion, status=201)
    def write_question(self, request, principal, body):
        """A new question (a draft until a second examiner approves it). The same question
        again from its author, still a draft, answers that draft (200)."""
        with self.db.transaction() as tx:
            question, new = question_bank.write(tx, body, principal.subject, utcnow())
            return (201 if new else 200), question_bank.question_view(question)

    @api("GET", "/exam/questions", roles=EXAMINER, query=schemas.QuestionQuery, response=schemas.QuestionList)
    def list_questions(self, request, principal, query):
        """The bank: each question's latest revision matching the filter."""
        with self.db.read() as session:
            return question_bank.listing(session, query)

    @api("GET", "/exam/questions/<question_id>", roles=EXAMINER, response=schemas.QuestionRevisions)
    def get_question(self, request, principal, question_id):
        """Every revision of a question."""
        with self.db.read() as session:
            return question_bank.revisions_view(session, question_id)

    @api("PATCH", "/exam/questions/<question_id>", roles=EXAMINER, request=schemas.QuestionEdit,
         response=schemas.BankQuestion)
    def revise_question(self, request, principal, question_id, body):
        """Edit: a draft in place; an active or drawn question as a new revision."""
        with self.db.transaction() as tx:
            return question_bank.view_of(tx.session,
                                         question_bank.revise(tx, question_id, body, principal.subject, utcnow()))

    @api("POST", "/exam/questions/<question_id>/review", roles=EXAMINER, request=schemas.Review,
         response=schemas.BankQuestion)
    def review_question(self, request, principal, question_id, body):
        """A second examiner approves (draft -> active) or rejects the latest draft."""
        with self.db.transaction() as tx:
            return question_bank.view_of(tx.session,
                                         question_bank.review(tx, question_id, body, principal.subject, utcnow()))

    @api("POST", "/exam/questions/<question_id>/retire", roles=EXAMINER, request=schemas.RetirementRequest,
         response=schemas.BankQuestion)
    def retire_question(self, request, principal, question_id, body):
        """Ask for the question to be retired, with the reason: it is still drawn until
        a second examiner approves (.../retire/review). Refused (422, with the numbers)
        when a scheduled sitting's blueprint could no longer be filled without it."""
        with self.db.transaction() as tx:
            question = question_bank.request_retirement(tx, question_id, principal.subject, body["reason"],
                                                        utcnow())
            return question_bank.view_of(tx.session, question)

    @api("POST", "/exam/questions/<question_id>/retire/review", roles=EXAMINER, request=schemas.Review,
         response=schemas.BankQuestion)
    def review_retirement(self, request, principal, question_id, body):
        """A second examiner approves the retirement (no longer drawn into new papers;
        papers that hold it keep it) or rejects it. Checked again on approval."""
        with self.db.transaction() as tx:
            question = question_bank.review_retirement(tx, question_id, body, principal.subject, utcnow())
            return question_bank.view_of(tx.session, question)

    # -- marking --------------------------------------------------------------------

    @api("GET", "/exam/marking", roles=("examiner",), query=schemas.MarkingQuery,
         response=schemas.MarkingQueue)
    def marking_queue(self, request, principal, query):
        """The next short answers waiting for an examiner, and how many are left per sitting."""
        with self.db.read() as session:
            return papers.marking_queue(session, query)

    @api("POST", "/exam/marking/<uuid:paper_id>/<int:number>", roles=("examiner",), request=schemas.Mark,
         status=204)
    def mark(self, request, principal, paper_id, number, body):
        """Mark one short answer (0..its points, with a comment)."""
        with self.db.transaction() as tx:
            papers.mark(tx, paper_id, number, principal.subject, body, utcnow())
        return 204, ""
