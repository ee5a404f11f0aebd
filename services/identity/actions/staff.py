"""Staff accounts: created by an administrator (the first by `make admin`), each
with its role grants; every grant and removal recorded with who and when."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from shared.errors import Conflict, NotFound
from shared.web.pagination import fetch_page, page

from ..domain import accounts as rules
from ..domain.notices import ROLE_NAMES, mask_address
from ..models import Account, RoleGrant
from . import audit, logins, notices


def create_staff(tx, body: dict, by: str, now: datetime) -> tuple[Account, bool]:
    """(the account, whether it is new): the same request again answers the account it
    made (docs/api-conventions.md, "Creating twice"); other details under a taken login
    name are a conflict naming that account."""
    session = tx.session
    name = rules.check_staff_login_name(body["login_name"])
    grant = rules.check_grant(body["role"], body.get("base_code"))
    found = session.scalar(select(Account).where(Account.login_name == name))
    if found is not None:
        if (found.kind == "staff" and found.created_by == by[:64]
                and (found.display_name, found.email, found.mobile)
                == (body["display_name"], body.get("email"), body.get("mobile"))
                and grant in logins.active_grants(session, found.account_id)):
            return found, False
        raise Conflict(f"the login name {name} is taken", account_id=str(found.account_id))
    account = Account(account_id=uuid.uuid4(), kind="staff", login_name=name, display_name=body["display_name"],
                      must_change_password=True, mobile=body.get("mobile"), email=body.get("email"),
                      failed_logins=0, created_at=now, created_by=by[:64])
    session.add(account)
    session.flush()
    audit.record(session, "staff-created", now, account_id=account.account_id, login=name, actor=by)
    _grant(session, account, grant, by, now)
    notices.make(tx, "staff-account-opened", f"staff:{account.account_id}:opened",
                 correlation_id=account.account_id, now=now, account=account, base_code=grant.base_code,
                 values={"display_name": account.display_name, "login_name": name,
                         "role_name": ROLE_NAMES[grant.role]})
    return account, True


def _grant(session, account: Account, grant: rules.Grant, by: str, now: datetime) -> RoleGrant:
    row = RoleGrant(account_id=account.account_id, role=grant.role, base_code=grant.base_code,
                    granted_by=by[:64], granted_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "role-granted", now, account_id=account.account_id, login=account.login_name, actor=by,
                 detail=grant.role + (f" of base {grant.base_code}" if grant.base_code else ""))
    return row


def grant_role(tx, account_id, body: dict, by: str, now: datetime) -> None:
    account = _staff(tx.session, account_id, for_update=True)
    grant = rules.check_grant(body["role"], body.get("base_code"))
    if grant in logins.active_grants(tx.session, account_id):
        raise rules.GrantRefused("the account already holds this role")
    _grant(tx.session, account, grant, by, now)


def remove_grant(tx, account_id, grant_id: int, reason: str, by: str, now: datetime) -> None:
    session = tx.session
    account = _staff(session, account_id, for_update=True)
    row = session.get(RoleGrant, grant_id, with_for_update=True)
    if row is None or row.account_id != account.account_id:
        raise NotFound(f"no grant {grant_id} of this account")
    if row.removed_at is not None:
        raise rules.GrantRefused("this grant was already removed")
    if row.role == "admin" and _active_admins(session) <= 1:
        raise rules.GrantRefused("this is the last administrator: grant another first")
    row.removed_by, row.removed_at, row.removal_reason = by[:64], now, reason
    logins.revoke_account(session, account.account_id, "role removed", now, role=row.role)
    audit.record(session, "role-removed", now, account_id=account.account_id, login=account.login_name, actor=by,
                 detail=f"{row.role}: {reason}")


def _active_admins(session) -> int:
    return session.scalar(select(func.count()).select_from(RoleGrant).where(
        RoleGrant.role == "admin", RoleGrant.removed_at.is_(None)))


def _staff(session, account_id, for_update: bool = False) -> Account:
    account = session.get(Account, account_id, with_for_update=for_update)
    if account is None or account.kind != "staff":
        raise NotFound(f"no staff account {account_id}")
    return account


# -- who sees whom ----------------------------------------------------------------------

def _of_base(session, base_code: str):
    return select(RoleGrant.account_id).where(RoleGrant.role == "base_operator", RoleGrant.base_code == base_code,
                                              RoleGrant.removed_at.is_(None))


def visible(session, account_id, principal) -> Account:
    """Administrators see every staff account; a base operator those of its own base
    (another base's answer 404, as if absent)."""
    account = _staff(session, account_id)
    if principal.role == "base_operator" and account_id not in set(session.scalars(_of_base(session, principal.base))):
        raise NotFound(f"no staff account {account_id}")
    return account


def listing(session, principal, query: dict) -> dict:
    stmt = select(Account).where(Account.kind == "staff").order_by(Account.login_name)
    base = query.get("base_code")
    if principal.role == "base_operator":
        if base is not None and base != principal.base:
            return page([], 0, query)
        base = principal.base
    if base is not None:
        stmt = stmt.where(Account.account_id.in_(_of_base(session, base)))
    if query.get("role"):
        stmt = stmt.where(Account.account_id.in_(select(RoleGrant.account_id).where(
            RoleGrant.role == query["role"], RoleGrant.removed_at.is_(None))))
    rows, total = fetch_page(session, stmt, query)
    return page([view(session, a) for a in rows], total, query)


def view(session, account: Account) -> dict:
    grants = session.scalars(select(RoleGrant).where(RoleGrant.account_id == account.account_id)
                             .order_by(RoleGrant.grant_id)).all()
    return {"account_id": account.account_id, "login_name": account.login_name,
            "display_name": account.display_name,
            "email_masked": mask_address("email", account.email) if account.email else None,
            "mobile_masked": mask_address("sms", account.mobile) if account.mobile else None,
            "must_change_password": account.must_change_password,
            "totp_enabled": account.totp_confirmed_at is not None,
            "created_at": account.created_at, "created_by": account.created_by, "grants": grants}
