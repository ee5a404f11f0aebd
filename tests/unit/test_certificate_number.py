"""The certificate number's check character catches typing mistakes."""
import pytest

from services.certificate import domain
from shared.check_characters import ALPHANUMERIC

SAMPLES = [domain.certificate_number("L4", 2026, "B001", 123),
           domain.certificate_number("L3", 2027, "JX-NC01", 1),
           domain.certificate_number("L4", 2026, "B001", 999999)]
CHARS = ALPHANUMERIC


def test_the_number_reads_as_documented():
    number = domain.certificate_number("L4", 2026, "B001", 123)
    assert number.startswith("CEA-L4-2026-B001-000123-") and number[-1] in ALPHANUMERIC
    assert domain.check_number(number)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_single_mistyped_character_is_detected(number):
    for i, ch in enumerate(number):
        if ch == "-":
            continue
        for other in CHARS:
            if other != ch:
                assert not domain.check_number(number[:i] + other + number[i + 1:]), (number, i, other)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_swap_of_two_adjacent_characters_is_detected(number):
    chars = [c for c in number if c != "-"]
    positions = [i for i, c in enumerate(number) if c != "-"]
    for a, b in zip(positions, positions[1:]):
        if number[a] != number[b]:
            swapped = list(number)
            swapped[a], swapped[b] = swapped[b], swapped[a]
            assert not domain.check_number("".join(swapped)), (number, a, b)
    assert chars


def test_typed_numbers_are_read_leniently_but_names_exactly():
    number = SAMPLES[0]
    assert domain.check_number(" " + number.lower() + " ")
    assert domain.check_number(number.replace("-", "－").replace("L", "Ｌ"))  # full-width input
    assert not domain.check_number("CEA-L4")
    assert domain.same_name("　张三 ", "张三")
    assert not domain.same_name("张 三", "张三")


def test_the_correction_that_made_the_current_serial_asked_again_is_a_repeat():
    assert domain.repeats_correction(2, "录入错误", "王小明", "h1", "王小明", None, "录入错误")
    assert not domain.repeats_correction(2, "录入错误", "王小明", "h1", "王小明", None, "另一个理由")
    assert not domain.repeats_correction(2, "录入错误", "王小明", "h1", "王晓明", None, "录入错误")
    assert not domain.repeats_correction(2, "录入错误", "王小明", "h1", None, "h2", "录入错误")
    assert not domain.repeats_correction(1, None, "王小明", "h1", "王小明", None, "录入错误")
