"""The dashboard in a real browser: Debian's Chromium, driven by Selenium through chromedriver,
against the dev server (``aem-guides-mock serve``) on a real socket.

Skipped, with the reason, where Chromium or chromedriver is missing (``.ci/run`` installs Debian's
``chromium`` and ``chromium-driver``, and sets ``AEM_MOCK_REQUIRE_BROWSER=1`` so that CI fails
instead of skipping). Each test writes a screenshot of its page to ``artifacts/screenshots/`` (or
``$AEM_MOCK_SCREENSHOTS``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.api.operations import BASE_PATH

CHROMIUM = os.environ.get("AEM_MOCK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = os.environ.get("AEM_MOCK_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
_MISSING = [path for path in (CHROMIUM, DRIVER) if not os.path.exists(path)]
_REASON = (
    f"no browser: {', '.join(_MISSING)} missing; install Debian's chromium and chromium-driver "
    "(.ci/run does) to run the browser tests"
)
if _MISSING and os.environ.get("AEM_MOCK_REQUIRE_BROWSER") == "1":
    raise RuntimeError(_REASON)  # CI asked for the browser tests: never skip them silently
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=_REASON)

from selenium import webdriver  # noqa: E402 (after the skip: the reason is clearer than an import error)
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SHOTS = Path(
    os.environ.get("AEM_MOCK_SCREENSHOTS") or Path(__file__).parent.parent / "artifacts" / "screenshots"
)
AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()
SCRIPT = "<script>window.pwned = 1; alert('pwned')</script>"


class Server:
    """``aem-guides-mock serve --clock manual`` in a subprocess, and calls to it."""

    def __init__(self, tmp: Path) -> None:
        ready = tmp / "ready"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--clock", "manual",
             "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not ready.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                said = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"serve did not start: {said.decode(errors='replace')}")
            time.sleep(0.05)
        self.url = ready.read_text().strip()

    def call(self, method: str, path: str, body: Any = None, *, api: bool = True) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **({"Authorization": AUTH} if api else {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def start(self, path: str = "/content/dam/22858") -> str:
        status, body = self.call("POST", BASE_PATH, {"path": path, "type": "ASSET_PROCESSING"})
        assert status == 200, body
        return str(body["processingId"])

    def now(self) -> int:
        return int(self.call("GET", "/__admin/clock", api=False)[1]["now"])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'chromium'}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def wait_for(driver: webdriver.Chrome, what: str, check: Any, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout).until(lambda d: check(d), message=what)


def shoot(driver: webdriver.Chrome, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def live(driver: webdriver.Chrome) -> None:
    wait_for(driver, "the event stream to connect", lambda d: d.find_element(By.ID, "live").text == "live")


def test_a_job_started_through_the_api_reaches_success_on_screen_without_a_reload(
    server: Server, browser: webdriver.Chrome
) -> None:
    browser.get(server.url + "/__admin/ui/")
    live(browser)
    browser.execute_script("window.loadedOnce = 'yes'")  # gone if the page reloads
    job = server.start()
    row = f'tr[data-id="{job}"]'
    wait_for(browser, "the job's row", lambda d: d.find_elements(By.CSS_SELECTOR, row))
    assert server.call("POST", "/__admin/clock/advance", {"seconds": 60}, api=False)[0] == 200
    wait_for(browser, "SUCCESS on screen",
             lambda d: d.find_element(By.CSS_SELECTOR, f"{row} td.status").text == "SUCCESS")  # fmt: skip
    assert browser.execute_script("return window.loadedOnce") == "yes"
    shoot(browser, "jobs")


def test_the_clock_buttons_move_a_manual_clock(server: Server, browser: webdriver.Chrome) -> None:
    browser.get(server.url + "/__admin/ui/scenario")
    live(browser)
    before = server.now()
    browser.find_element(By.CSS_SELECTOR, 'button[data-seconds="60"]').click()
    wait_for(browser, "the clock to move 1 min",
             lambda d: server.now() == before + 60_000)  # fmt: skip
    browser.find_element(By.CSS_SELECTOR, 'button[data-seconds="1"]').click()
    wait_for(browser, "the clock to move 1 s",
             lambda d: server.now() == before + 61_000)  # fmt: skip
    wait_for(browser, "the new time on screen", lambda d: "00:01:01" in d.find_element(By.ID, "clock").text)
    server.start()
    browser.find_element(By.CSS_SELECTOR, 'button[data-to="next"]').click()
    wait_for(browser, "the clock at the next transition",
             lambda d: server.now() > before + 61_000)  # fmt: skip
    shoot(browser, "scenario")


def test_a_violation_shows_its_pointer_and_a_script_in_a_body_does_not_run(
    server: Server, browser: webdriver.Chrome
) -> None:
    body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "excludePaths": [SCRIPT]}
    assert server.call("POST", BASE_PATH, body)[0] == 400
    assert server.call("POST", BASE_PATH, {"path": SCRIPT, "type": "ASSET_PROCESSING"})[0] == 400
    browser.get(server.url + "/__admin/ui/journal")
    pointers = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "li.error code")]
    assert "body:/excludePaths" in pointers
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (an alert would mean the script ran)
    assert browser.execute_script("return window.pwned === undefined")
    assert SCRIPT in browser.find_element(By.ID, "journal").text  # shown as text
    shoot(browser, "journal")


def test_cancel_and_resume_on_a_job_page(server: Server, browser: webdriver.Chrome) -> None:
    job = server.start("/content/dam")
    server.call("POST", "/__admin/clock/advance", {"seconds": 3}, api=False)
    browser.get(f"{server.url}/__admin/ui/jobs/{job}")
    live(browser)
    status = '[data-field="status"]'
    wait_for(browser, "IN_PROGRESS", lambda d: d.find_element(By.CSS_SELECTOR, status).text == "IN_PROGRESS")
    browser.find_element(By.CSS_SELECTOR, 'button[data-action="cancel"]').click()
    wait_for(browser, "CANCELLED", lambda d: d.find_element(By.CSS_SELECTOR, status).text == "CANCELLED")
    browser.find_element(By.CSS_SELECTOR, 'button[data-action="resume"]').click()
    wait_for(browser, "resumed", lambda d: d.find_element(By.CSS_SELECTOR, status).text != "CANCELLED")
    assert f"Bulk processing job started [processingId={job}" in browser.find_element(By.ID, "log").text
    server.call("POST", "/__admin/clock/advance", {"seconds": 2}, api=False)
    wait_for(
        browser,
        "the log to grow on screen",
        lambda d: "Processing asset" in d.find_element(By.ID, "log").text,
    )
    shoot(browser, "job")


def test_the_page_keeps_working_after_a_scenario_reload(server: Server, browser: webdriver.Chrome) -> None:
    browser.get(server.url + "/__admin/ui/")
    live(browser)
    server.start()
    wait_for(browser, "a first row", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#jobs-body tr")) == 1)
    status, _ = server.call("PUT", "/__admin/scenario", {"name": "database-backend"}, api=False)
    assert status == 200
    wait_for(browser, "the new scenario's name",
             lambda d: d.find_element(By.ID, "scenario-name").text == "database-backend")  # fmt: skip
    wait_for(browser, "the jobs gone", lambda d: not d.find_elements(By.CSS_SELECTOR, "#jobs-body tr"))
    job = server.start()
    wait_for(browser, "the new job's row", lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-id="{job}"]'))
    shoot(browser, "jobs-after-reload")
