"""What any request input must be before a schema looks at it: JSON no deeper than
a payload of this program needs, and text that is valid Unicode without NUL.

A lone surrogate ("\\ud800" in JSON) cannot be encoded (logs, PostgreSQL, JSON
answers all fail on it) and PostgreSQL refuses NUL in text, so both are refused
where they come in, naming the field, instead of failing later as a 500."""
from __future__ import annotations

import re

MAX_DEPTH = 20  # the deepest payload of the API nests 4 levels
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why this text is refused, or None."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return f"contains a lone surrogate (U+{ord(found.group()):04X}), which is not a character"


def problems_in(data, path: str = "", depth: int = 0) -> dict[str, list[str]]:
    """{field path: [what is wrong]} for every refused string (keys too) in parsed JSON."""
    if depth > MAX_DEPTH:
        return {path or "(body)": [f"nested deeper than {MAX_DEPTH} levels"]}
    found: dict[str, list[str]] = {}
    if isinstance(data, str):
        reason = text_problem(data)
        if reason:
            found[path or "(body)"] = [reason]
    elif isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            reason = text_problem(key)
            if reason:
                found[_printable(where)] = [f"the field name {reason}"]
                continue
            found.update(problems_in(value, where, depth + 1))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.update(problems_in(value, f"{path}[{i}]", depth + 1))
    return found


def _printable(text: str) -> str:
    return _BAD_TEXT.sub("\ufffd", text)
