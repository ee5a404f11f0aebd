"""Identity's pure rules: the password policy, lockout delays, refresh-token outcomes,
who logs in as what, notice templates, channels, retries and reminders."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from services.identity.domain import accounts, lockout, notices, passwords, sessions
from shared.calendar import PROGRAM_TZ
from shared.errors import InvalidInput

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


# -- passwords ---------------------------------------------------------------------------

def _rules(new, **kw):
    return [r.rule for r in passwords.refusals(new, same_as_current=kw.get("same", False),
                                               contains_login=kw.get("login", False))]


def test_a_password_needs_ten_to_128_characters():
    assert _rules("Ab3$efgh9") == ["MIN_LENGTH"]
    assert _rules("Ab3$efgh9k") == []
    assert _rules("x" * 129 + "Q7") == ["MAX_LENGTH"]


def test_a_password_is_not_the_current_one_nor_contains_the_login_nor_is_common():
    assert _rules("Lvse-Ditan-2026", same=True) == ["NOT_CURRENT"]
    assert _rules("Lvse-Ditan-2026", login=True) == ["NOT_LOGIN_NAME"]
    assert _rules("QWERTYUIOP") == ["NOT_COMMON"]  # compared case-insensitively
    assert _rules("woaini1314") == ["NOT_COMMON"]
    with pytest.raises(passwords.WeakPassword) as refused:
        passwords.check("1234567890", same_as_current=False, contains_login=False)
    assert refused.value.extra["rules"] == [{"rule": "NOT_COMMON", "message": refused.value.extra["rules"][0]["message"]}]


def test_the_common_list_ships_with_the_project():
    common = passwords.common_passwords()
    assert len(common) > 30000 and {"password", "123456789", "qwertyuiop", "1qaz2wsx"} <= common
    assert all(w == w.lower() for w in list(common)[:1000])


def test_the_login_name_is_found_inside_a_password():
    assert passwords.contains_name("My-Wang.Admin-2026", "wang.admin")
    assert not passwords.contains_name("anything-long", "li")  # too short to mean anything
    assert passwords.windows("ab360402199003070011x", 18) == ["AB3604021990030700", "B36040219900307001",
                                                              "360402199003070011", "60402199003070011X"]


def test_initial_passwords_and_codes_are_random_and_readable():
    made = {passwords.initial_password() for _ in range(200)}
    assert len(made) == 200
    for p in made:
        assert len(p) == 12 and not set(p) & set("0O1lIo")
        assert any(c.isdigit() for c in p) and any(c.islower() for c in p) and any(c.isupper() for c in p)
        assert not passwords.refusals(p, same_as_current=False, contains_login=False)
    assert all(re.fullmatch(r"[0-9]{6}", passwords.one_time_code()) for _ in range(50))


# -- lockout -------------------------------------------------------------------------------

def test_the_wait_doubles_after_the_free_failures_up_to_a_cap():
    waits = [lockout.ACCOUNT.delay(n).total_seconds() for n in range(1, 12)]
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert lockout.CLIENT.delay(19) == timedelta(0) and lockout.CLIENT.delay(20) == timedelta(seconds=30)
    assert lockout.CLIENT.delay(40) == timedelta(hours=1)


def test_an_attempt_waits_until_the_delay_has_passed_and_old_failures_are_forgotten():
    assert lockout.wait_until(lockout.ACCOUNT, 4, T0, T0) is None
    assert lockout.wait_until(lockout.ACCOUNT, 5, T0, T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=30)
    assert lockout.wait_until(lockout.ACCOUNT, 5, T0, T0 + timedelta(seconds=30)) is None
    assert lockout.current_failures(lockout.ACCOUNT, 9, T0, T0 + timedelta(hours=24)) == 0
    assert lockout.current_failures(lockout.CLIENT, 30, T0, T0 + timedelta(minutes=59)) == 30


# -- sessions --------------------------------------------------------------------------------

def _state(spent=None, revoked=None, expires=T0 + timedelta(hours=1), family=T0 + timedelta(days=30)):
    return sessions.RefreshState(expires, family, spent, revoked)


def test_a_refresh_token_rotates_once_and_a_spent_one_is_a_reuse():
    assert sessions.on_refresh(_state(), T0) == sessions.ROTATE
    assert sessions.on_refresh(_state(spent=T0), T0) == sessions.REUSED
    assert sessions.on_refresh(_state(spent=T0, revoked=T0), T0) == sessions.REVOKED
    assert sessions.on_refresh(_state(expires=T0), T0) == sessions.EXPIRED
    assert sessions.on_refresh(_state(family=T0), T0) == sessions.EXPIRED


def test_a_session_never_outlives_its_family():
    life = sessions.Lifetimes()
    assert sessions.next_expiry(life, "learner", T0 + timedelta(days=30), T0) == T0 + timedelta(days=7)
    assert sessions.next_expiry(life, "staff", T0 + timedelta(days=30), T0) == T0 + timedelta(hours=12)
    assert sessions.next_expiry(life, "learner", T0 + timedelta(days=2), T0) == T0 + timedelta(days=2)


# -- accounts ------------------------------------------------------------------------------------

def test_logins_are_normalized_and_staff_names_never_look_like_id_numbers():
    assert accounts.normalized_login(" ３６０４０２１９９００３０７００１x ") == "36040219900307001X"
    assert accounts.normalized_login("Wang.Admin") == "wang.admin"
    assert accounts.check_staff_login_name("zhao.b001") == "zhao.b001"
    for bad in ("360402199003070011", "ab", "1abc", "zhao b001", "赵"):
        with pytest.raises(InvalidInput):
            accounts.check_staff_login_name(bad)


def test_a_base_operator_is_bound_to_one_base_and_no_other_role_is():
    assert accounts.check_grant("base_operator", "B001") == accounts.Grant("base_operator", "B001")
    for role, base in (("base_operator", None), ("examiner", "B001"), ("learner", None), ("root", None)):
        with pytest.raises(InvalidInput):
            accounts.check_grant(role, base)


def test_a_login_with_several_roles_says_which_it_acts_in():
    one, two = accounts.Grant("examiner", None), accounts.Grant("base_operator", "B001")
    assert accounts.choose_grant([one], None) == one
    assert accounts.choose_grant([one, two], "base_operator") == two
    with pytest.raises(accounts.RoleChoiceRequired):
        accounts.choose_grant([one, two], None)
    with pytest.raises(accounts.LoginRefused):
        accounts.choose_grant([one], "admin")
    with pytest.raises(accounts.LoginRefused):
        accounts.choose_grant([], None)


def test_administrators_must_set_up_a_second_factor_and_everyone_change_an_initial_password():
    assert accounts.setup_steps(must_change_password=True, role="learner", totp_confirmed=False) == ["password"]
    assert accounts.setup_steps(must_change_password=False, role="examiner", totp_confirmed=False) == []
    assert accounts.setup_steps(must_change_password=True, role="admin", totp_confirmed=False) == ["password", "totp"]
    assert accounts.setup_steps(must_change_password=False, role="admin", totp_confirmed=True) == []


# -- notices ---------------------------------------------------------------------------------------

SAMPLE = {"full_name": "张三", "id_number_masked": "3604**********0071", "display_name": "赵", "login_name": "zhao.b001",
          "role_name": "培训基地操作员", "minutes": 15, "level_name": "四级", "amount": "3,900.00",
          "channel_name": "微信支付", "attempt_number": 1, "starts": "2026年12月26日 09:00", "ends": "10:30",
          "previous": "2026年12月27日 09:00", "reason": "考点停电", "score": "55.5", "retake_hint": "可补考",
          "certificate_number": "CEA-L4-2026-000123-7", "verify_url": "https://verify.example/x",
          "valid_until": "2027年2月28日", "days": 7, "rows": 10, "created": 9, "failed": 1}


@pytest.mark.parametrize("kind", sorted(notices.templates()))
def test_every_template_is_chinese_signed_complete_and_shows_no_full_id_number(kind):
    template = notices.template(kind)
    assert template.fields - {"secret"} <= set(SAMPLE), f"{kind} uses a value nobody gives it"
    assert ("secret" in template.fields) == (template.secret is not None)
    subject, text = template.render(SAMPLE, "Kp7mQx4tWn9r" if template.secret else None)
    assert text.startswith("【碳排放管理员】") and subject
    assert "\n" not in template.text and not re.search(r"[\u3000-\u303f\uff00-\uffef] ", template.text)
    assert re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[0-9]{17}[0-9X]", text)
    with pytest.raises(ValueError):
        template.render(SAMPLE, None if template.secret else "unexpected")


def test_a_notice_goes_through_one_channel_preferring_the_person_s_own():
    assert notices.choose_channel(mobile="13900000000", email="a@b.cn", prefer="sms") == ("sms", "13900000000")
    assert notices.choose_channel(mobile="13900000000", email="a@b.cn", prefer="email") == ("email", "a@b.cn")
    assert notices.choose_channel(mobile=None, email="a@b.cn", prefer="sms") == ("email", "a@b.cn")
    assert notices.choose_channel(mobile=None, email=None, prefer="sms") is None
    assert notices.mask_address("sms", "13912345678") == "139****5678"
    assert notices.mask_address("email", "zhao@b001.cn") == "z***@b001.cn"


def test_a_failed_notice_waits_longer_each_time_then_is_given_up():
    delays = (10.0, 60.0, 300.0)
    assert [notices.retry_after(n, delays) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in delays]
    assert notices.retry_after(4, delays) is None


def test_reminders_come_30_and_7_days_before_the_end_at_nine_in_the_morning():
    until = date(2027, 2, 28)
    assert notices.next_reminder(until, date(2026, 8, 31)) == (30, date(2027, 1, 29))
    assert notices.next_reminder(until, date(2027, 1, 29)) == (30, date(2027, 1, 29))
    assert notices.next_reminder(until, date(2027, 1, 30)) == (7, date(2027, 2, 21))  # the 30-day one has passed
    assert notices.next_reminder(until, date(2027, 1, 29), below=30) == (7, date(2027, 2, 21))
    assert notices.next_reminder(until, date(2027, 2, 22)) is None
    assert [notices.reminder_sent(d) for d in (45, 30, 20, 7, 3)] == [30, 30, 30, 7, 7]
    nine = datetime(2027, 1, 29, 9, 0, tzinfo=PROGRAM_TZ)
    assert not notices.reminder_due(date(2027, 1, 29), nine - timedelta(minutes=1))
    assert notices.reminder_due(date(2027, 1, 29), nine)


def test_values_are_written_as_people_read_them():
    assert notices.yuan(390000) == "3,900.00" and notices.yuan(5) == "0.05"
    assert notices.local_time(datetime(2026, 12, 26, 1, 0, tzinfo=timezone.utc)) == "2026年12月26日 09:00"
    assert notices.local_date(date(2027, 2, 28)) == "2027年2月28日"
    assert notices.verify_url("http://v.cn/", "CEA-1", "张三") == \
        "http://v.cn/certificate/verify/page?number=CEA-1&name=%E5%BC%A0%E4%B8%89"
