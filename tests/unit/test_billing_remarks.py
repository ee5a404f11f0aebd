"""Bank remarks and statement matching: the pure rules."""
import uuid

import pytest

from services.billing.domain import OrderKind, OrderStatus
from services.billing.domain.remarks import Candidate, LineState, Remark, match, name_key, parse_remark


@pytest.mark.parametrize("remark", [
    "张三—碳排放管理员", "张三——碳排放管理员", "张三-碳排放管理员", "张三－碳排放管理员",
    "张三_碳排放管理员", "张三 碳排放管理员", "张 三  碳排放管理员", "张三　—　碳排放管理员",
    "张三碳排放管理员", " 张三—碳排放管理员 ", "张三–碳排放管理员", "张三~碳排放管理员",
    "张三—碳排放管理员 报名费", "张三—碳排放管理员（四级）", "张三(碳排放管理员)", "碳排放管理员 张三",
    "张三",
])
def test_remark_variants_name_the_learner(remark):
    assert parse_remark(remark) == Remark("张三", False, remark.strip() != "张三")


def test_full_width_and_latin_names_compare_by_nfkc_and_case():
    assert parse_remark("ＺＨＡＮＧ　Ｓａｎ—碳排放管理员").name == name_key("Zhang San")
    assert name_key("阿依古丽·买买提") == name_key("阿依古丽.买买提") == name_key("阿依古丽买买提")
    assert name_key("阿依古丽・买买提") == name_key("阿依古丽•买买提") == name_key("阿依古丽．买买提")


def test_retake_remark_is_told_from_an_enrollment_remark():
    assert parse_remark("张三—碳排放管理员补考") == Remark("张三", True, True)
    assert parse_remark("张三 碳排放管理员 补考费") == Remark("张三", True, True)
    assert parse_remark("碳排放管理员补考 张三") == Remark("张三", True, True)
    assert parse_remark("张三—碳排放管理员 报名").retake is False


def test_a_remark_without_the_suffix_must_be_the_name_alone():
    assert parse_remark("张三学费").name == "张三学费"  # matches no 张三: a clerk decides
    assert parse_remark("").name is None
    assert parse_remark("—碳排放管理员").name is None


def _order(name="张三", amount=390000, status=OrderStatus.OPEN, kind=OrderKind.ENROLLMENT):
    return Candidate(uuid.uuid4(), name_key(name), kind, status, amount)


def test_one_open_order_for_the_exact_amount_matches():
    order = _order()
    found = match(parse_remark("张三—碳排放管理员"), 390000, [order])
    assert (found.state, found.order_id) == (LineState.MATCHED, order.order_id)


def test_two_open_orders_for_the_same_name_and_amount_are_ambiguous():
    a, b = _order(), _order()
    found = match(parse_remark("张三—碳排放管理员"), 390000, [a, b])
    assert found.state == LineState.AMBIGUOUS and found.order_id is None
    assert set(found.candidates) == {a.order_id, b.order_id}


def test_two_open_orders_none_for_the_amount_are_ambiguous_not_a_wrong_amount():
    found = match(parse_remark("张三"), 100000, [_order(amount=390000), _order(amount=490000)])
    assert found.state == LineState.AMBIGUOUS


def test_the_amount_tells_two_open_orders_apart():
    l4, l3 = _order(amount=390000), _order(amount=490000)
    assert match(parse_remark("张三"), 490000, [l4, l3]).order_id == l3.order_id


def test_one_open_order_and_another_amount_is_a_wrong_amount():
    order = _order()
    for paid in (389999, 390001, 39000000):
        found = match(parse_remark("张三—碳排放管理员"), paid, [order])
        assert (found.state, found.order_id) == (LineState.WRONG_AMOUNT, order.order_id)


def test_no_order_of_that_name_is_unmatched():
    assert match(parse_remark("李四—碳排放管理员"), 390000, []).state == LineState.UNMATCHED
    assert match(parse_remark(""), 390000, [_order()]).state == LineState.UNMATCHED


def test_a_paid_order_answers_already_paid_and_a_closed_one_order_closed():
    paid = _order(status=OrderStatus.PAID)
    assert match(parse_remark("张三"), 390000, [paid]) .state == LineState.ALREADY_PAID
    for status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        found = match(parse_remark("张三"), 390000, [_order(status=status)])
        assert found.state == LineState.ORDER_CLOSED and found.state.needs_review


def test_an_open_order_wins_over_a_paid_one_of_the_same_name():
    paid, open_ = _order(status=OrderStatus.PAID), _order()
    assert match(parse_remark("张三"), 390000, [paid, open_]).order_id == open_.order_id


def test_a_retake_remark_looks_only_at_retake_orders():
    fee = _order()
    retake = _order(amount=50000, kind=OrderKind.RETAKE)
    assert match(parse_remark("张三—碳排放管理员补考"), 50000, [fee, retake]).order_id == retake.order_id
    assert match(parse_remark("张三—碳排放管理员补考"), 390000, [fee]).state == LineState.UNMATCHED
    # Without 补考, the amount still finds the retake order (one exact open fit).
    assert match(parse_remark("张三—碳排放管理员"), 50000, [fee, retake]).order_id == retake.order_id


def test_only_matched_lines_skip_the_review_queue():
    assert not LineState.MATCHED.needs_review
    assert not LineState.DUPLICATE.needs_review and not LineState.INVALID.needs_review
    assert all(s.needs_review for s in (LineState.UNMATCHED, LineState.WRONG_AMOUNT, LineState.AMBIGUOUS,
                                        LineState.ALREADY_PAID, LineState.ORDER_CLOSED))
