"""The resident ID number and mobile rules (shared/identity.py)."""
from datetime import date

import pytest

from shared import identity
from shared.errors import InvalidInput
from shared.identity import InvalidIdNumber, check_character, parse_id_number

TODAY = date(2026, 3, 1)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize("first17, expected", [
    ("11010519491231002", "X"),   # GB 11643's own example
    ("44052418800101001", "4"),
    ("36040219900307007", "X"),
    ("36040219900307001", "0"),   # 232 mod 11 = 1 -> "0"
])
def test_check_character_is_iso_7064_mod_11_2(first17, expected):
    assert check_character(first17) == expected


def test_a_valid_number_parses_with_its_birth_date():
    parsed = parse_id_number("11010519491231002X", TODAY)
    assert parsed.value == "11010519491231002X" and parsed.birth_date == date(1949, 12, 31)


def test_a_lower_case_x_is_the_check_character_x():
    assert parse_id_number("11010519491231002x", TODAY).value == "11010519491231002X"


def test_full_width_digits_from_a_chinese_input_method_are_read_as_digits():
    assert parse_id_number(" １１０１０５１９４９１２３１００２Ｘ ", TODAY).value == "11010519491231002X"


@pytest.mark.parametrize("raw", ["11010519491231002", "11010519491231002XX", "1101051949123100 X",
                                 "11010519491231002Y", "٣" * 18, "", None])
def test_anything_but_17_ascii_digits_and_a_check_character_is_refused(raw):
    with pytest.raises(InvalidIdNumber) as refused:
        parse_id_number(raw, TODAY)
    assert "17 digits" in refused.value.extra["errors"]["id_number"][0]


def test_a_mistyped_digit_fails_the_check_character():
    good = with_check("36040219900307007")
    typo = "36040219900307008" + good[-1]
    with pytest.raises(InvalidIdNumber, match="check character"):
        parse_id_number(typo, TODAY)


@pytest.mark.parametrize("birth", ["20250229", "19900230", "19901301", "19900100", "19900431"])
def test_a_date_of_birth_that_does_not_exist_is_refused(birth):
    with pytest.raises(InvalidIdNumber, match="not a real date of birth"):
        parse_id_number(with_check(f"360402{birth}001"), TODAY)


def test_29_february_of_a_leap_year_is_a_real_birth_date():
    assert parse_id_number(with_check("36040220000229001"), TODAY).birth_date == date(2000, 2, 29)


def test_a_birth_date_in_the_future_is_refused_today_is_not():
    with pytest.raises(InvalidIdNumber, match="future"):
        parse_id_number(with_check("36040220260302001"), TODAY)
    assert parse_id_number(with_check("36040220260301001"), TODAY).birth_date == TODAY


def test_a_birth_date_before_1900_is_refused():
    with pytest.raises(InvalidIdNumber, match="1900"):
        parse_id_number(with_check("36040218991231001"), TODAY)


@pytest.mark.parametrize("region", ["000000", "990101", "100101", "360000", "910101"])
def test_an_implausible_region_prefix_is_refused(region):
    with pytest.raises(InvalidIdNumber, match="region"):
        parse_id_number(with_check(f"{region}19900307001"), TODAY)


@pytest.mark.parametrize("region", ["110105", "650102", "810101", "830101"])
def test_provinces_hong_kong_macao_and_taiwan_prefixes_are_plausible(region):
    parse_id_number(with_check(f"{region}19900307001"), TODAY)


@pytest.mark.parametrize("raw", [with_check("36040219900230001"), with_check("99040219900307001"),
                                 "36040219900307001" + "Y", with_check("36040219900307001")[:17] + "9"])
def test_a_refusal_never_quotes_the_number_or_its_hidden_digits(raw):
    with pytest.raises(InvalidIdNumber) as refused:
        parse_id_number(raw, TODAY)
    said = str(refused.value) + str(refused.value.extra)
    assert raw[:17] not in said and raw[6:14] not in said and raw[:6] not in said


def test_the_masked_form_keeps_four_digits_each_side():
    assert identity.mask("360402199003070071") == "3604**********0071"
    assert parse_id_number(with_check("36040219900307007"), TODAY).masked == "3604**********007X"


def test_the_keyed_hash_depends_on_the_key_and_identifies_one_learner():
    value = with_check("36040219900307007")
    a, b = identity.keyed_hash(value, b"key-1"), identity.keyed_hash(value, b"key-2")
    assert a != b and len(a) == 64 and value not in a
    assert a == identity.keyed_hash(value, b"key-1")


@pytest.mark.parametrize("raw", ["13800138000", "+86 138-0013-8000", "１３８００１３８０００"])
def test_mainland_mobile_numbers_in_the_usual_spellings(raw):
    assert identity.validate_mobile(raw) == "13800138000"
    assert identity.mask_mobile("13800138000") == "138****8000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "", None])
def test_other_mobile_numbers_are_refused_naming_the_field(raw):
    with pytest.raises(InvalidInput) as refused:
        identity.validate_mobile(raw)
    assert "mobile" in refused.value.extra["errors"]
