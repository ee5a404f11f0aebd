"""Staff accounts on the real broker and database: the first administrator by
`make admin` (second factor required), base operators and other staff created by an
administrator with their initial password by e-mail, grants and removals on record,
a suspended base's operators shut out, and who may see or change whom."""
import json
import os
import subprocess
import sys

import pytest

from tests.support.identity_flow import base_changed, log_in, totp
from tests.support.processes import ROOT
from tests.support.services import Client
from tests.support.sinks import initial_password

ADMIN_PASSWORD = "Quanguo-Tanpaifang-2026"
NEW = "Jidi-Caozuo-Yuan-77"


def make_admin(services, login="wang.admin", name="王管理") -> dict:
    """`make admin`, as the command runs it."""
    env = {**os.environ, "IDENTITY_DATABASE_URL": services.config("identity")["DATABASE_URL"],
           "IDENTITY_ADMIN_PASSWORD": ADMIN_PASSWORD, "IDENTITY_PASSWORD_HASH_MEMORY_KIB": "8192",
           "IDENTITY_PASSWORD_HASH_TIME_COST": "1", "IDENTITY_PASSWORD_HASH_PARALLELISM": "1"}
    done = subprocess.run([sys.executable, "-m", "services.identity.admin", "--login", login, "--name", name,
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr,
            **(json.loads(done.stdout) if done.returncode == 0 else {})}


@pytest.fixture
def staffed(services, mail_sink):
    admin = make_admin(services)
    assert admin["code"] == 0, admin["err"]
    services.start("identity", SMTP_PORT=mail_sink.port)
    return services, admin


def _as(services, token):
    return Client(services.url("identity"), token)


def _admin_session(services, admin) -> Client:
    answer = log_in(services.anonymous("identity"), admin["login_name"], ADMIN_PASSWORD, totp=totp(admin["totp_secret"]))
    assert answer.status_code == 201 and answer.json()["setup"] == [], answer.text
    return _as(services, answer.json()["access_token"])


def _first_login(services, mail_sink, email, login, new_password=NEW, **extra) -> dict:
    """The initial password from the e-mail, changed at the first login, then a real session."""
    password = initial_password(mail_sink.expect(email, "初始密码").text)
    anonymous = services.anonymous("identity")
    setup = log_in(anonymous, login, password, **extra).json()
    assert setup["setup"] and setup["setup"][0] == "password", setup
    changed = _as(services, setup["access_token"]).put("/identity/me/password", {
        "current_password": password, "new_password": new_password})
    assert changed.status_code == 204, changed.text
    return setup


def test_the_first_administrator_comes_from_make_admin_and_must_use_a_second_factor(staffed):
    services, admin = staffed
    again = make_admin(services, login="li.admin")
    assert again["code"] == 1 and "exists already" in again["err"]

    anonymous = services.anonymous("identity")
    without = log_in(anonymous, admin["login_name"], ADMIN_PASSWORD)
    assert without.status_code == 422 and without.json()["type"] == "/problems/second-factor-required"
    code = totp(admin["totp_secret"])
    wrong = log_in(anonymous, admin["login_name"], ADMIN_PASSWORD, totp=f"{(int(code) + 1) % 10 ** 6:06d}")
    assert wrong.status_code == 403
    ok = log_in(anonymous, admin["login_name"], ADMIN_PASSWORD, totp=code)
    assert ok.status_code == 201 and ok.json()["role"] == "admin" and ok.json()["setup"] == []
    replayed = log_in(anonymous, admin["login_name"], ADMIN_PASSWORD, totp=code)
    assert replayed.status_code == 403, "a TOTP code works once"


def test_an_administrator_creates_staff_who_change_their_initial_password(staffed, mail_sink):
    services, admin = staffed
    boss = _admin_session(services, admin)
    created = boss.post("/identity/staff", {"login_name": "zhao.b001", "display_name": "赵操作员",
                                            "role": "base_operator", "base_code": "B001", "email": "zhao@b001.cn"})
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["grants"][0]["role"] == "base_operator" and account["grants"][0]["granted_by"] == admin["account_id"]
    assert account["email_masked"] == "z***@b001.cn" and account["must_change_password"]
    again = boss.post("/identity/staff", {"login_name": "zhao.b001", "display_name": "赵操作员",
                                          "role": "base_operator", "base_code": "B001", "email": "zhao@b001.cn"})
    assert again.status_code == 200 and again.json()["account_id"] == account["account_id"]  # a lost answer
    taken = boss.post("/identity/staff", {"login_name": "zhao.b001", "display_name": "x", "role": "examiner",
                                          "email": "x@y.cn"})
    assert taken.status_code == 409 and taken.json()["account_id"] == account["account_id"]
    for bad in ({"login_name": "123456789012345678", "display_name": "x", "role": "examiner", "email": "a@b.cn"},
                {"login_name": "qian.b001", "display_name": "x", "role": "base_operator", "email": "a@b.cn"},
                {"login_name": "qian.b001", "display_name": "x", "role": "examiner"}):
        assert boss.post("/identity/staff", bad).status_code == 422, bad

    mail = mail_sink.expect("zhao@b001.cn", "初始密码")
    assert "zhao.b001" in mail.text and mail.subject
    _first_login(services, mail_sink, "zhao@b001.cn", "zhao.b001")
    session = log_in(services.anonymous("identity"), "zhao.b001", NEW).json()
    assert (session["role"], session["base_code"], session["setup"]) == ("base_operator", "B001", [])

    # A further grant: the login now says which role it acts in; grants and removals are on record.
    grant = boss.post(f"/identity/staff/{account['account_id']}/grants", {"role": "examiner"})
    assert grant.status_code == 201
    choose = log_in(services.anonymous("identity"), "zhao.b001", NEW)
    assert choose.status_code == 422 and choose.json()["type"] == "/problems/role-choice-required"
    as_examiner = log_in(services.anonymous("identity"), "zhao.b001", NEW, role="examiner").json()
    assert as_examiner["role"] == "examiner" and as_examiner["base_code"] is None
    examiner_grant = grant.json()["grants"][1]
    removed = boss.post(f"/identity/staff/{account['account_id']}/grants/{examiner_grant['grant_id']}/removal",
                        {"reason": "moved to another job"})
    assert removed.status_code == 200 and removed.json()["grants"][1]["removed_by"] == admin["account_id"]
    refused = services.anonymous("identity").post("/identity/sessions/refresh",
                                                  {"refresh_token": as_examiner["refresh_token"]})
    assert refused.status_code == 401
    assert log_in(services.anonymous("identity"), "zhao.b001", NEW, role="examiner").status_code == 403
    trail = [e["kind"] for e in boss.get("/identity/audit", params={"account_id": account["account_id"]}).json()["items"]]
    assert {"staff-created", "role-granted", "role-removed", "password-changed", "login-succeeded"} <= set(trail)


def test_an_administrator_made_by_an_administrator_sets_up_the_second_factor_first(staffed, mail_sink):
    services, admin = staffed
    boss = _admin_session(services, admin)
    boss.post("/identity/staff", {"login_name": "sun.admin", "display_name": "孙管理", "role": "admin",
                                  "email": "sun@cea.cn"})
    setup = _first_login(services, mail_sink, "sun@cea.cn", "sun.admin")
    assert setup["setup"] == ["password", "totp"]
    second = log_in(services.anonymous("identity"), "sun.admin", NEW).json()
    assert second["setup"] == ["totp"] and second["refresh_token"] is None
    holder = _as(services, second["access_token"])
    started = holder.post("/identity/me/totp")
    assert started.status_code == 201 and started.json()["uri"].startswith("otpauth://totp/")
    assert holder.post("/identity/me/totp/confirmation", {"code": "000000" if totp(started.json()["secret"]) != "000000"
                                                          else "111111"}).status_code == 422
    assert holder.post("/identity/me/totp/confirmation", {"code": totp(started.json()["secret"])}).status_code == 204
    full = log_in(services.anonymous("identity"), "sun.admin", NEW, totp=totp(started.json()["secret"], 1))
    assert full.status_code == 201 and full.json()["setup"] == [] and full.json()["role"] == "admin"


def test_a_suspended_base_s_operators_cannot_log_in_or_refresh(staffed, mail_sink, bus):
    services, admin = staffed
    boss = _admin_session(services, admin)
    boss.post("/identity/staff", {"login_name": "zhou.b001", "display_name": "周", "role": "base_operator",
                                  "base_code": "B001", "email": "zhou@b001.cn"})
    _first_login(services, mail_sink, "zhou@b001.cn", "zhou.b001")
    session = log_in(services.anonymous("identity"), "zhou.b001", NEW).json()

    bus.publish(base_changed("B001", suspended=True))
    anonymous = services.anonymous("identity")

    def shut_out():
        answer = log_in(anonymous, "zhou.b001", NEW)
        return answer.status_code == 403 and "suspended" in answer.json()["detail"]
    from tests.support.wait import wait_for
    wait_for(shut_out, message="the suspension never reached identity")
    assert anonymous.post("/identity/sessions/refresh", {"refresh_token": session["refresh_token"]}).status_code == 401

    bus.publish(base_changed("B001", suspended=False, action="reinstated"))
    wait_for(lambda: log_in(anonymous, "zhou.b001", NEW).status_code == 201, message="never reinstated")


def test_who_may_see_and_change_staff(staffed, mail_sink):
    services, admin = staffed
    boss = _admin_session(services, admin)
    ids = {}
    for login, base in (("wu.b001", "B001"), ("zheng.b002", "B002")):
        ids[login] = boss.post("/identity/staff", {"login_name": login, "display_name": login, "role": "base_operator",
                                                   "base_code": base, "email": f"{login}@base.cn"}).json()["account_id"]
    ids["feng.clerk"] = boss.post("/identity/staff", {"login_name": "feng.clerk", "display_name": "冯",
                                                      "role": "finance_clerk", "email": "feng@cea.cn"}).json()["account_id"]
    _first_login(services, mail_sink, "wu.b001@base.cn", "wu.b001")
    wu = _as(services, log_in(services.anonymous("identity"), "wu.b001", NEW).json()["access_token"])

    listed = wu.get("/identity/staff").json()["items"]
    assert [s["login_name"] for s in listed] == ["wu.b001"]
    assert wu.get("/identity/staff", params={"base_code": "B002"}).json()["items"] == []
    assert wu.get(f"/identity/staff/{ids['zheng.b002']}").status_code == 404
    assert wu.get(f"/identity/staff/{ids['feng.clerk']}").status_code == 404
    assert wu.get(f"/identity/staff/{ids['wu.b001']}").status_code == 200
    assert wu.post("/identity/staff", {"login_name": "evil.b002", "display_name": "x", "role": "base_operator",
                                       "base_code": "B002", "email": "e@x.cn"}).status_code == 403
    assert wu.post(f"/identity/staff/{ids['wu.b001']}/grants", {"role": "admin"}).status_code == 403
    assert wu.get("/identity/audit").status_code == 403
    clerk = services.client("identity", "finance_clerk")
    assert clerk.get("/identity/staff").status_code == 403
    assert clerk.post(f"/identity/staff/{ids['wu.b001']}/grants", {"role": "admin"}).status_code == 403
    assert services.client("identity", "learner").get("/identity/notices").status_code == 403
    assert services.anonymous("identity").get("/identity/staff").status_code == 401
    # The last administrator cannot be removed.
    grants = boss.get(f"/identity/staff/{admin['account_id']}").json()["grants"]
    last = boss.post(f"/identity/staff/{admin['account_id']}/grants/{grants[0]['grant_id']}/removal", {"reason": "x"})
    assert last.status_code == 409 and last.json()["type"] == "/problems/grant-refused"
