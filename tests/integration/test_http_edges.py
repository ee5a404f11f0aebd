"""The HTTP edge every service shares (architecture.md, "Faults and edges"): bodies
bounded before they are read, input text that is valid Unicode without NUL, JSON of
sane depth, 405 with Allow, security headers, an access log without query strings,
and the client address behind trusted proxies."""
import json
import logging
import socket

import pytest
import requests

from tests.support.payments import notification


def _problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    return answer.json()


def test_405_says_which_methods_are_allowed(services):
    services.start("enrollment")
    answer = services.client("enrollment", "admin").request("DELETE", "/enrollment/bases")
    _problem(answer, 405)
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_body_over_the_route_limit_is_refused_before_it_is_read(services):
    services.start("billing")
    url = services.url("billing") + "/billing/payments/qr/wechat_pay"
    # Announce 50 MB and send none of it: the answer comes without reading the body.
    with socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])), timeout=10) as s:
        s.sendall(b"POST /billing/payments/qr/wechat_pay HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n")
        head = s.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    assert "application/problem+json" in head
    big = requests.post(url, data=b"{" + b" " * (70 * 1024) + b"}", headers={"Content-Type": "application/json"},
                        timeout=30)
    assert _problem(big, 413)["type"] == "/problems/body-too-large"


def test_a_non_ascii_signature_is_a_bad_signature_not_a_500(services):
    services.start("billing")
    body = notification("6b0f3c1e-3f4d-4d44-9d4a-2f0c1b8c2a11", 390000, "tx-sig")
    answer = requests.post(services.url("billing") + "/billing/payments/qr/wechat_pay", data=body,
                           headers={"Content-Type": "application/json",
                                    "X-Signature": "sha256=签名".encode("utf-8")}, timeout=30)
    assert _problem(answer, 401)["type"] == "/problems/bad-signature"


def test_deep_json_lone_surrogates_and_nul_are_refused_and_nothing_is_written(services):
    services.start("enrollment")
    admin = services.client("enrollment", "admin")
    headers = {"Content-Type": "application/json"}
    deep = admin.request("POST", "/enrollment/bases", data=b"[" * 60_000, headers=headers)
    _problem(deep, 400)
    nested = admin.request("POST", "/enrollment/bases", data=("[" * 40 + "]" * 40).encode(), headers=headers)
    assert nested.status_code in (400, 422)
    base = {"code": "B900", "name": "x", "contact": "0791-1", "authorized_from": "2026-01-01",
            "authorized_until": "2027-01-01"}
    surrogate = json.dumps({**base, "name": "\ud800"}).encode()  # json escapes it as \\ud800
    answer = _problem(admin.request("POST", "/enrollment/bases", data=surrogate, headers=headers), 422)
    assert "name" in answer["errors"] and "surrogate" in answer["errors"]["name"][0]
    nul = _problem(admin.post("/enrollment/bases", {**base, "contact": "0791\x001"}), 422)
    assert "NUL" in nul["errors"]["contact"][0]
    assert _problem(admin.get("/enrollment/bases/B%00900"), 404)
    assert admin.get("/enrollment/bases/B900").status_code == 404  # nothing was written


def test_the_verification_page_sends_security_headers(services):
    services.start("certificate")
    page = services.anonymous("certificate").get("/certificate/verify/page")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "form-action 'self'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    api_answer = services.anonymous("certificate").get("/certificate/keys")
    assert api_answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_access_log_records_the_route_not_the_query(services, caplog):
    services.start("certificate")
    with caplog.at_level(logging.INFO):
        services.anonymous("certificate").get("/certificate/verify/page",
                                              params={"number": "CEA-L4-2026-B001-000001-0", "name": "王小明"})
        services.anonymous("certificate").get("/certificate/verify",
                                              params={"number": "CEA-L4-2026-B001-000001-0", "name": "王小明"})
    access = [r for r in caplog.records if r.name == "shared.web.access"]
    assert {r.route for r in access} >= {"/certificate/verify/page", "/certificate/verify"}
    assert {r.status for r in access if r.route == "/certificate/verify"} == {404}
    everything = "\n".join(r.getMessage() + " " + json.dumps(r.__dict__, default=str, ensure_ascii=False)
                           for r in caplog.records)
    assert "王小明" not in everything and "CEA-L4-2026-B001-000001-0" not in everything


@pytest.mark.parametrize("hops", [1, 2])
def test_the_client_address_is_the_one_the_trusted_proxies_added(services, hops):
    services.start("certificate", VERIFY_RATE_LIMIT="3/minute", TRUSTED_PROXY_HOPS=hops)
    url = services.url("certificate") + "/certificate/verify"
    params = {"number": "CEA-L4-2026-B001-000001-0", "name": "x"}

    def ask(forwarded):
        return requests.get(url, params=params, headers={"X-Forwarded-For": forwarded}, timeout=10).status_code

    # The client writes whatever it likes on the left; the proxies append on the right.
    proxies = ", 10.0.0.9" * (hops - 1)
    codes = [ask(f"{made_up}.1.1.1, 203.0.113.7{proxies}") for made_up in range(1, 6)]
    assert codes == [404, 404, 404, 429, 429]
    assert ask(f"1.1.1.1, 203.0.113.8{proxies}") == 404  # another client has its own allowance


def test_rate_limit_counters_are_shared_by_replicas_and_survive_a_restart(services):
    from nameko.containers import ServiceContainer

    from services.certificate.service import CertificateService
    from shared.web.server import ApiServer

    services.start("certificate", VERIFY_RATE_LIMIT="4/minute")
    replica = ServiceContainer(CertificateService, services.config("certificate", VERIFY_RATE_LIMIT="4/minute"))
    replica.start()
    try:
        port = next(e for e in replica.extensions if isinstance(e, ApiServer)).port
        urls = [services.url("certificate"), f"http://127.0.0.1:{port}"]
        params = {"number": "CEA-L4-2026-B001-000001-0", "name": "x"}
        codes = [requests.get(urls[i % 2] + "/certificate/verify", params=params, timeout=10).status_code
                 for i in range(5)]
        assert codes == [404, 404, 404, 404, 429]  # one allowance across both replicas
    finally:
        replica.stop()
    services.stop("certificate")
    services.start("certificate", VERIFY_RATE_LIMIT="4/minute")
    again = requests.get(services.url("certificate") + "/certificate/verify", params=params, timeout=10)
    assert again.status_code == 429  # a restart does not hand out a fresh allowance
