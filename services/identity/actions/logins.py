"""Logging in and out, refreshing, changing and resetting a password, the second
factor. Password hashing is slow by design, so each action reads, hashes outside any
transaction, then records the outcome (failure counts and audit included) in one
transaction, and only then refuses."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from shared import identity as ids
from shared.errors import Conflict, NotPermitted, RuleViolation
from shared.tokens import SETUP_AUDIENCE
from shared.web.problems import TooManyRequests, Unauthenticated

from .. import credentials
from ..domain import accounts as rules, lockout, passwords, sessions
from ..domain.notices import mask_address
from ..models import Account, Base, ClientFailures, Learner, PasswordReset, RefreshToken, RoleGrant
from . import audit, notices

RESET_MIN_INTERVAL = timedelta(minutes=1)
RESET_MAX_TRIES = 5


class TooManyAttempts(TooManyRequests):
    slug, title = "too-many-attempts", "Too many failed attempts: wait before trying again"


class WrongPassword(NotPermitted):
    slug = "wrong-password"
    title = "The current password is not right"


class InvalidCode(RuleViolation):
    slug = "invalid-code"
    title = "The code is not right, has expired or was used"


@dataclass(frozen=True)
class Found:
    """What a login attempt needs, read before the slow hash."""
    account_id: uuid.UUID | None
    password_hash: str | None
    shown: str            # the login as the audit shows it (an ID number masked)
    wait_until: datetime | None


# -- finding the login ----------------------------------------------------------------

def find_account(session, login: str, id_key: bytes) -> tuple[Account | None, str]:
    if rules.is_id_number(login):
        digest = ids.keyed_hash(login, id_key)
        learner_id = session.scalar(select(Learner.learner_id).where(Learner.id_number_hash == digest))
        account = session.scalar(select(Account).where(Account.learner_id == learner_id)) if learner_id else None
        return account, ids.mask(login)
    return session.scalar(select(Account).where(Account.login_name == login)), login[:40]


def _wait(session, account: Account | None, client: str, now: datetime) -> datetime | None:
    waits = []
    if account is not None:
        waits.append(lockout.wait_until(lockout.ACCOUNT, account.failed_logins, account.last_failure_at, now))
    row = session.get(ClientFailures, client)
    if row is not None:
        waits.append(lockout.wait_until(lockout.CLIENT, row.failures, row.last_failure_at, now))
    waits = [w for w in waits if w is not None]
    return max(waits) if waits else None


def look_up(db, login: str, client: str, id_key: bytes, now: datetime) -> Found:
    with db.read() as session:
        account, shown = find_account(session, login, id_key)
        return Found(account.account_id if account else None, account.password_hash if account else None,
                     shown, _wait(session, account, client, now))


def refuse_while_waiting(db, found: Found, client: str, kind: str, now: datetime) -> None:
    """An attempt made during a wait is refused unchecked, and recorded."""
    if found.wait_until is None:
        return
    with db.transaction() as tx:
        audit.record(tx.session, kind, now, account_id=found.account_id, login=found.shown, client=client,
                     detail=f"refused unchecked until {found.wait_until.isoformat()}")
    seconds = max(1, int((found.wait_until - now).total_seconds()) + 1)
    raise TooManyAttempts(f"too many failed attempts; try again in {seconds} s", retry_after=seconds)


def _count_failure(session, account: Account | None, client: str, now: datetime) -> None:
    if account is not None:
        account.failed_logins = lockout.current_failures(
            lockout.ACCOUNT, account.failed_logins, account.last_failure_at, now) + 1
        account.last_failure_at = now
    row = session.get(ClientFailures, client, with_for_update=True)
    if row is None:
        session.add(ClientFailures(client=client, failures=1, last_failure_at=now))
    else:
        row.failures = lockout.current_failures(lockout.CLIENT, row.failures, row.last_failure_at, now) + 1
        row.last_failure_at = now


# -- logging in --------------------------------------------------------------------------

def log_in(db, hasher, ring, id_key: bytes, body: dict, client: str, now: datetime,
           lifetimes: sessions.Lifetimes) -> dict:
    login = rules.normalized_login(body["login"])
    found = look_up(db, login, client, id_key, now)
    refuse_while_waiting(db, found, client, "login-throttled", now)
    right = hasher.verify(found.password_hash, body["password"])
    refusal, answer = None, None
    with db.transaction() as tx:
        session = tx.session
        account = session.get(Account, found.account_id, with_for_update=True) if found.account_id else None
        if not right:
            _count_failure(session, account, client, now)
            audit.record(session, "login-failed", now, account_id=found.account_id, login=found.shown,
                         client=client, detail="wrong password" if account else "unknown login")
            refusal = rules.LoginRefused("the login name or password is not right")
        else:
            refusal, answer = _admit(tx, hasher, ring, account, body, found.shown, client, now, lifetimes)
    if refusal is not None:
        raise refusal
    return answer


def _admit(tx, hasher, ring, account: Account, body: dict, shown: str, client: str, now: datetime,
           lifetimes: sessions.Lifetimes):
    """The password was right: may this login be used, as which role, and is the
    second factor needed? (refusal, None) or (None, the session)."""
    session = tx.session
    try:
        grant = _grant_for(session, account, body.get("role"))
        why = rules.refusal_for_use(disabled_at=account.disabled_at, base_suspended=_suspended(session, grant))
        if why:
            raise rules.LoginRefused(f"this login may not be used now ({why})" if why == "base suspended"
                                     else "the login name or password is not right")
    except (rules.LoginRefused, rules.RoleChoiceRequired) as refusal:
        audit.record(session, "login-refused", now, account_id=account.account_id, login=shown, client=client,
                     detail=str(refusal))
        return refusal, None
    if account.totp_confirmed_at is not None:
        code = body.get("totp")
        if not code:
            return rules.SecondFactorRequired("this login has a second factor: send totp", rules=[
                {"rule": "TOTP_REQUIRED", "message": "the 6-digit code of the authenticator app"}]), None
        step = credentials.totp_step(account.totp_secret, code, now, account.totp_last_step)
        if step is None:
            _count_failure(session, account, client, now)
            audit.record(session, "login-failed", now, account_id=account.account_id, login=shown, client=client,
                         detail="wrong second factor")
            return rules.LoginRefused("the second factor is not right"), None
        account.totp_last_step = step
    account.failed_logins, account.last_failure_at = 0, None
    if account.must_change_password and account.delivery_channel:  # the channel it came through works
        setattr(account, f"{'mobile' if account.delivery_channel == 'sms' else 'email'}_verified_at", now)
    steps = rules.setup_steps(must_change_password=account.must_change_password, role=grant.role,
                              totp_confirmed=account.totp_confirmed_at is not None)
    audit.record(session, "login-succeeded" if not steps else "login-setup", now, account_id=account.account_id,
                 login=shown, client=client, detail=f"as {grant.role}" + (f"; must {', '.join(steps)}" if steps else ""))
    if steps:
        return None, setup_session(ring, account, grant, steps, now, lifetimes)
    family = uuid.uuid4()
    return None, issue(session, ring, account, grant, now, lifetimes, family, now + lifetimes.family)


def _grant_for(session, account: Account, requested: str | None) -> rules.Grant:
    if account.kind == "learner":
        if requested not in (None, "learner"):
            raise rules.LoginRefused("this login does not hold that role")
        return rules.Grant("learner", None)
    return rules.choose_grant(active_grants(session, account.account_id), requested)


def active_grants(session, account_id) -> list[rules.Grant]:
    rows = session.scalars(select(RoleGrant).where(RoleGrant.account_id == account_id,
                                                   RoleGrant.removed_at.is_(None))
                           .order_by(RoleGrant.grant_id)).all()
    return [rules.Grant(g.role, g.base_code) for g in rows]


def _suspended(session, grant: rules.Grant) -> bool:
    if grant.role != "base_operator":
        return False
    base = session.get(Base, grant.base_code)
    return bool(base and base.suspended)


def subject_of(account: Account) -> str:
    """Learners are known to every service by their learner id; staff by account id."""
    return str(account.learner_id if account.kind == "learner" else account.account_id)


def issue(session, ring, account: Account, grant: rules.Grant, now: datetime, lifetimes: sessions.Lifetimes,
          family: uuid.UUID, family_expires_at: datetime) -> dict:
    value, digest = credentials.refresh_token()
    expires = sessions.next_expiry(lifetimes, account.kind, family_expires_at, now)
    session.add(RefreshToken(token_hash=digest, family_id=family, account_id=account.account_id, role=grant.role,
                             base_code=grant.base_code, issued_at=now, expires_at=expires,
                             family_expires_at=family_expires_at))
    access = ring.mint(subject=subject_of(account), role=grant.role, base=grant.base_code, now=now,
                       ttl=lifetimes.access, acct=str(account.account_id))
    return {"access_token": access, "token_type": "Bearer", "expires_in": int(lifetimes.access.total_seconds()),
            "refresh_token": value, "refresh_expires_in": int((expires - now).total_seconds()),
            "account_id": account.account_id, "role": grant.role, "base_code": grant.base_code, "setup": []}


def setup_session(ring, account: Account, grant: rules.Grant, steps: list[str], now: datetime,
                  lifetimes: sessions.Lifetimes) -> dict:
    """A token that may only finish the login's setup; no refresh token."""
    access = ring.mint(subject=subject_of(account), role=grant.role, base=grant.base_code, now=now,
                       ttl=lifetimes.setup, audience=SETUP_AUDIENCE, acct=str(account.account_id), steps=steps)
    return {"access_token": access, "token_type": "Bearer", "expires_in": int(lifetimes.setup.total_seconds()),
            "refresh_token": None, "refresh_expires_in": None, "account_id": account.account_id,
            "role": grant.role, "base_code": grant.base_code, "setup": steps}


