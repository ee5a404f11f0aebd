"""Text files people upload (bulk-enrollment rosters, bank statements), in the
encodings Chinese office software writes: UTF-8, with or without a byte-order mark
(Excel's "CSV UTF-8"), and GBK (Excel's plain "CSV" on a Chinese Windows, read as
GB 18030, its superset). Told apart without asking: GBK-encoded Chinese is almost
never valid UTF-8."""
from __future__ import annotations


class NotText(ValueError):
    """The bytes are not text in an accepted encoding; the message says why."""


def decode_text(raw: bytes, charset: str | None = None) -> tuple[str, str]:
    """(text, encoding read): a declared charset if any, else UTF-8 with a BOM
    ("utf-8-sig"), UTF-8, or GBK ("gbk")."""
    if charset:
        try:
            return raw.decode(charset), charset.lower()
        except (LookupError, UnicodeDecodeError) as exc:
            raise NotText(f"the file is not {charset}: {exc}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise NotText(f"the file starts as UTF-8 but is not: {exc}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotText("the file is UTF-16 ('Unicode text'); save it as CSV UTF-8 or CSV")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gbk"
    except UnicodeDecodeError:
        raise NotText("the file is neither UTF-8 nor GBK text") from None
