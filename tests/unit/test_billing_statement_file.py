"""Reading the bank's statement CSV: encodings, the header, every bad line named."""
from datetime import datetime
from pathlib import Path

import pytest

from services.billing.domain import statement
from services.billing.domain.statement import InvalidLine, Line, UnreadableStatement, parse_amount
from shared.calendar import PROGRAM_TZ
from shared.uploads import from_bytes


def read(raw: bytes, charset=None):
    """(encoding, lines) as the import reads them: checked whole, then in chunks."""
    checked = statement.read(from_bytes(raw), charset)
    lines = [line for chunk in checked.chunks(2) for line in chunk]
    assert checked.lines == len(lines)
    return checked.encoding, lines

SAMPLE = Path(__file__).resolve().parents[2] / "services/billing/samples/statement-sample.csv"

CSV = """交易日期,交易时间,交易流水号,贷方金额,对方户名,对方账号,附言
2026-11-20,10:31:05,B202611200001,"3,900.00",张三,6222020200112233445,张三—碳排放管理员
2026-11-20,11:02:00,,4900,李四,6222020200112233446,李四 碳排放管理员
"""


def test_utf8_and_gbk_files_read_alike():
    utf8 = read(CSV.encode("utf-8"))
    bom = read(b"\xef\xbb\xbf" + CSV.encode("utf-8"))
    gbk = read(CSV.encode("gbk"))
    assert (utf8[0], bom[0], gbk[0]) == ("utf-8", "utf-8-sig", "gbk")
    assert utf8[1] == bom[1] == gbk[1]
    first, second = utf8[1]
    assert first == Line(2, "B202611200001", 390000, datetime(2026, 11, 20, 10, 31, 5, tzinfo=PROGRAM_TZ),
                         "张三—碳排放管理员", "张三", "6222020200112233445")
    assert second.amount_fen == 490000 and second.reference.startswith("h:")


def test_a_declared_charset_is_obeyed():
    assert read(CSV.encode("gbk"), "gbk")[0] == "gbk"
    with pytest.raises(UnreadableStatement):
        read(CSV.encode("gbk"), "utf-8")


def test_a_line_without_reference_is_known_by_a_hash_of_its_fields():
    again = read(CSV.encode("gbk"))[1][1]
    other = read(CSV.replace("李四 碳排放管理员", "李四—碳排放管理员").encode())[1][1]
    assert read(CSV.encode())[1][1].reference == again.reference != other.reference


def test_the_banks_preamble_before_the_header_is_skipped_and_english_headers_accepted():
    text = "账号: 0200000000000000000\n期间: 2026-11\n\ndate,amount,remark,reference\n2026/11/21,3900,张三,R1\n"
    encoding, lines = read(text.encode())
    assert lines == [Line(5, "R1", 390000, datetime(2026, 11, 21, tzinfo=PROGRAM_TZ), "张三", "", "")]


def test_every_bad_line_gets_its_reason_and_the_others_still_read():
    text = CSV + "\n".join([
        "2026-13-01,10:00:00,R3,3900,王五,1,王五—碳排放管理员",
        "2026-11-21,10:00:00,R4,abc,王五,1,王五—碳排放管理员",
        "2026-11-21,10:00:00,R5,-3900,王五,1,王五—碳排放管理员",
        "2026-11-21,10:00:00,R6,39.001,王五,1,王五—碳排放管理员",
        "2026-11-21,10:00:00,R7",
        "2026-11-21,10:00:00,R8,,王五,1,王五—碳排放管理员",
        ",,,,,,",
        "2026-11-21,25:00:00,R9,3900,王五,1,王五—碳排放管理员",
    ]) + "\n"
    _, lines = read(text.encode())
    invalid = [line for line in lines if isinstance(line, InvalidLine)]
    assert len(lines) == 9 and len(invalid) == 7  # the empty row is not a line
    reasons = {line.reference: line.reason for line in invalid}
    assert "date" in reasons["R3"] and "not a number" in reasons["R4"] and "not a credit" in reasons["R5"]
    assert "two decimals" in reasons["R6"] and "columns" in reasons["R7"] and "no amount" in reasons["R8"]
    assert "time" in reasons["R9"]


def test_a_file_without_the_header_is_refused_whole():
    with pytest.raises(UnreadableStatement):
        read("a,b,c\n1,2,3\n".encode())
    with pytest.raises(UnreadableStatement):
        read(b"\xff\xfe\x00\x00binary\x81")


@pytest.mark.parametrize("text, fen", [("3900", 390000), ("3,900.00", 390000), ("￥3,900.5", 390050),
                                       ("３９００．００", 390000), ("0.01", 1), ("+3900", 390000)])
def test_amounts_in_yuan_become_fen(text, fen):
    import unicodedata
    assert parse_amount(unicodedata.normalize("NFKC", text)) == fen


def test_the_shipped_sample_reads_in_full():
    encoding, lines = read(SAMPLE.read_bytes())
    assert encoding == "utf-8" and len(lines) >= 8
    assert sum(isinstance(line, InvalidLine) for line in lines) == 1


def test_a_file_without_line_breaks_is_unreadable_naming_the_line_not_a_crash():
    with pytest.raises(UnreadableStatement, match="line 2 is not CSV"):
        read(CSV.splitlines()[0].encode() + b"\n" + b"9" * 300_000)


def test_amounts_past_any_bank_transfer_and_nul_cells_are_invalid_lines():
    header = CSV.splitlines()[0]
    _, lines = read(f"{header}\n2026-11-20,10:00:00,R1,{10**20},张三,1,张三—碳排放管理员\n"
                    f"2026-11-20,10:00:00,R2,3900,张\x00三,1,x\n".encode())
    assert [type(line) for line in lines] == [InvalidLine, InvalidLine]
    assert "larger than any bank transfer" in lines[0].reason and "NUL" in lines[1].reason


def test_another_cjk_encoding_is_refused_and_a_declared_one_honoured():
    with pytest.raises(UnreadableStatement, match="another encoding"):
        read(CSV.replace("张三", "陳美玲").replace("李四", "張三豐").encode("big5", errors="replace"))
    with pytest.raises(UnreadableStatement, match="bogus"):
        read(CSV.encode(), "bogus")