# -- refresh and logout -----------------------------------------------------------------

def refresh(db, ring, value: str, client: str, now: datetime, lifetimes: sessions.Lifetimes) -> dict:
    refusal, answer = None, None
    with db.transaction() as tx:
        session = tx.session
        token = session.get(RefreshToken, credentials.token_digest(value), with_for_update=True)
        if token is None:
            refusal = "unknown"
        else:
            outcome = sessions.on_refresh(sessions.RefreshState(token.expires_at, token.family_expires_at,
                                                                token.spent_at, token.revoked_at), now)
            account = session.get(Account, token.account_id)
            if outcome == sessions.REUSED:
                revoke_family(session, token.family_id, "reuse", now)
                audit.record(session, "refresh-reuse", now, account_id=token.account_id, client=client,
                             detail="a spent refresh token was presented: its family is revoked")
                refusal = "spent (its sessions are now revoked)"
            elif outcome != sessions.ROTATE:
                refusal = outcome
            else:
                grant = rules.Grant(token.role, token.base_code)
                held = account.kind == "learner" or grant in active_grants(session, account.account_id)
                why = rules.refusal_for_use(disabled_at=account.disabled_at,
                                            base_suspended=_suspended(session, grant))
                if not held or why:
                    revoke_family(session, token.family_id, why or "role removed", now)
                    refusal = why or "role removed"
                else:
                    token.spent_at = now
                    answer = issue(session, ring, account, grant, now, lifetimes, token.family_id,
                                   token.family_expires_at)
    if refusal is not None:
        raise Unauthenticated(f"the refresh token is not valid ({refusal}); log in again")
    return answer


