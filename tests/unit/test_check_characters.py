"""One ISO 7064 MOD m-2 rule serves the resident ID number and the certificate number."""
from shared.check_characters import ALPHANUMERIC, ID_NUMBER, iso7064_mod_2
from shared.identity import check_character as id_check
from services.certificate.domain import check_character as certificate_check


def test_published_examples():
    # GB 11643's worked example and ISO 7064's MOD 11-2 example (0794 → 0)
    assert iso7064_mod_2("11010519491231002", ID_NUMBER) == "X"
    assert iso7064_mod_2("0794", ID_NUMBER) == "0"
    assert id_check("11010519491231002") == "X"


def test_the_certificate_number_ignores_its_hyphens():
    assert certificate_check("CEA-L4-2026-B001-000123") == iso7064_mod_2("CEAL42026B001000123", ALPHANUMERIC)


def test_any_single_mistyped_character_changes_the_check():
    body = "CEAL42026B001000123"
    check = iso7064_mod_2(body, ALPHANUMERIC)
    for i, ch in enumerate(body):
        for other in ALPHANUMERIC[:-1]:
            if other != ch:
                assert iso7064_mod_2(body[:i] + other + body[i + 1:], ALPHANUMERIC) != check
