"""The identity service: learner logins opened by payment, staff accounts, tokens
(access and refresh), password resets, the second factor, and the notices that tell
people what happened (docs/identity.md)."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from shared import settings
from shared.calendar import utcnow
from shared.contracts import billing, certificate, enrollment, exam, learning
from shared.service import ServiceBase, api, event_handler, periodic
from shared.tokens import InvalidToken
from shared.web.pagination import page
from shared.web.problems import Unauthenticated
from shared.web.server import ApiServer

from . import schemas
from .actions import audit, logins, notices, reactions, staff
from .channels import ChannelFailed, Channels
from .credentials import Credentials
from .domain import notices as wording, passwords, sessions
from .keyring import KeyRing

log = logging.getLogger(__name__)
STAFF = ("base_operator", "finance_clerk", "examiner", "admin", "operator")
# Who reads their own login and notices: everyone but the operator (SRE) role, which
# reads no person's data (docs/api-conventions.md); it still changes its password and
# sets up its second factor with its token.
EVERYONE = tuple(r for r in STAFF if r != "operator") + ("learner",)
LOGIN_LIMIT = ("LOGIN_RATE_LIMIT", "60/minute")
# What the public endpoints that read a token themselves answer besides the usual.
NO_TOKEN = {401: "No valid bearer token (an access or setup token of identity)"}
REFUSED_LOGIN = {403: "The login name or password is not right, or the login may not be used now "
                      "(disabled, its base suspended, a role it does not hold)"}


class ClientAddress(DependencyProvider):
    """The caller's address as the shared HTTP server determines it (behind a
    trusted proxy, the one the proxy added): the key of the per-client lockout."""
    server = ApiServer()

    def get_dependency(self, worker_ctx):
        return self.server.client_of


class IdentityService(ServiceBase):
    name = "identity"
    config = Config()
    required_settings = (
        settings.ID_HASH_KEY,
        settings.Setting("LOGIN_RATE_LIMIT", "IDENTITY_LOGIN_RATE_LIMIT", check=settings.rate, optional=True),
        settings.Setting("SMTP_PASSWORD", "IDENTITY_SMTP_PASSWORD", secret=True, optional=True),
        settings.Setting("SMS_HTTP_TOKEN", "IDENTITY_SMS_HTTP_TOKEN", secret=True, optional=True),
        *(settings.Setting(key, f"IDENTITY_{key}", check=settings.whole_number(low, high), optional=True)
          for key, low, high in (("ACCESS_TOKEN_SECONDS", 60, 86400),
                                 ("REFRESH_TOKEN_STAFF_SECONDS", 300, 31 * 86400),
                                 ("REFRESH_TOKEN_LEARNER_SECONDS", 300, 366 * 86400),
                                 ("SESSION_MAX_SECONDS", 300, 366 * 86400),
                                 ("SMTP_PORT", 1, 65535))))
    issues_tokens = True  # its own key ring verifies its tokens: no public key file needed
    keys = KeyRing()
    hasher = Credentials()
    channels = Channels()
    client_of = ClientAddress()

    # -- settings ----------------------------------------------------------------

    def id_key(self) -> bytes:
        return self.config["ID_HASH_KEY"].encode()

    def lifetimes(self) -> sessions.Lifetimes:
        c = self.config
        return sessions.Lifetimes(
            access=timedelta(seconds=int(c.get("ACCESS_TOKEN_SECONDS", 600))),
            refresh_staff=timedelta(seconds=int(c.get("REFRESH_TOKEN_STAFF_SECONDS", 43200))),
            refresh_learner=timedelta(seconds=int(c.get("REFRESH_TOKEN_LEARNER_SECONDS", 604800))),
            family=timedelta(seconds=int(c.get("SESSION_MAX_SECONDS", 2592000))))

    def holder(self, request) -> dict:
        """The claims of a bearer token identity issued, a setup token included: the
        endpoints that finish a login's setup take both."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>")
        try:
            claims = self.keys.verify(token.strip())
        except InvalidToken as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        try:
            claims["acct"] = uuid.UUID(claims["acct"])
        except (KeyError, TypeError, ValueError):
            raise Unauthenticated("the token names no login of identity") from None
        return claims

    # -- events -------------------------------------------------------------------

    @event_handler(enrollment.Enrolled)
    def record_learner(self, tx, event):
        reactions.record_learner(tx, event)

    @event_handler(enrollment.BaseAuthorizationChanged)
    def record_base(self, tx, event):
        reactions.record_base(tx, event)

    @event_handler(enrollment.RosterFinished)
    def tell_roster_finished(self, tx, event):
        reactions.tell_roster_finished(tx, event, utcnow())

    @event_handler(billing.Paid)
    def open_login(self, tx, event):
        reactions.open_login(tx, event, utcnow())

    @event_handler(billing.Refunded)
    def tell_refunded(self, tx, event):
        reactions.tell_refunded(tx, event, utcnow())

    @event_handler(learning.AccountOpened)
    def record_validity(self, tx, event):
        reactions.record_validity(tx, event, utcnow())

    @event_handler(learning.AccountExtended)
    def record_extension(self, tx, event):
        reactions.record_validity(tx, event, utcnow())

    @event_handler(learning.AccountExpired)
    def tell_expired(self, tx, event):
        reactions.tell_expired(tx, event, utcnow())

    @event_handler(exam.Registered)
    def tell_registered(self, tx, event):
        reactions.tell_registered(tx, event, utcnow())

    @event_handler(exam.SittingChanged)
    def tell_sitting_changed(self, tx, event):
        reactions.tell_sitting_changed(tx, event, utcnow())

    @event_handler(exam.Graded)
    def tell_graded(self, tx, event):
        reactions.tell_graded(tx, event, utcnow())

    @event_handler(certificate.Issued)
    def tell_certified(self, tx, event):
        reactions.tell_certified(tx, event, utcnow(), self.config.get("PUBLIC_BASE_URL", "http://localhost:8005"))

    # -- timers -------------------------------------------------------------------

    @periodic("NOTICE_INTERVAL_SECONDS", 1.0, eager=True)
    def deliver_notices(self):
        """Send the notices that are due, a claimed batch at a time."""
        delays = tuple(float(s) for s in str(self.config.get("NOTICE_RETRY_SECONDS", "10,60,300,1800,7200"))
                       .split(","))
        while True:
            with self.db.transaction() as tx:
                due = notices.claim_due(tx, utcnow(), 20)
            for notice in due:
                self._deliver(notice, delays)
            if len(due) < 20:
                return

    def _deliver(self, due, delays):
        template = wording.template(due.kind)
        secret = None
        if template.secret:  # made now, sent once, only its hash kept
            secret = passwords.initial_password() if template.secret == "initial-password" else passwords.one_time_code()
            secret_hash = self.hasher.hash(secret)
            with self.db.transaction() as tx:
                if not notices.store_secret(tx, due, secret_hash, utcnow()):
                    return
        try:
            subject, text = template.render(due.values, secret)
            self.channels.send(due.channel, due.address, subject, text, str(due.notice_id))
        except Exception as exc:  # the channel refused it, or a bug: tried again later, then given up
            if not isinstance(exc, ChannelFailed):
                log.exception("notice %s (%s) could not be made", due.notice_id, due.kind)
            with self.db.transaction() as tx:
                notices.record_failure(tx, due.notice_id, str(exc) if isinstance(exc, ChannelFailed)
                                       else f"{type(exc).__name__} (a bug: see the log)", utcnow(), delays)
            return
        with self.db.transaction() as tx:
            notices.record_delivered(tx, due.notice_id, utcnow())

    @periodic("REMINDER_INTERVAL_SECONDS", 300)
    def remind_expiring(self):
        """Tell learners whose account ends in 30 or 7 days."""
        while True:
            with self.db.transaction() as tx:
                seen = reactions.remind_due(tx, utcnow(), 200)
            if seen < 200:
                return

    # -- sessions ------------------------------------------------------------------

    @api("POST", "/identity/sessions", public=True, request=schemas.Login, response=schemas.Session,
         status=201, rate_limit=LOGIN_LIMIT, idempotent=False, responses=REFUSED_LOGIN)
    def log_in(self, request, body):
        """Log in with a login name (a learner's ID number, or a staff name) and password
        (and the second factor's code). A login that must first change its password or
        set up its second factor gets a setup token that allows only that."""
        return logins.log_in(self.db, self.hasher, self.keys, self.id_key(), body, self.client_of(request),
                             utcnow(), self.lifetimes())

    @api("POST", "/identity/sessions/refresh", public=True, request=schemas.RefreshRequest,
         response=schemas.Session, status=201, rate_limit=LOGIN_LIMIT, idempotent=False,
         responses={401: "The refresh token is not valid (unknown, spent, expired or revoked): log in again"})
    def refresh(self, request, body):
        """Spend a refresh token for a new access token and the next refresh token.
        A refresh token spent before revokes every session of its family."""
        return logins.refresh(self.db, self.keys, body["refresh_token"], self.client_of(request), utcnow(),
                              self.lifetimes())

    @api("POST", "/identity/sessions/logout", public=True, request=schemas.RefreshRequest, status=204)
    def log_out(self, request, body):
        """End the session the refresh token belongs to (its access token expires soon)."""
        logins.log_out(self.db, body["refresh_token"], self.client_of(request), utcnow())
        return 204, None

    @api("GET", "/identity/jwks.json", public=True, response=schemas.Jwks)
    def jwks(self, request):
        """The public keys that verify identity's tokens (JWKS): the signing key and
        those being rotated out."""
        return self.keys.jwks()

    # -- one's own login -------------------------------------------------------------

    @api("GET", "/identity/me", roles=EVERYONE, response=schemas.Me)
    def me(self, request, principal):
        """The caller's login: name, role, second factor, verified channels."""
        account_id = self.holder(request)["acct"]
        with self.db.read() as session:
            return logins.me(session, account_id, principal)

    @api("PUT", "/identity/me/password", public=True, request=schemas.PasswordChange, status=204,
         rate_limit=LOGIN_LIMIT, responses={**NO_TOKEN, 403: "The current password is not right"})
    def change_password(self, request, body):
        """Change one's password (a bearer token, a setup token too). Every session of
        the login ends: log in again with the new password."""
        claims = self.holder(request)
        logins.change_password(self.db, self.hasher, self.id_key(), claims["acct"], body,
                               self.client_of(request), utcnow())
        return 204, None

    @api("POST", "/identity/me/totp", public=True, response=schemas.TotpSetup, status=201, idempotent=False,
         responses={**NO_TOKEN, 403: "The second factor is for staff logins"})
    def start_totp(self, request):
        """Start setting up the second factor (staff; a bearer or setup token): the
        secret for an authenticator app. It applies once confirmed with a code."""
        return logins.start_totp(self.db, self.holder(request)["acct"], utcnow())

    @api("POST", "/identity/me/totp/confirmation", public=True, request=schemas.TotpConfirmation, status=204,
         responses={**NO_TOKEN, 403: "The second factor is for staff logins"})
    def confirm_totp(self, request, body):
        """Confirm the second factor with the app's current code; from now on every
        login of this account asks for it."""
        logins.confirm_totp(self.db, self.holder(request)["acct"], body["code"], self.client_of(request), utcnow())
        return 204, None

    @api("GET", "/identity/me/notices", roles=EVERYONE, query=schemas.NoticeQuery, response=schemas.NoticeList)
    def my_notices(self, request, principal, query):
        """What one was told, newest first, with its delivery state (a password or code
        it carried is not shown again)."""
        if principal.role == "learner":
            try:
                own = {"learner_id": uuid.UUID(principal.subject)}
            except ValueError:
                return page([], 0, query)
        else:
            own = {"account_id": self.holder(request)["acct"]}
        with self.db.read() as session:
            return notices.listing(session, principal, query, own=own)

    # -- password reset ----------------------------------------------------------------

    @api("POST", "/identity/password-resets", public=True, request=schemas.ResetRequest, status=202,
         rate_limit=LOGIN_LIMIT)
    def request_reset(self, request, body):
        """Ask for a one-time code to the login's verified mobile or e-mail. Answered
        alike whether the login exists or not."""
        logins.request_reset(self.db, self.id_key(), body, self.client_of(request), utcnow())
        return 202, {"detail": "if the login exists, a code is on its way to its verified channel"}

    @api("POST", "/identity/password-resets/confirmation", public=True, request=schemas.ResetConfirmation,
         status=204, rate_limit=LOGIN_LIMIT)
    def confirm_reset(self, request, body):
        """Set a new password with the code; every session of the login ends."""
        logins.confirm_reset(self.db, self.hasher, self.id_key(), body, self.client_of(request), utcnow())
        return 204, None

    # -- staff ----------------------------------------------------------------------------

    @api("POST", "/identity/staff", roles=("admin",), request=schemas.NewStaff, response=schemas.StaffAccount,
         status=201)
    def create_staff(self, request, principal, body):
        """Create a staff account with its role (a base operator bound to one base); its
        initial password goes to the given e-mail (else mobile) as a notice. The same
        request again answers the account (200); a taken login name otherwise: 409
        (`account_id`)."""
        with self.db.transaction() as tx:
            account, new = staff.create_staff(tx, body, principal.subject, utcnow())
        with self.db.read() as session:
            return (201 if new else 200), staff.view(session, staff.visible(session, account.account_id, principal))

    @api("GET", "/identity/staff", roles=("admin", "base_operator"), query=schemas.StaffQuery,
         response=schemas.StaffList)
    def list_staff(self, request, principal, query):
        """Staff accounts; a base operator sees only its own base's operators."""
        with self.db.read() as session:
            return staff.listing(session, principal, query)

    @api("GET", "/identity/staff/<uuid:account_id>", roles=("admin", "base_operator"),
         response=schemas.StaffAccount)
    def get_staff(self, request, principal, account_id):
        """One staff account with every grant and removal (who, when)."""
        with self.db.read() as session:
            return staff.view(session, staff.visible(session, account_id, principal))

    @api("POST", "/identity/staff/<uuid:account_id>/grants", roles=("admin",), request=schemas.NewGrant,
         response=schemas.StaffAccount, status=201)
    def grant_role(self, request, principal, account_id, body):
        """Grant a further role (recorded with who and when)."""
        with self.db.transaction() as tx:
            staff.grant_role(tx, account_id, body, principal.subject, utcnow())
        with self.db.read() as session:
            return staff.view(session, staff.visible(session, account_id, principal))

    @api("POST", "/identity/staff/<uuid:account_id>/grants/<int:grant_id>/removal", roles=("admin",),
         request=schemas.GrantRemoval, response=schemas.StaffAccount)
    def remove_grant(self, request, principal, account_id, grant_id, body):
        """Remove a grant, with a reason: the account's sessions in that role end."""
        with self.db.transaction() as tx:
            staff.remove_grant(tx, account_id, grant_id, body["reason"], principal.subject, utcnow())
        with self.db.read() as session:
            return staff.view(session, staff.visible(session, account_id, principal))

    # -- oversight --------------------------------------------------------------------------

    @api("GET", "/identity/notices", roles=("admin", "base_operator"), query=schemas.NoticeQuery,
         response=schemas.NoticeList)
    def list_notices(self, request, principal, query):
        """Notices and their delivery state; a base operator sees its own base's learners'."""
        with self.db.read() as session:
            return notices.listing(session, principal, query)

    @api("GET", "/identity/audit", roles=("admin",), query=schemas.AuditQuery, response=schemas.AuditList)
    def list_audit(self, request, principal, query):
        """The audit trail: logins, failures, locks, password changes, grants, newest first."""
        with self.db.read() as session:
            return audit.listing(session, query)