def log_out(db, value: str, client: str, now: datetime) -> None:
    with db.transaction() as tx:
        token = tx.session.get(RefreshToken, credentials.token_digest(value))
        if token is not None:
            revoke_family(tx.session, token.family_id, "logout", now)
            audit.record(tx.session, "logout", now, account_id=token.account_id, client=client)


def revoke_family(session, family_id, because: str, now: datetime) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id,
                                               RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_because=because[:40]))


def revoke_account(session, account_id, because: str, now: datetime, role: str | None = None) -> None:
    stmt = update(RefreshToken).where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
    if role is not None:
        stmt = stmt.where(RefreshToken.role == role)
    session.execute(stmt.values(revoked_at=now, revoked_because=because[:40]))


def me(session, account_id, principal) -> dict:
    account = session.get(Account, account_id)
    learner = session.get(Learner, account.learner_id) if account.learner_id else None
    return {"account_id": account.account_id, "kind": account.kind,
            "login": account.login_name or (learner.id_number_masked if learner else ""),
            "display_name": account.display_name, "role": principal.role, "base_code": principal.base,
            "must_change_password": account.must_change_password,
            "totp_enabled": account.totp_confirmed_at is not None,
            "verified_channels": verified_channels(account)}


# -- passwords ---------------------------------------------------------------------------

