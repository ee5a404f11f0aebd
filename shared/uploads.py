"""Text files people upload (bulk-enrollment rosters, bank statements).

The body is spooled to a temporary file as it arrives (hashed on the way), never
held whole in memory, and read from there line by line in as many passes as
needed: one to settle the encoding, then the parse.

Encodings, as Chinese office software writes them: UTF-8, with or without a
byte-order mark (Excel's "CSV UTF-8"), and GBK (Excel's plain "CSV" on a Chinese
Windows). A declared charset (Content-Type `charset=`, or the statement's
`charset` parameter) is honoured when it is a known, ASCII-compatible text
encoding and refused otherwise. Undeclared, GBK and UTF-8 are told apart by
decoding (GBK-encoded Chinese is practically never valid UTF-8). Other CJK
encodings decode as GBK too, into wrong characters: a file read as GBK is refused
when it holds what a GBK roster or statement never does — user-defined (private
use) characters, kana, characters GBK cannot encode (GB 18030's rare ideographs
excepted), or mostly ideographs outside
GB 2312's common set (Shift-JIS and Big5 text read as GBK), naming the line.
"""
from __future__ import annotations

import codecs
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass

CHUNK = 64 * 1024
LINE_PIECE = 1024 * 1024  # a line longer than this is read in pieces
MEMORY = 1024 * 1024      # spooled in memory up to this, then on disk
UTF8_BOM = b"\xef\xbb\xbf"
_PRIVATE_OR_KANA = re.compile("[\ue000-\uf8ff\u3040-\u30ff\uac00-\ud7af]")
_IDEOGRAPH = re.compile("[\u3400-\u9fff\uf900-\ufaff]")
_RARE_IDEOGRAPH = re.compile("[\U00020000-\U0003ffff]")  # GB 18030's four-byte ideographs


class NotText(ValueError):
    """The bytes are not text in an accepted encoding; the message says why and where."""


@dataclass
class Upload:
    """A request body on disk (or in memory while small), with its digest."""
    file: tempfile.SpooledTemporaryFile
    sha256: str
    size: int

    def binary(self):
        self.file.seek(0)
        return self.file

    def text(self, encoding: str) -> io.TextIOWrapper:
        """The body as text, for csv (newline="" keeps quoted line breaks)."""
        self.file.seek(len(UTF8_BOM) if encoding == "utf-8-sig" else 0)
        wrapper = io.TextIOWrapper(_Unclosed(self.file), encoding="utf-8" if encoding == "utf-8-sig" else
                                   _codec(encoding), errors="strict", newline="")
        return wrapper

    def close(self) -> None:
        self.file.close()


class _Unclosed(io.RawIOBase):
    """The spooled file seen by a TextIOWrapper that must not close it."""

    def __init__(self, file):
        self._file = file

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._file.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def spool(stream, limit: int | None = None) -> Upload:
    """Read a body stream into a temporary file, hashing it on the way."""
    file = tempfile.SpooledTemporaryFile(max_size=MEMORY)
    digest, size = hashlib.sha256(), 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            file.close()
            raise NotText(f"the file is larger than {limit} bytes")
        digest.update(chunk)
        file.write(chunk)
    file.seek(0)
    return Upload(file, digest.hexdigest(), size)


def from_bytes(raw: bytes) -> Upload:
    return spool(io.BytesIO(raw))


def _codec(encoding: str) -> str:
    return "gb18030" if encoding == "gbk" else encoding


def declared_encoding(charset: str) -> str:
    """The codec name of a declared charset; NotText when it is not one we can read."""
    try:
        info = codecs.lookup(charset.strip().strip('"'))
    except LookupError:
        raise NotText(f"the declared charset {charset!r} is not a known encoding; "
                      "send UTF-8 or GBK") from None
    try:
        ascii_compatible = "a,\n".encode(info.name) == b"a,\n"
    except (LookupError, UnicodeError, TypeError):
        ascii_compatible = False
    if not ascii_compatible or not getattr(info, "_is_text_encoding", True):
        raise NotText(f"the declared charset {charset!r} is not a text encoding CSV can be read in; "
                      "send UTF-8 or GBK")
    return {"gb2312": "gbk", "gbk": "gbk", "gb18030": "gb18030", "utf-8": "utf-8"}.get(info.name, info.name)


def detect_encoding(upload: Upload, charset: str | None = None) -> str:
    """The encoding the whole upload reads in cleanly: the declared one, else UTF-8
    (with or without BOM), else GBK; NotText naming the line otherwise."""
    if charset:
        encoding = declared_encoding(charset)
        _check(upload, encoding, f"the declared {charset}")
        return encoding
    head = upload.binary().read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotText("the file is UTF-16 ('Unicode text'); save it as CSV UTF-8 or CSV")
    if head.startswith(UTF8_BOM):
        _check(upload, "utf-8-sig", "UTF-8 (it starts with a UTF-8 byte-order mark)")
        return "utf-8-sig"
    try:
        _check(upload, "utf-8", "UTF-8")
        return "utf-8"
    except NotText:
        pass
    try:
        _check(upload, "gbk", "GBK", plausible=True)
    except NotText as exc:
        raise NotText(f"the file is neither UTF-8 nor GBK text: {exc}") from None
    return "gbk"


def _check(upload: Upload, encoding: str, name: str, plausible: bool = False) -> None:
    """Decode every line strictly (and, for undeclared GBK, check it looks like GBK text)."""
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else _codec(encoding))("strict")
    file = upload.binary()
    if encoding == "utf-8-sig":
        file.read(len(UTF8_BOM))
    line, ideographs, uncommon, first_uncommon = 1, 0, 0, None
    while True:
        piece = file.readline(LINE_PIECE)
        if not piece:
            break
        try:
            text = decoder.decode(piece)
        except UnicodeDecodeError:
            raise NotText(f"line {line} is not {name} text") from None
        if plausible and text:
            if (odd := _PRIVATE_OR_KANA.search(text)) or not _encodes(_RARE_IDEOGRAPH.sub("", text), "gbk"):
                what = f"U+{ord(odd.group()):04X}" if odd else "characters GBK has not"
                raise NotText(f"line {line} holds {what}, which a GBK file does not: it looks like another "
                              "encoding (Big5? Shift-JIS?); save it as CSV UTF-8")
            for ch in _IDEOGRAPH.findall(text):
                ideographs += 1
                if not _encodes(ch, "gb2312"):
                    uncommon += 1
                    first_uncommon = first_uncommon or line
        if piece.endswith(b"\n"):
            line += 1
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise NotText(f"the file ends inside a character: it is not {name} text") from None
    if plausible and uncommon >= 3 and uncommon > 0.3 * ideographs:
        raise NotText(f"{uncommon} of its {ideographs} Chinese characters are rare ones (from line "
                      f"{first_uncommon}): it looks like another encoding read as GBK (Big5? Shift-JIS?); "
                      "save it as CSV UTF-8")


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def decode_text(raw: bytes, charset: str | None = None) -> tuple[str, str]:
    """(text, encoding read) of a small upload held in memory."""
    upload = from_bytes(raw)
    try:
        encoding = detect_encoding(upload, charset)
        return upload.text(encoding).read(), encoding
    finally:
        upload.close()
