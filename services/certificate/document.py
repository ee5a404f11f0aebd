"""The printable certificate: an A4 landscape PDF with a QR code to the verification page.

Fonts come from shared.pdf (DejaVu Sans, Droid Sans Fallback for Chinese); the QR
code (segno) carries the public verification page's URL with number and name filled in.
"""
from __future__ import annotations

import io

import segno

from shared.pdf import new_document, render

from . import domain

LEVELS = {"L4": "四级 / Level 4 (intermediate)", "L3": "三级 / Level 3 (advanced)"}
STATUSES = {"valid": "有效 / Valid", "superseded": "已更正换发 / Superseded",
            "revoked": "已撤销 / Revoked"}
INK, GREEN = (27, 42, 31), (23, 105, 46)


def certificate_pdf(certificate, verify_url: str) -> bytes:
    pdf = new_document(orientation="landscape")
    pdf.set_title(f"{domain.TITLE} {certificate.number}")
    pdf.set_author("碳排放管理员职业能力水平评价")
    pdf.add_page()
    pdf.set_draw_color(*GREEN)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, 269, 182)

    pdf.set_text_color(*INK)
    pdf.set_xy(14, 28)
    pdf.set_font(size=26)
    pdf.cell(269, 14, f"《{domain.TITLE}》", align="C")
    pdf.set_xy(14, 44)
    pdf.set_font(size=12)
    pdf.cell(269, 8, "Carbon Emission Administrator — Certificate of Vocational Competence", align="C")

    rows = [("持证人 Holder", certificate.holder_name),
            ("身份证号 ID number", certificate.id_number_masked),
            ("等级 Level", LEVELS.get(certificate.level, certificate.level)),
            ("证书编号 Number", certificate.number),
            ("发证日期 Issued on", certificate.issued_on.isoformat()),
            ("培训基地 Training base", certificate.base_name)]
    if certificate.serial > 1:
        rows.append(("换发序号 Reissue", f"第 {certificate.serial} 版 / serial {certificate.serial}"))
    rows.append(("状态 Status", STATUSES.get(certificate.status, certificate.status)))
    y = 66
    for label, value in rows:
        pdf.set_xy(36, y)
        pdf.set_font(size=12)
        pdf.cell(62, 10, label)
        pdf.set_font(size=15)
        pdf.cell(120, 10, str(value))
        y += 13

    qr = segno.make(verify_url, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=10, border=4)
    png.seek(0)
    pdf.image(png, x=222, y=118, w=50, h=50)
    pdf.set_xy(212, 170)
    pdf.set_font(size=9)
    pdf.cell(70, 5, "扫码查验 Scan to verify", align="C")
    pdf.set_xy(20, 183)
    pdf.set_font(size=8)
    pdf.cell(257, 5, verify_url, align="L")
    return render(pdf)
