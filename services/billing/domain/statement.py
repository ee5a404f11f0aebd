"""Reading the bank's statement CSV (docs/bank-statement.md), pure.

Bytes in UTF-8 (with or without BOM) or GBK (read as GB 18030, its superset), or
a declared charset (`shared/uploads.py`); rows before the header are the bank's
preamble and skipped. Every data row
becomes a `Line` or an `InvalidLine` with the reason: a bad row never stops the
others.
"""
from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from shared.calendar import PROGRAM_TZ
from shared.errors import InvalidInput
from shared.uploads import NotText, Upload, detect_encoding
from shared.web.screening import text_problem

# Each column by its accepted headers (Chinese as banks export them, or English).
COLUMNS = {
    "date": ("交易日期", "记账日期", "date"),
    "time": ("交易时间", "time"),
    "reference": ("交易流水号", "流水号", "reference"),
    "amount": ("贷方金额", "收入金额", "amount"),
    "payer_name": ("对方户名", "付款人", "payer_name"),
    "payer_account": ("对方账号", "付款账号", "payer_account"),
    "remark": ("附言", "摘要", "用途", "remark"),
}
REQUIRED = ("date", "amount", "remark")
PREAMBLE_ROWS = 20  # how far down the header may be
MAX_REFERENCE = 64
MAX_LINE_FEN = 10**15  # no bank transfer is larger; past it a database column overflows


class UnreadableStatement(InvalidInput):
    """The file as a whole cannot be read (no header, not text): nothing imported."""
    slug = "unreadable-statement"


@dataclass(frozen=True)
class Line:
    number: int            # the row's line number in the file (the header's is before it)
    reference: str         # the bank's transaction reference, or `h:` + a hash of the fields
    amount_fen: int
    paid_at: datetime      # aware; the bank's date and time are Asia/Shanghai
    remark: str
    payer_name: str
    payer_account: str


@dataclass(frozen=True)
class InvalidLine:
    number: int
    reason: str
    reference: str | None = None


@dataclass
class StatementFile:
    """A readable statement: its encoding, where its header is, how many data lines
    it has. The lines are read again from the upload, a chunk at a time."""
    upload: Upload
    encoding: str
    header_at: int
    columns: dict
    lines: int

    def chunks(self, size: int):
        rows = _reader(self.upload, self.encoding)
        for _ in range(self.header_at):
            next(rows)
        chunk = []
        for number, row in _data_rows(rows, self.header_at):
            chunk.append(parse_row(number, row, self.columns))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def read(upload: Upload, charset: str | None = None) -> StatementFile:
    """Check the whole file (encoding, header, every row readable as CSV) and count
    its lines; UnreadableStatement, naming the line, when it cannot be imported."""
    try:
        encoding = detect_encoding(upload, charset)
    except NotText as exc:
        raise UnreadableStatement(str(exc), errors={"file": [str(exc)]}) from None
    rows = _reader(upload, encoding)
    header_at, columns = _find_header(rows)
    count = sum(1 for _ in _data_rows(rows, header_at))
    return StatementFile(upload, encoding, header_at, columns, count)


def _reader(upload: Upload, encoding: str):
    reader = csv.reader(upload.text(encoding))
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field past csv's limit: a file with no line breaks
            raise UnreadableStatement(f"line {reader.line_num} is not CSV: {exc}",
                                      errors={"file": [f"line {reader.line_num}: {exc}"]}) from None


def _data_rows(rows, header_at: int):
    for number, row in enumerate(rows, start=header_at + 1):
        if any(cell.strip() for cell in row):  # blank lines (and the bank's blank trailer) say nothing
            yield number, row


def _find_header(rows) -> tuple[int, dict]:
    for number, row in enumerate(rows, start=1):
        names = [_clean(cell).lower() for cell in row]
        columns = {}
        for column, accepted in COLUMNS.items():
            for i, name in enumerate(names):
                if name in accepted:
                    columns[column] = i
                    break
        if all(c in columns for c in REQUIRED):
            return number, columns
        if number >= PREAMBLE_ROWS:
            break
    wanted = " / ".join(f"{c} ({COLUMNS[c][0]})" for c in REQUIRED)
    raise UnreadableStatement(f"no header row with the columns {wanted} in the first "
                              f"{PREAMBLE_ROWS} lines", errors={"file": ["header not found"]})


