"""The status report in a real headless browser: Chromium from Debian's packages, driven by Selenium.

The page is the one ``restorewatch report --auth-details FILE --html OUT.html`` writes for the CLI
test account (one non-compliant user, two compliant ones, one degraded role). It must load with no
console error, show the right status in every matrix cell, sort and filter, and print; a screenshot
is saved in the test's tmp dir (and, with RESTOREWATCH_UPDATE_SCREENSHOT=1, as the README's
docs/report-screenshot.png).

Skipped, with the reason, only off CI when Chromium is absent; on CI (CI=true) a missing browser
fails: .ci/run installs ``chromium`` and ``chromium-driver`` from Debian's packages.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from restorewatch_cli import main
from support.template import REPO_ROOT
from unit.cli.test_cli import HELPER, RESTORE_OK, RESTORE_POWER, SCOPED_ROLE, account, write_json

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ON_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        if ON_CI:
            pytest.fail(
                f"{', '.join(missing)} missing on CI: .ci/run must install chromium and chromium-driver"
            )
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1600,1000",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    assert (
        main(["report", "--auth-details", write_json(tmp_path / "auth.json", account()), "--html", str(out)])
        == 0
    )
    return out


def console_log(driver: WebDriver) -> list[dict[str, Any]]:
    """The page's console messages (Chrome's driver has ``get_log``; the generic type does not)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[attr-defined]
    return entries


def rows(driver: WebDriver) -> list[tuple[str, str]]:
    """(row status, principal ARN) of every visible row, top to bottom."""
    from selenium.webdriver.common.by import By

    return [
        (row.get_attribute("data-status") or "", row.find_element(By.CSS_SELECTOR, ".arn").text)
        for row in driver.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
        if row.is_displayed()
    ]


def test_report_page_in_chromium_loads_sorts_filters_and_is_screenshotted(
    browser: WebDriver, page: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(page.as_uri())
    assert browser.title == "RestoreWatch status report"
    errors = [entry for entry in console_log(browser) if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []

    # summary on top
    assert browser.find_element(By.ID, "count-total").text == "4"
    assert browser.find_element(By.ID, "count-non_compliant").text == "1"
    assert browser.find_element(By.ID, "count-degraded").text == "1"
    assert browser.find_element(By.ID, "count-compliant").text == "2"

    # the page as it opens (worst first), for the README
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("RESTOREWATCH_UPDATE_SCREENSHOT"):  # refresh the README's copy on purpose only
        shutil.copyfile(shot, REPO_ROOT / "docs" / "report-screenshot.png")

    # the matrix: worst first, and the right status in the cells that matter
    listed = rows(browser)
    assert listed[0] == ("non_compliant", RESTORE_POWER)
    assert {arn: status for status, arn in listed} == {
        RESTORE_POWER: "non_compliant",
        SCOPED_ROLE: "degraded",
        RESTORE_OK: "compliant",
        HELPER: "compliant",
    }
    power = browser.find_element(By.CSS_SELECTOR, "#matrix tbody tr:first-child")
    denied = power.find_elements(By.CSS_SELECTOR, "td[data-status=denied]")
    assert len(denied) == 4  # PowerUserAccess: exactly the four IAM actions of the profile
    actions = [th.get_attribute("title") for th in browser.find_elements(By.CSS_SELECTOR, "th.action")]
    cells = power.find_elements(By.CSS_SELECTOR, "td.cell")
    denied_actions = {
        actions[i] for i, cell in enumerate(cells) if cell.get_attribute("data-status") == "denied"
    }
    assert denied_actions == {"iam:GetRole", "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}
    assert all(cell.get_attribute("title") for cell in denied)  # the reasons, on hover
    # the reason expands on click
    details = denied[0].find_element(By.TAG_NAME, "details")
    assert details.get_attribute("open") is None
    denied[0].find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None
    assert denied[0].find_element(By.TAG_NAME, "li").text

    # sort by principal name (ascending, then descending)
    header = browser.find_element(By.CSS_SELECTOR, "th[data-sort=name]")
    header.click()
    names = [arn.rsplit("/", 1)[1] for _, arn in rows(browser)]
    assert names == sorted(names)
    header.click()
    assert [arn.rsplit("/", 1)[1] for _, arn in rows(browser)] == sorted(names, reverse=True)

    # filter by text, by status, and "only problems"
    search = browser.find_element(By.ID, "filter")
    search.send_keys("scoped")
    assert rows(browser) == [("degraded", SCOPED_ROLE)]
    search.clear()
    search.send_keys(" ")  # an input event with nothing to match: every row again
    assert len(rows(browser)) == 4
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("non_compliant")
    assert rows(browser) == [("non_compliant", RESTORE_POWER)]
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("")
    browser.find_element(By.ID, "problems-only").click()
    assert {status for status, _ in rows(browser)} == {"non_compliant", "degraded"}
    assert browser.find_element(By.ID, "shown").text == "2 of 4 shown"
    browser.find_element(By.ID, "problems-only").click()

    # print: the controls are hidden and every reason is shown
    browser.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    closed = browser.execute_script("return document.querySelectorAll('details:not([open])').length")
    assert closed == 0
    browser.execute_script("window.dispatchEvent(new Event('afterprint'))")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.ID, "filter").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    assert [e for e in console_log(browser) if e["level"] == "SEVERE"] == []
