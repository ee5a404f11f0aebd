"""The public verification page in a real headless browser (Debian's chromium).

The test starts chromium through Debian's chromedriver, which selenium is given by
path, so Selenium Manager never runs and nothing is downloaded (SE_OFFLINE=true
too). Without chromium the test is skipped, unless CEA_REQUIRE_BROWSER is set."""
import os
import shutil
import tempfile

import pytest

from tests.support import certificate_flow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CEA_REQUIRE_BROWSER"):
            pytest.fail(f"CEA_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
        pytest.skip(f"no headless browser: install Debian's chromium and chromium-driver "
                    f"({CHROMIUM}, {CHROMEDRIVER})")
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cea-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _verify(browser, page_url, number, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_url)
    form = browser.find_element(By.TAG_NAME, "form")
    form.find_element(By.NAME, "number").send_keys(number)
    form.find_element(By.NAME, "name").send_keys(name)
    form.find_element(By.TAG_NAME, "button").click()
    return WebDriverWait(browser, 15).until(seen.presence_of_element_located((By.ID, "status")))


def test_a_person_verifies_a_certificate_on_the_page_and_a_wrong_name_is_not_found(services, bus, browser):
    from selenium.webdriver.common.by import By

    sink = bus.sink("certificate.issued")
    services.start("certificate")
    _, issued = certificate_flow.issue(bus, sink, full_name="王小明")
    number = issued.data["certificate_number"]
    page_url = services.url("certificate") + "/certificate/verify/page"

    status = _verify(browser, page_url, number.lower(), "王小明")
    assert status.text == "有效 / Valid"
    assert browser.find_element(By.ID, "number").text == number
    assert browser.find_element(By.ID, "level").text.startswith("四级")
    assert browser.find_element(By.ID, "id").text == issued.data["id_number_masked"]
    assert browser.find_element(By.ID, "issued").text == issued.data["issued_on"].isoformat()

    status = _verify(browser, page_url, number, "李四")
    assert status.text.startswith("未找到匹配的证书 / No certificate matches")
    assert not browser.find_elements(By.ID, "number") and "王小明" not in browser.page_source


def test_the_page_shows_a_superseded_serial_and_a_revoked_certificate(services, bus, browser):
    from selenium.webdriver.common.by import By

    sink = bus.sink("certificate.issued")
    services.start("certificate")
    _, issued = certificate_flow.issue(bus, sink, full_name="王小名")
    number = issued.data["certificate_number"]
    admin = services.client("certificate", "admin")
    assert admin.post(f"/certificate/certificates/{number}/corrections",
                      json={"holder_name": "王小明", "reason": "姓名录入错误"}).status_code == 201
    assert admin.post(f"/certificate/certificates/{number}/revocation",
                      json={"reason": "考试作弊"}).status_code == 200
    page_url = services.url("certificate") + "/certificate/verify/page"

    assert _verify(browser, page_url, number, "王小名").text == "已更正换发 / Superseded by a corrected reissue"
    assert "replaced by serial 2" in browser.find_element(By.ID, "serial").text
    assert _verify(browser, page_url, number, "王小明").text == "已撤销 / Revoked"
    history = browser.find_element(By.ID, "history").text
    assert "serial 1: 已更正换发" in history and "serial 2: 已撤销" in history and "作弊" not in browser.page_source
