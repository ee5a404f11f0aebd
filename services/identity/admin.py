"""`make admin`: the first administrator, created on the identity database directly
(every later account is created by an administrator through the API).

    python -m services.identity.admin --login wang.admin --name 王管理 [--email a@b.cn] [--json]

The password comes from IDENTITY_ADMIN_PASSWORD or is asked twice; it must meet the
password policy. The second factor is set up at once: the command prints its secret
and otpauth URI for the administrator's authenticator app (shown once, never again).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.calendar import utcnow
from shared.errors import DomainError
from shared.persistence import migrations
from shared.persistence.engine import make_engine

from . import credentials
from .actions import audit
from .domain import accounts as rules, passwords
from .models import Account, RoleGrant

BY = "make admin"


class AdminExists(Exception):
    pass


def create_first_admin(database_url: str, login: str, display_name: str, password: str,
                       email: str | None = None, hasher: credentials.Hasher | None = None) -> dict:
    """The first administrator, with its second factor; refused when one exists."""
    name = rules.check_staff_login_name(login)
    passwords.check(password, same_as_current=False, contains_login=passwords.contains_name(password, name))
    hasher = hasher or credentials.Hasher(int(os.environ.get("IDENTITY_PASSWORD_HASH_MEMORY_KIB", 65536)),
                                          int(os.environ.get("IDENTITY_PASSWORD_HASH_TIME_COST", 3)),
                                          int(os.environ.get("IDENTITY_PASSWORD_HASH_PARALLELISM", 4)))
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine, "services.identity")
        with Session(engine.execution_options(cea_write=True)) as session, session.begin():
            if session.scalar(select(RoleGrant.grant_id).where(RoleGrant.role == "admin",
                                                               RoleGrant.removed_at.is_(None)).limit(1)):
                raise AdminExists("an administrator exists already: administrators create the others "
                                  "(POST /identity/staff)")
            if session.scalar(select(Account.account_id).where(Account.login_name == name)):
                raise AdminExists(f"the login name {name} is taken")
            now, secret = utcnow(), credentials.new_totp_secret()
            account = Account(account_id=uuid.uuid4(), kind="staff", login_name=name, display_name=display_name,
                              password_hash=hasher.hash(password), password_changed_at=now,
                              must_change_password=False, email=email, totp_secret=secret,
                              totp_confirmed_at=now, failed_logins=0, created_at=now, created_by=BY)
            session.add(account)
            session.flush()
            session.add(RoleGrant(account_id=account.account_id, role="admin", granted_by=BY, granted_at=now))
            audit.record(session, "staff-created", now, account_id=account.account_id, login=name, actor=BY)
            audit.record(session, "role-granted", now, account_id=account.account_id, login=name, actor=BY,
                         detail="admin")
            audit.record(session, "totp-enabled", now, account_id=account.account_id, actor=BY)
            account_id = account.account_id
    finally:
        engine.dispose()
    return {"account_id": str(account_id), "login_name": name, "totp_secret": secret,
            "totp_uri": credentials.totp_uri(secret, name)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.identity.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--login", required=True)
    parser.add_argument("--name", required=True, help="the administrator's name as shown to others")
    parser.add_argument("--email")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    url = os.environ.get("IDENTITY_DATABASE_URL", "sqlite:///var/db/identity.sqlite3")
    password = os.environ.get("IDENTITY_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("Password for the administrator: ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 1
    try:
        made = create_first_admin(url, args.login, args.name, password, args.email)
    except (AdminExists, DomainError) as exc:
        rules_failed = getattr(exc, "extra", {}).get("rules")
        print(f"not created: {exc}" + (f" {rules_failed}" if rules_failed else ""), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(made))
    else:
        print(f"Administrator {made['login_name']} created ({made['account_id']}).\n"
              f"Add this second factor to an authenticator app now (it is not shown again):\n"
              f"  secret {made['totp_secret']}\n  {made['totp_uri']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