def _contains_login(session, account: Account, new: str, id_key: bytes) -> bool:
    if account.kind == "staff":
        return passwords.contains_name(new, account.login_name)
    learner = session.get(Learner, account.learner_id)
    return any(ids.keyed_hash(piece, id_key) == learner.id_number_hash
               for piece in passwords.windows(new, 18) if piece.isascii())


def check_policy(db, hasher, account_id, new: str, id_key: bytes) -> None:
    with db.read() as session:
        account = session.get(Account, account_id)
        contains = _contains_login(session, account, new, id_key)
        current = account.password_hash
    passwords.check(new, same_as_current=hasher.verify(current, new), contains_login=contains)


def change_password(db, hasher, id_key: bytes, account_id, body: dict, client: str, now: datetime) -> None:
    with db.read() as session:
        account = session.get(Account, account_id)
        stored, shown = account.password_hash, account.login_name or "learner"
        wait = _wait(session, account, client, now)
    refuse_while_waiting(db, Found(account_id, stored, shown, wait), client, "password-change-throttled", now)
    right = hasher.verify(stored, body["current_password"])
    if right:
        check_policy(db, hasher, account_id, body["new_password"], id_key)
        new_hash = hasher.hash(body["new_password"])
    with db.transaction() as tx:
        account = tx.session.get(Account, account_id, with_for_update=True)
        if not right:
            _count_failure(tx.session, account, client, now)
            audit.record(tx.session, "password-change-failed", now, account_id=account_id, client=client,
                         detail="wrong current password")
        else:
            _set_password(tx.session, account, new_hash, now)
            audit.record(tx.session, "password-changed", now, account_id=account_id, client=client)
    if not right:
        raise WrongPassword("the current password is not right")


def _set_password(session, account: Account, new_hash: str, now: datetime) -> None:
    account.password_hash, account.password_changed_at = new_hash, now
    account.must_change_password = False
    account.failed_logins, account.last_failure_at = 0, None
    revoke_account(session, account.account_id, "password changed", now)


# -- reset by a one-time code -------------------------------------------------------------

def verified_channels(account: Account) -> list[str]:
    """Where a reset code may go: the channels a login proved it receives (its first
    login used the password sent there); before that, where the initial password went."""
    found = [c for c, at in (("sms", account.mobile_verified_at), ("email", account.email_verified_at)) if at]
    return found or ([account.delivery_channel] if account.delivery_channel else [])


def request_reset(db, id_key: bytes, body: dict, client: str, now: datetime) -> None:
    """Always answered alike (202), whether the login exists or not."""
    login = rules.normalized_login(body["login"])
    with db.transaction() as tx:
        session = tx.session
        account, shown = find_account(session, login, id_key)
        channels = verified_channels(account) if account is not None and account.disabled_at is None else []
        detail = "no such login or no verified channel" if not channels else None
        if channels:
            channel = body.get("channel") if body.get("channel") in channels else channels[0]
            latest = session.scalar(select(PasswordReset).where(PasswordReset.account_id == account.account_id)
                                    .order_by(PasswordReset.requested_at.desc()).limit(1))
            if latest is not None and now - latest.requested_at < RESET_MIN_INTERVAL:
                detail = "asked again within a minute: nothing sent"
            else:
                session.execute(update(PasswordReset).where(PasswordReset.account_id == account.account_id,
                                                            PasswordReset.used_at.is_(None)).values(used_at=now))
                reset = PasswordReset(reset_id=uuid.uuid4(), account_id=account.account_id, channel=channel,
                                      requested_at=now, tries=0)
                session.add(reset)
                notices.make(tx, "reset-code", f"reset:{reset.reset_id}", correlation_id=account.account_id,
                             values={"minutes": notices.RESET_CODE_MINUTES, "reset_id": str(reset.reset_id)},
                             now=now, account=account, channel=channel)
                address = account.mobile if channel == "sms" else account.email
                detail = f"code sent by {channel} to {mask_address(channel, address)}"
        audit.record(session, "reset-requested", now, account_id=account.account_id if account else None,
                     login=shown, client=client, detail=detail)


