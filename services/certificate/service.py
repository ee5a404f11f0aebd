"""The certificate service: issue on a pass, the talent registry, public verification."""
from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from shared.contracts import enrollment, exam
from shared.errors import NotFound
from shared.service import ServiceBase, api, event_handler

from . import actions, page, schemas

VERIFY_LIMIT = ("VERIFY_RATE_LIMIT", "30/minute")


class CertificateService(ServiceBase):
    name = "certificate"
    config = Config()

    @event_handler(enrollment.Enrolled)
    def record_holder(self, tx, event):
        actions.record_holder(tx, event)

    @event_handler(exam.Graded)
    def issue_on_pass(self, tx, event):
        actions.issue_on_pass(tx, event)

    @api("GET", "/certificate/verify", public=True, query=schemas.VerifyQuery,
         response=schemas.Verification, rate_limit=VERIFY_LIMIT)
    def verify(self, request, query):
        """Anyone: a certificate by its number and the holder's name."""
        with self.db.read() as session:
            return actions.verify(session, query["number"], query["name"])

    @api("GET", "/certificate/verify/page", public=True, rate_limit=VERIFY_LIMIT)
    def verify_page(self, request):
        """The same, as a page for people (Chinese, with English)."""
        number, name = request.args.get("number", ""), request.args.get("name", "")
        found = None
        if number and name:
            try:
                with self.db.read() as session:
                    found = actions.verify(session, number[:60], name[:100])
            except NotFound:
                found = None
        html = page.render(number, name, found, searched=bool(number and name))
        return Response(html, status=200 if found or not (number and name) else 404,
                        content_type="text/html; charset=utf-8")

    @api("GET", "/certificate/enrollments/<uuid:enrollment_id>/certificate",
         roles=("learner", "base_operator", "admin"), response=schemas.Certificate)
    def of_enrollment(self, request, principal, enrollment_id):
        """The certificate of an enrollment (its learner, its base, administrators)."""
        with self.db.read() as session:
            return actions.of_enrollment(session, enrollment_id, principal,
                                         self.config.get("PUBLIC_BASE_URL", "http://localhost:8005"))
