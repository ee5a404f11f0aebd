"""The certificate service: issue on a pass, the talent registry, public verification."""
import inspect
import io
import json
import re
import zipfile

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from shared import settings
from shared.calendar import program_date, utcnow
from shared.contracts import enrollment, exam
from shared.errors import NotFound
from shared.service import ServiceBase, api, event_handler
from shared.uploads import spool
from shared.web import pagination
from shared.web.problems import UnsupportedMediaType

from . import actions, document, domain, imports, page, schemas, signing

VERIFY_LIMIT = ("VERIFY_RATE_LIMIT", "30/minute")
HOLDER_READERS = ("learner", "base_operator", "admin")


class SigningKey(DependencyProvider):
    """The key certificates are signed with, loaded once: a missing key stops the start."""

    def setup(self):
        self.signer = signing.load_signer(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.signer


class CertificateService(ServiceBase):
    name = "certificate"
    config = Config()
    required_settings = (settings.ID_HASH_KEY,
                         settings.Setting("VERIFY_RATE_LIMIT", "CERTIFICATE_VERIFY_RATE_LIMIT",
                                          check=settings.rate, optional=True),
                         settings.Setting("IMPORT_MAX_ROWS", "CERTIFICATE_IMPORT_MAX_ROWS",
                                          check=settings.whole_number(1, 100_000), optional=True),
                         settings.Setting("IMPORT_MAX_BYTES", "CERTIFICATE_IMPORT_MAX_BYTES",
                                          check=settings.whole_number(1024, 64 * 2**20), optional=True))
    signer = SigningKey()

    @property
    def public_base_url(self) -> str:
        return self.config.get("PUBLIC_BASE_URL", "http://localhost:8005")

    @property
    def id_key(self) -> bytes:
        return self.config["ID_HASH_KEY"].encode()

    @event_handler(enrollment.Enrolled, batch=True)
    def record_holders(self, tx, events):
        actions.record_holders(tx, events)

    @event_handler(exam.Graded, batch=True)
    def issue_on_passes(self, tx, events):
        actions.issue_on_passes(tx, events, self.signer)

    # -- public --------------------------------------------------------------------

    @api("GET", "/certificate/verify", public=True, query=schemas.VerifyQuery,
         response=schemas.Verification, rate_limit=VERIFY_LIMIT,
         responses={404: "No certificate matches this number and name"})
    def verify(self, request, query):
        """Anyone: a certificate by its number and the holder's name."""
        with self.db.read() as session:
            return actions.verify(session, query["number"], query["name"])

    @api("GET", "/certificate/verify/page", public=True, rate_limit=VERIFY_LIMIT, query=schemas.VerifyPageQuery,
         load_query=False, produces=("text/html",),
         responses={404: {"description": "No certificate matches this number and name (the page says so)",
                          "content": {"text/html": {"schema": {"type": "string"}}}}})
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
                        content_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": page.CONTENT_SECURITY_POLICY})

    @api("GET", "/certificate/keys", public=True, response=schemas.KeySet, rate_limit=VERIFY_LIMIT)
    def keys(self, request):
        """Anyone: the public keys certificates are signed with (JWKS), to verify a file offline."""
        return self.signer.key_set()

    @api("GET", "/certificate/status-lists/revocation", public=True, rate_limit=VERIFY_LIMIT,
         produces=("application/vc+jwt",))
    def status_list(self, request):
        """Anyone: the Bitstring Status List credential (`vc+jwt`) that says which
        credentials no longer stand (revoked or superseded); docs/certificate-credentials.md."""
        with self.db.read() as session:
            token = actions.status_list_jwt(session, self.signer, self.public_base_url, utcnow())
        return Response(token, content_type="application/vc+jwt", headers={"Cache-Control": "max-age=300"})

    # -- the holder and their base ---------------------------------------------------

    @api("GET", "/certificate/enrollments/<uuid:enrollment_id>/certificate",
         roles=HOLDER_READERS, response=schemas.Certificate)
    def of_enrollment(self, request, principal, enrollment_id):
        """The certificate of an enrollment (its learner, its base, administrators)."""
        with self.db.read() as session:
            return actions.of_enrollment(session, enrollment_id, principal, self.public_base_url)

    @api("GET", "/certificate/enrollments/<uuid:enrollment_id>/certificate.json", roles=HOLDER_READERS,
         produces=("application/json",))
    def signed_file(self, request, principal, enrollment_id):
        """The signed certificate file (content, key id, Ed25519 signature) to verify offline."""
        with self.db.read() as session:
            certificate = actions.current_of_enrollment(session, enrollment_id, principal)
        body = json.dumps(actions.signed_document(certificate), ensure_ascii=False, indent=2)
        return _download(body.encode("utf-8"), "application/json", f"{certificate.number}.json")

    @api("GET", "/certificate/enrollments/<uuid:enrollment_id>/certificate.jwt", roles=HOLDER_READERS,
         produces=("application/vc+jwt",))
    def credential(self, request, principal, enrollment_id):
        """The certificate as a W3C Verifiable Credential (`vc+jwt`, EdDSA, the key of
        GET /certificate/keys) for wallets and employers; its status is in the status list."""
        with self.db.read() as session:
            certificate = actions.current_of_enrollment(session, enrollment_id, principal)
        return _download(actions.credential_jwt(certificate, self.signer, self.public_base_url).encode("ascii"),
                         "application/vc+jwt", f"{certificate.number}.jwt")

    @api("GET", "/certificate/enrollments/<uuid:enrollment_id>/certificate.pdf", roles=HOLDER_READERS,
         produces=("application/pdf",))
    def printable(self, request, principal, enrollment_id):
        """The certificate as a PDF, with a QR code to the verification page."""
        with self.db.read() as session:
            certificate = actions.current_of_enrollment(session, enrollment_id, principal)
        pdf = document.certificate_pdf(certificate, actions.verify_url(self.public_base_url, certificate))
        return _download(pdf, "application/pdf", f"{certificate.number}.pdf")

    # -- administrators: the talent registry, corrections, revocations -----------------

    @api("POST", "/certificate/registry/search", roles=("admin",), request=schemas.RegistrySearch,
         query=pagination.PageQuery, response=schemas.RegistryPage)
    def search_registry(self, request, principal, body, query):
        """Search certificates (a POST, so an ID number never sits in a URL or access log;
        the page, `limit` and `offset`, in the query string as for every list)."""
        with self.db.read() as session:
            rows, total = actions.search(session, body, self.id_key, program_date(utcnow()), query)
        return pagination.page(rows, total, query)

    @api("POST", "/certificate/registry/export", roles=("admin",), request=schemas.RegistrySearch,
         produces=("text/csv",))
    def export_registry(self, request, principal, body):
        """The same search, every match, as CSV (UTF-8 with BOM, for spreadsheets)."""
        with self.db.read() as session:
            rows = actions.export(session, body, self.id_key, program_date(utcnow()))
        csv_text = "\ufeff" + actions.registry_csv(rows)
        return _download(csv_text.encode("utf-8"), "text/csv; charset=utf-8", "registry.csv")

    @api("POST", "/certificate/registry/talent-export", roles=("admin",), request=schemas.TalentExport,
         produces=("application/zip",))
    def export_talent_registry(self, request, principal, body):
        """The talent registry export (人才库): every record of the certificates issued in
        the period (every serial, every status, issued and imported) as a ZIP of
        talent-registry.csv, talent-registry.json and manifest.json — the counts and
        each file's SHA-256, signed with the certificate key (Ed25519, GET
        /certificate/keys), so the receiving system can check it got everything."""
        with self.db.read() as session:
            files = actions.export_talent_registry(session, body["issued_from"], body["issued_to"],
                                                   self.signer, utcnow())
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(name, content)
        period = f"{body['issued_from'].isoformat()}_{body['issued_to'].isoformat()}"
        return _download(out.getvalue(), "application/zip", f"talent-registry-{period}.zip")

    @api("POST", "/certificate/imports", roles=("admin",), response=schemas.ImportResult,
         body_limit=("IMPORT_MAX_BYTES", imports.MAX_BYTES), media_types=imports.CSV_TYPES)
    def import_certificates(self, request, principal):
        """Import certificates the program issued before this system, from a CSV file
        sent as the body (Content-Type: text/csv; UTF-8 with or without BOM, or GBK).

        Every row is answered: `imported`, `already_imported` (the same certificate
        again: nothing changes, so a file may be sent again) or `refused` with its
        reasons. An imported certificate is signed as a record of this import (who,
        when, the file's SHA-256), verifies publicly with its original issue date and
        counts for the L3 route like an issued one. Columns:
        """
        if (request.mimetype or "").lower() not in imports.CSV_TYPES:
            raise UnsupportedMediaType("send the file itself as the body with Content-Type: text/csv")
        upload = spool(request.stream)
        try:
            rows = imports.rows(upload, int(self.config.get("IMPORT_MAX_ROWS", 5000)),
                                request.mimetype_params.get("charset"))
        finally:
            upload.close()
        try:
            with self.db.transaction() as tx:
                results = actions.import_certificates(tx, rows, upload.sha256, principal.subject,
                                                      self.signer, self.id_key, utcnow())
        except IntegrityError:  # another import of the same numbers committed first
            raise actions.ImportedMeanwhile("another import wrote some of these numbers meanwhile; "
                                            "send the file again (rows already imported are answered so)") from None
        return {"file_sha256": upload.sha256, **domain.import_counts(results), "results": results}

    @api("GET", "/certificate/certificates/<number>/certificate.json", roles=("admin",),
         produces=("application/json",))
    def signed_file_by_number(self, request, principal, number):
        """Administrators: any certificate's current signed file (an imported one's too)."""
        with self.db.read() as session:
            certificate = actions.current_by_number(session, number)
        body = json.dumps(actions.signed_document(certificate), ensure_ascii=False, indent=2)
        return _download(body.encode("utf-8"), "application/json", f"{certificate.number}.json")

    @api("GET", "/certificate/certificates/<number>/credential.jwt", roles=("admin",),
         produces=("application/vc+jwt",))
    def credential_by_number(self, request, principal, number):
        """Administrators: any certificate's current record as a credential (an imported
        one has no enrollment, so this is how its holder is given it)."""
        with self.db.read() as session:
            certificate = actions.current_by_number(session, number)
        return _download(actions.credential_jwt(certificate, self.signer, self.public_base_url).encode("ascii"),
                         "application/vc+jwt", f"{certificate.number}.jwt")

    @api("POST", "/certificate/certificates/<number>/corrections", roles=("admin",),
         request=schemas.Correction, response=schemas.Certificate, status=201)
    def correct(self, request, principal, number, body):
        """Correct the holder's name and/or ID number: reissue with the next serial.
        The same correction again answers the reissue it made (200)."""
        with self.db.transaction() as tx:
            reissued, new = actions.correct(tx, number, body, self.signer, self.id_key, utcnow())
        return (201 if new else 200), actions.view(reissued, self.public_base_url)

    @api("POST", "/certificate/certificates/<number>/revocation", roles=("admin",),
         request=schemas.Revocation, response=schemas.Certificate)
    def revoke(self, request, principal, number, body):
        """Revoke the certificate (fraud), with a reason."""
        with self.db.transaction() as tx:
            revoked = actions.revoke(tx, number, body["reason"], utcnow())
        return actions.view(revoked, self.public_base_url)


def _download(body: bytes, content_type: str, filename: str) -> Response:
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename)  # an imported number may hold any character
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


CertificateService.import_certificates.__doc__ = (inspect.cleandoc(CertificateService.import_certificates.__doc__)
                                                  + "\n\n" + imports.describe_columns())