def parse_row(number: int, row: list[str], columns: dict) -> Line | InvalidLine:
    def cell(name):
        i = columns.get(name)
        return _clean(row[i]) if i is not None and i < len(row) else ""

    reference = cell("reference")[:MAX_REFERENCE + 1]
    if len(reference) > MAX_REFERENCE:
        return InvalidLine(number, f"the reference is longer than {MAX_REFERENCE} characters")
    if len(row) <= max(columns[c] for c in REQUIRED):
        return InvalidLine(number, f"only {len(row)} columns", reference or None)
    if any(text_problem(cell) for cell in row):
        return InvalidLine(number, "a cell contains a NUL character", None)
    try:
        amount_fen = parse_amount(cell("amount"))
        paid_at = parse_moment(cell("date"), cell("time"))
    except ValueError as exc:
        return InvalidLine(number, str(exc), reference or None)
    fields = dict(remark=cell("remark")[:500], payer_name=cell("payer_name")[:200],
                  payer_account=cell("payer_account")[:64])
    if not reference:
        reference = "h:" + line_hash(paid_at, amount_fen, **fields)
    return Line(number, reference, amount_fen, paid_at, **fields)


def line_hash(paid_at: datetime, amount_fen: int, remark: str, payer_name: str, payer_account: str) -> str:
    """A line without a bank reference is known by its fields: the same line
    re-imported hashes alike (two identical transfers at the same second do too)."""
    joined = "\x1f".join((paid_at.isoformat(), str(amount_fen), remark, payer_name, payer_account))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:40]


_AMOUNT = re.compile(r"^\+?\d+(\.\d{1,2})?$")


def parse_amount(text: str) -> int:
    """'3,900.00', '￥3900', '3900.5' → fen. Only a positive credit is a payment."""
    cleaned = text.replace(",", "").replace("¥", "").replace("CNY", "").replace("元", "").strip()
    if not cleaned:
        raise ValueError("no amount (a debit line, or the amount is missing)")
    if cleaned.startswith("-"):
        raise ValueError(f"amount {text!r} is not a credit")
    if not _AMOUNT.match(cleaned):
        raise ValueError(f"amount {text!r} is not a number of yuan with at most two decimals")
    try:
        fen = int(Decimal(cleaned) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise ValueError(f"amount {text!r} is not a number") from None
    if fen <= 0:
        raise ValueError("the amount is zero")
    if fen > MAX_LINE_FEN:
        raise ValueError(f"amount {text[:30]!r} is larger than any bank transfer")
    return fen


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H%M%S")


def parse_moment(day_text: str, time_text: str) -> datetime:
    """The bank's local date (and time, if given) as an aware instant (Asia/Shanghai).
    A date cell may also hold both ('2026-11-20 10:31:05')."""
    if not time_text and " " in day_text:
        day_text, time_text = day_text.split(None, 1)
    day = _parse(day_text, _DATE_FORMATS, "date")
    at = _parse(time_text, _TIME_FORMATS, "time") if time_text else None
    return datetime.combine(date(day.year, day.month, day.day),
                            at.time() if at else time(0), tzinfo=PROGRAM_TZ)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")


def _parse(text: str, formats, what: str) -> datetime:
    fast = (_ISO_DATE if what == "date" else _ISO_TIME).match(text)
    if fast:  # the usual forms, without strptime's cost (100,000 lines)
        a, b, c = map(int, fast.groups())
        try:
            return datetime(a, b, c) if what == "date" else datetime(1900, 1, 1, a, b, c)
        except ValueError:
            pass  # strptime below says what is wrong
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"{what} {text!r} is not a {what} ({' or '.join(formats)})" if text
                     else f"no {what}")


def _clean(cell: str) -> str:
    """Full-width digits and signs to ASCII, spaces trimmed; a leading tab or quote
    (spreadsheets' way of keeping long numbers as text) dropped."""
    return unicodedata.normalize("NFKC", cell).strip().lstrip("'\t").strip()
