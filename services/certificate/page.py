"""The public verification page (Chinese, with English)."""
import base64
import hashlib
from html import escape

LEVEL_NAMES = {"L4": "四级 / Level 4 (intermediate)", "L3": "三级 / Level 3 (advanced)"}
STATUS_NAMES = {"valid": "有效 / Valid", "superseded": "已更正换发 / Superseded by a corrected reissue",
                "revoked": "已撤销 / Revoked"}

_STYLE = ("body{font-family:'Noto Sans CJK SC','Source Han Sans SC',sans-serif;max-width:40rem;"
          "margin:2rem auto;padding:0 1rem;color:#1b2a1f}h1{font-size:1.4rem}h2{font-size:1.1rem}"
          "dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}"
          ".status{font-weight:bold;font-size:1.2rem}.valid{color:#17692e}.revoked,.superseded{color:#a1260d}"
          "label{display:block;margin:.6rem 0}")


# Nothing but its own inline style and a form to itself: no script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    + "'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _newer(current: int) -> str:
    return f" — 已由第 {current} 版取代 / replaced by serial {current}"


def render(number: str = "", name: str = "", found: dict | None = None, searched: bool = False) -> str:
    parts = [f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
             f"<title>证书查询 Certificate verification</title><style>{_STYLE}</style></head><body>",
             "<h1>碳排放管理员职业能力水平评价证书查询<br><small>Carbon Emission Administrator "
             "certificate verification</small></h1>"]
    if found:
        status = found["status"]
        parts.append(
            f"<p id='status' class='status {escape(status)}'>{escape(STATUS_NAMES.get(status, status))}</p><dl>"
            f"<dt>证书编号 Number</dt><dd id='number'>{escape(found['number'])}</dd>"
            f"<dt>姓名 Holder</dt><dd id='holder'>{escape(found['holder_name'])}</dd>"
            f"<dt>等级 Level</dt><dd id='level'>{escape(LEVEL_NAMES.get(found['level'], found['level']))}</dd>"
            f"<dt>发证日期 Issued on</dt><dd id='issued'>{escape(str(found['issued_on']))}</dd>"
            f"<dt>培训基地 Training base</dt><dd id='base'>{escape(found['base_name'])}</dd>"
            f"<dt>身份证号 ID number</dt><dd id='id'>{escape(found['id_number_masked'])}</dd>"
            f"<dt>版本 Serial</dt><dd id='serial'>{found['serial']}"
            f"{'' if found['serial'] == found['current_serial'] else _newer(found['current_serial'])}</dd>"
            + ("<dt>来源 Origin</dt><dd id='origin'>本系统启用前颁发，已导入登记 / Issued before this "
               "system, imported into the registry</dd>" if found.get("origin") == "imported" else "")
            + "</dl>")
        if len(found["history"]) > 1:
            parts.append("<h2>换发记录 Reissue history</h2><ol id='history'>" + "".join(
                f"<li>第 {h['serial']} 版 serial {h['serial']}: {escape(STATUS_NAMES.get(h['status'], h['status']))}"
                f" ({escape(str(h['since']))})</li>" for h in found["history"]) + "</ol>")
    elif searched:
        parts.append("<p id='status' class='status revoked'>未找到匹配的证书 / No certificate matches "
                     "this number and name.</p>")
    parts.append(
        "<form method='get' action='/certificate/verify/page'>"
        f"<label>证书编号 Certificate number <input name='number' value='{escape(number)}' required></label>"
        f"<label>持证人姓名 Holder's name <input name='name' value='{escape(name)}' required></label>"
        "<button type='submit'>查询 Verify</button></form></body></html>")
    return "".join(parts)
