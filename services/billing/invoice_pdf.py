"""The PDF rendering of an invoice record (shared.pdf: fpdf2 with a CJK font)."""
from __future__ import annotations

from shared.calendar import PROGRAM_TZ
from shared.pdf import new_document, render

from .domain import format_yuan


def invoice_pdf(invoice: dict, order, seller: dict) -> bytes:
    pdf = new_document()
    pdf.add_page()
    pdf.set_title(f"Invoice {invoice['number']}")
    red = invoice["kind"] == "red"
    pdf.set_font_size(20)
    if red:
        pdf.set_text_color(180, 0, 0)
    pdf.cell(0, 14, "红字发票（冲销）" if red else "发票", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font_size(11)
    amount = invoice["amount_fen"]
    sign = "-" if amount < 0 else ""
    issued = invoice["issued_at"].astimezone(PROGRAM_TZ)
    rows = [
        ("发票号码 Number", invoice["number"]),
        ("开票日期 Issued", issued.strftime("%Y-%m-%d %H:%M")),
        ("购买方 Buyer", invoice["title"]),
        ("纳税人识别号 Tax ID", invoice["tax_id"] or "—（个人 personal）"),
        ("项目 Item", invoice["item"]),
        ("金额 Amount", f"{sign}{format_yuan(abs(amount))} CNY"),
        ("订单 Order", str(invoice["order_id"])),
        ("学员 Learner", order.full_name),
        ("销售方 Seller", seller["account_name"]),
        ("开户行 Bank", f"{seller['bank']} {seller['account_number']}"),
    ]
    if invoice["reverses_invoice_id"]:
        rows.append(("冲销 Reverses", str(invoice["reverses_invoice_id"])))
    if invoice["replaces_invoice_id"]:
        rows.append(("替代 Replaces", str(invoice["replaces_invoice_id"])))
    if invoice["reason"]:
        rows.append(("原因 Reason", invoice["reason"]))
    pdf.ln(4)
    for label, value in rows:
        pdf.cell(55, 9, label, border=1)
        pdf.multi_cell(0, 9, value, border=1, new_x="LMARGIN", new_y="NEXT")
    return render(pdf)
