"""PDF documents with Chinese text (certificates, invoices): fpdf2 with two fonts.

Latin text is set in DejaVu Sans (Debian `fonts-dejavu-core`, `CEA_LATIN_FONT`);
what it lacks (Chinese) falls back to a CJK TrueType font (Debian
`fonts-droid-fallback`, `CEA_CJK_FONT`). deploy/local/ensure-infra.sh and the
container image install both.
"""
from __future__ import annotations

import os
from pathlib import Path

from fpdf import FPDF

CJK_CANDIDATES = ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",)
LATIN_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
FONT = "text"  # the font to select: Latin, with the CJK font as its fallback


class FontMissing(RuntimeError):
    pass


def _font(variable: str, candidates, package: str) -> Path:
    configured = os.environ.get(variable)
    for candidate in ([configured] if configured else []) + list(candidates):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(f"no font for PDFs: install Debian's {package} or set {variable} "
                      "to a TrueType font file")


def new_document(orientation: str = "portrait") -> FPDF:
    """An A4 document whose font `cjk` renders Chinese and Latin text alike."""
    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font(FONT, fname=str(_font("CEA_LATIN_FONT", LATIN_CANDIDATES, "fonts-dejavu-core")))
    pdf.add_font("cjk", fname=str(_font("CEA_CJK_FONT", CJK_CANDIDATES, "fonts-droid-fallback")))
    pdf.set_fallback_fonts(["cjk"])
    pdf.set_font(FONT, size=12)
    return pdf


def render(pdf: FPDF) -> bytes:
    return bytes(pdf.output())