def confirm_reset(db, hasher, id_key: bytes, body: dict, client: str, now: datetime) -> None:
    login = rules.normalized_login(body["login"])
    with db.read() as session:
        account, shown = find_account(session, login, id_key)
        reset = None
        if account is not None:
            reset = session.scalar(select(PasswordReset).where(
                PasswordReset.account_id == account.account_id, PasswordReset.used_at.is_(None),
                PasswordReset.code_hash.is_not(None)).order_by(PasswordReset.requested_at.desc()).limit(1))
        found = Found(account.account_id if account else None, None, shown, _wait(session, account, client, now))
    refuse_while_waiting(db, found, client, "reset-throttled", now)
    usable = reset is not None and reset.expires_at > now and reset.tries < RESET_MAX_TRIES
    right = hasher.verify(reset.code_hash if usable else None, body["code"])
    if right:
        check_policy(db, hasher, account.account_id, body["new_password"], id_key)
        new_hash = hasher.hash(body["new_password"])
    with db.transaction() as tx:
        session = tx.session
        if not right:
            if reset is not None:
                session.execute(update(PasswordReset).where(PasswordReset.reset_id == reset.reset_id)
                                .values(tries=PasswordReset.tries + 1))
            _count_failure(session, None, client, now)
            audit.record(session, "reset-failed", now, account_id=found.account_id, login=shown, client=client)
        else:
            done = session.execute(update(PasswordReset).where(PasswordReset.reset_id == reset.reset_id,
                                                               PasswordReset.used_at.is_(None))
                                   .values(used_at=now)).rowcount
            if done:
                account = session.get(Account, account.account_id, with_for_update=True)
                _set_password(session, account, new_hash, now)
                audit.record(session, "password-reset", now, account_id=account.account_id, login=shown,
                             client=client)
            right = bool(done)
    if not right:
        raise InvalidCode("the code is not right, has expired or was used; ask for a new one",
                          rules=[{"rule": "ONE_TIME_CODE", "message": "the latest code, within its minutes"}])


# -- the second factor ----------------------------------------------------------------

def start_totp(db, account_id, now: datetime) -> dict:
    with db.transaction() as tx:
        account = tx.session.get(Account, account_id, with_for_update=True)
        if account.kind != "staff":
            raise NotPermitted("the second factor is for staff logins")
        if account.totp_confirmed_at is not None:
            raise Conflict("the second factor is already set up")
        account.totp_secret = credentials.new_totp_secret()
        secret, name = account.totp_secret, account.login_name
    return {"secret": secret, "uri": credentials.totp_uri(secret, name)}


def confirm_totp(db, account_id, code: str, client: str, now: datetime) -> None:
    with db.transaction() as tx:
        account = tx.session.get(Account, account_id, with_for_update=True)
        if account.totp_secret is None or account.totp_confirmed_at is not None:
            raise Conflict("start the second factor's setup first (POST /identity/me/totp)")
        step = credentials.totp_step(account.totp_secret, code, now, None)
        if step is not None:
            account.totp_confirmed_at, account.totp_last_step = now, step
            audit.record(tx.session, "totp-enabled", now, account_id=account_id, client=client)
    if step is None:
        raise InvalidCode("the code does not match; check the phone's clock and try the next code",
                          rules=[{"rule": "TOTP", "message": "the current 6-digit code"}])
