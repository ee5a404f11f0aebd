"""The import file of certificates issued before this system: its columns and rows.
Pure: an upload in, rows out (the rules of a row are domain.check_import_row).

Encodings as every upload (shared/uploads.py): a declared charset, else UTF-8 with
or without a byte-order mark, else GBK; a file that does not read cleanly is refused
whole, naming the line. The header names the columns in English or Chinese, in any
order; unknown columns are ignored."""
from __future__ import annotations

import csv
from dataclasses import dataclass

from shared.errors import InvalidInput
from shared.uploads import NotText, Upload, detect_encoding

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")
MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]
    required: bool
    description: str


COLUMNS = (
    Column("number", ("number", "证书编号", "编号"), True, "The certificate number as printed."),
    Column("holder_name", ("holder_name", "name", "姓名"), True, "The holder's full name."),
    Column("id_number", ("id_number", "身份证号"), True, "The holder's 18-character resident ID number."),
    Column("level", ("level", "级别", "等级"), True, "L4 (四级) or L3 (三级)."),
    Column("issued_on", ("issued_on", "issue_date", "发证日期"), True,
           "The original issue date: 2025-10-01, 2025/10/1 or 2025年10月1日."),
    Column("base_name", ("base_name", "base", "培训基地"), True, "The training base that issued it."),
    Column("base_code", ("base_code", "基地代码"), False, "The base's code, when it has one."),
)
_BY_HEADER = {h.lower(): c.name for c in COLUMNS for h in c.headers}


class UnreadableFile(InvalidInput):
    slug = "unreadable-csv"
    title = "The CSV file cannot be read"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"file": [detail]})


def rows(upload: Upload, max_rows: int, charset: str | None = None) -> list[tuple[int, dict]]:
    """(row number as a spreadsheet shows it, values by column) of every non-blank row."""
    try:
        encoding = detect_encoding(upload, charset)
    except NotText as exc:
        raise UnreadableFile(str(exc)) from None
    reader = csv.reader(upload.text(encoding))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(f"line 1 is not CSV: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise UnreadableFile("the file is empty; the first row must name the columns")
    names = [_BY_HEADER.get(h.strip().lower()) for h in header]
    missing = [c.name for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise InvalidInput(f"the header lacks the column(s) {', '.join(missing)}",
                           errors={"file": [f"missing column {m}" for m in missing]})
    found = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFile(f"line {reader.line_num} is not CSV: {exc}") from None
        if not any(c.strip() for c in cells):
            continue
        found.append((reader.line_num, {n: c.strip() for n, c in zip(names, cells) if n is not None}))
        if len(found) > max_rows:
            raise InvalidInput(f"the file has more than {max_rows} rows; split it",
                               errors={"file": [f"at most {max_rows} rows per upload"]})
    if not found:
        raise UnreadableFile("the file has a header but no rows")
    return found


def describe_columns() -> str:
    lines = ["| column | also | required | what |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.name} | {', '.join(c.headers[1:])} | {'yes' if c.required else 'no'} | {c.description} |"
              for c in COLUMNS]
    return "\n".join(lines)
