"""The bulk-enrollment CSV: its columns, its encodings, its template. Pure: bytes in,
rows out (docs/bulk-enrollment.md describes the same for base operators).

Encoding: a declared charset, else UTF-8 (with or without byte-order mark), else
GBK, as `shared/uploads.py` reads every upload: a file that does not read cleanly
in it (or that reads as GBK into what a GBK file never holds: another encoding)
is refused, naming the line."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from shared.errors import InvalidInput
from shared.uploads import NotText, Upload, detect_encoding


@dataclass(frozen=True)
class Column:
    name: str
    chinese: str
    required: bool
    description: str
    example: str


COLUMNS = (
    Column("full_name", "姓名", True, "Full name as on the resident ID card.", "张三"),
    Column("id_number", "身份证号", True, "18-character resident ID number (last may be X).",
           "11010519491231002X"),
    Column("mobile", "手机号", True, "Mainland mobile number, 11 digits.", "13800138000"),
    Column("level", "级别", True, "L4 (四级) or L3 (三级).", "L4"),
    Column("education_tier", "学历", True, "junior_secondary_or_below (初中及以下), "
           "secondary_vocational (中职/中专/职高/技校), general_high_school (普通高中), "
           "junior_college (大专), bachelor (本科), master (硕士) or doctorate (博士).", "bachelor"),
    Column("education_status", "学历状态", True, "graduated (毕业) or studying (在读).", "graduated"),
    Column("related_work_months", "相关工作月数", True, "Months of related work in all (0-720).", "24"),
    Column("work_months_since_l4", "取得四级证书后工作月数", False, "L3 by an L4 certificate: months "
           "of related work since that certificate's issue. Empty means 0.", ""),
    Column("sector", "行业", True, "power (电力), petrochemicals (石化), steel (钢铁), cement (水泥), "
           "coal (煤炭), nonferrous_metals (有色金属), aviation (航空), finance (金融), new_energy "
           "(新能源), carbon_verification (碳核查), carbon_trading (碳交易), environmental_protection "
           "(环保), low_carbon_consulting (低碳咨询) or other (其他).", "power"),
    Column("invoice_title", "发票抬头", False, "Invoice title, if the learner wants one.", ""),
)
_BY_HEADER = {h: c.name for c in COLUMNS for h in (c.name, c.chinese)}

# Values a base operator writes in Chinese, read as the API's codes.
ALIASES = {
    "level": {"四级": "L4", "三级": "L3", "l4": "L4", "l3": "L3"},
    "education_tier": {"初中及以下": "junior_secondary_or_below", "初中": "junior_secondary_or_below",
                       "中职": "secondary_vocational", "中专": "secondary_vocational",
                       "职高": "secondary_vocational", "技校": "secondary_vocational",
                       "普通高中": "general_high_school", "高中": "general_high_school",
                       "大专": "junior_college", "专科": "junior_college", "本科": "bachelor",
                       "硕士": "master", "研究生": "master", "博士": "doctorate"},
    "education_status": {"毕业": "graduated", "已毕业": "graduated", "在读": "studying"},
    "sector": {"电力": "power", "石化": "petrochemicals", "钢铁": "steel", "水泥": "cement",
               "煤炭": "coal", "有色金属": "nonferrous_metals", "航空": "aviation", "金融": "finance",
               "新能源": "new_energy", "碳核查": "carbon_verification", "碳交易": "carbon_trading",
               "环保": "environmental_protection", "低碳咨询": "low_carbon_consulting", "其他": "other"},
}
_WHOLE = re.compile(r"^\d+(\.0+)?$")  # Excel may write 24 as 24.0


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    values: dict


@dataclass
class Sheet:
    """A checked roster: its encoding and row count; the rows are read again from
    the upload, a chunk at a time, when they are enrolled."""
    upload: Upload
    encoding: str
    rows: int
    ignored_columns: list[str]

    def chunks(self, size: int):
        _, reader, names = _open(self.upload, self.encoding)
        chunk = []
        for row in _rows(reader, names):
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


class UnreadableFile(InvalidInput):
    slug = "unreadable-csv"
    title = "The CSV file cannot be read"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"file": [detail]})


def read(upload: Upload, max_rows: int, charset: str | None = None) -> Sheet:
    """Check the whole file (encoding, header, every row readable, size) and count
    its rows; refuses the file only for what no row could survive."""
    try:
        encoding = detect_encoding(upload, charset)
    except NotText as exc:
        raise UnreadableFile(str(exc)) from None
    header, reader, names = _open(upload, encoding)
    missing = [c.name for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise InvalidInput(f"the header lacks the column(s) {', '.join(missing)}",
                           errors={"file": [f"missing column {m}" for m in missing]})
    ignored = [h for h, n in zip(header, names) if n is None and h.strip()]
    count = 0
    for _ in _rows(reader, names):
        count += 1
        if count > max_rows:
            raise InvalidInput(f"the file has more than {max_rows} rows; split it",
                               errors={"file": [f"at most {max_rows} rows per upload"]})
    if not count:
        raise UnreadableFile("the file has a header but no rows")
    return Sheet(upload, encoding, count, ignored)


def _open(upload: Upload, encoding: str):
    reader = csv.reader(upload.text(encoding))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(f"line 1 is not CSV: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise UnreadableFile("the file is empty; the first row must name the columns")
    return header, reader, [_BY_HEADER.get(h.strip()) for h in header]


def _rows(reader, names):
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field past csv's limit: a file with no line breaks
            raise UnreadableFile(f"line {reader.line_num} is not CSV: {exc}") from None
        if not any(c.strip() for c in cells):
            continue  # a blank line or an empty spreadsheet row
        values = {n: c.strip() for n, c in zip(names, cells) if n is not None}
        if len(cells) > len(names):
            values["_extra"] = cells[len(names):]
        yield Row(reader.line_num, values)


def application_from(values: dict) -> dict:
    """A row as the JSON application the API takes (the schema validates it)."""
    def value(name):
        raw = values.get(name) or ""
        return ALIASES.get(name, {}).get(raw, ALIASES.get(name, {}).get(raw.lower(), raw))

    def number(name):
        raw = value(name)
        return int(float(raw)) if _WHOLE.match(raw) else raw

    body = {name: value(name) for name in ("full_name", "id_number", "mobile", "level", "sector")}
    body["education"] = {"tier": value("education_tier"), "status": value("education_status")}
    body["related_work_months"] = number("related_work_months")
    if values.get("work_months_since_l4"):
        body["work_months_since_l4"] = number("work_months_since_l4")
    if values.get("invoice_title"):
        body["invoice_title"] = values["invoice_title"]
    return body


def field_errors(messages: dict) -> dict:
    """marshmallow's nested messages with the CSV's column names."""
    flat = {}
    for key, value in messages.items():
        if key == "education" and isinstance(value, dict):
            for inner, text in value.items():
                flat[f"education_{inner}"] = text
        else:
            flat[key] = value
    return flat


def template() -> bytes:
    """The header and one example row, UTF-8 with a BOM so that Excel opens it right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in COLUMNS])
    writer.writerow([c.example for c in COLUMNS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def describe_columns() -> str:
    """The columns as Markdown, for the OpenAPI description."""
    lines = ["| column | 中文表头 | required | what |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.name} | {c.chinese} | {'yes' if c.required else 'no'} | {c.description} |"
              for c in COLUMNS]
    return "\n".join(lines)
