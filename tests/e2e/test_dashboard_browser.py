"""The dashboard in a real browser: Debian's Chromium, driven by Selenium through chromedriver,
against the dev server (``aem-guides-mock serve``) on a real socket.

Skipped, with the reason, where Chromium or chromedriver is missing (``.ci/run`` installs Debian's
``chromium`` and ``chromium-driver``, and sets ``AEM_MOCK_REQUIRE_BROWSER=1`` so that CI fails
instead of skipping). Each test writes a screenshot of its page to ``artifacts/screenshots/`` (or
``$AEM_MOCK_SCREENSHOTS``).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mock_server import ManualClock, create_app
from mock_server.api.operations import BASE_PATH
from mock_server.http.dashboard import EVENT_STREAMS, EventStreams
from tests.support.constants import BASIC_ADMIN as AUTH
from tests.support.dev_server import serving

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
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("AEM_MOCK_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
SCRIPT = "<script>window.pwned = 1; alert('pwned')</script>"


class Server:
    """Calls to ``aem-guides-mock serve --clock manual`` at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

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


@pytest.fixture
def server() -> Iterator[Server]:
    with serving("--clock", "manual") as (_, url, _):
        yield Server(url)


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


def wait_for(driver: webdriver.Chrome, what: str, check: Any, timeout: float = 20) -> Any:
    """Wait until ``check`` holds. A live page replaces its rows with each state it is sent, so an
    element found may be gone by the time it is read: that is a "not yet", not a failure."""
    waiting = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(lambda d: check(d), message=what)


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
    server.start()  # counting takes 100 ms (the default scenario): that is the next transition
    browser.find_element(By.CSS_SELECTOR, 'button[data-to="next"]').click()
    wait_for(browser, "the clock at the next transition", lambda d: server.now() == before + 61_100)
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
    live(browser)
    assert server.call("GET", f"{BASE_PATH}/history?foo=1")[0] == 200  # a warning, after the page loaded
    newer = wait_for(browser, "the newer exchange announced",
                     lambda d: d.find_element(By.ID, "newer") if d.find_element(By.ID, "newer").is_displayed()
                     else None)  # fmt: skip
    assert newer.text == "1 newer exchange(s): show them"
    newer.click()
    warned = "li.warning code"
    wait_for(browser, "the newer exchange shown",
             lambda d: "query:foo" in [e.text for e in d.find_elements(By.CSS_SELECTOR, warned)])  # fmt: skip


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


class InThread:
    """An aiohttp app served on 127.0.0.1 at ``url`` by an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._open())
        started.set()
        self.loop.run_forever()

    def app(self) -> web.Application:
        raise NotImplementedError

    async def _open(self) -> None:
        self.runner = web.AppRunner(self.app(), shutdown_timeout=1.0)  # an event stream may still be open
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def _close(self) -> None:
        await self.runner.cleanup()

    def stop(self) -> None:
        async def close() -> None:
            await self._close()
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in left:  # a stream still being forwarded
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class PrefixProxy(InThread):
    """A reverse proxy that serves the mock under ``/mock/`` (as nginx or a team's gateway would),
    streaming every answer as it comes (the event stream included)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        super().__init__()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/mock/{tail:.*}", self._forward)
        return app

    async def _open(self) -> None:
        await super()._open()
        self.url += "/mock"
        self.session = aiohttp.ClientSession(auto_decompress=False)

    async def _close(self) -> None:
        await self.session.close()
        await super()._close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        target = f"{self.upstream}/{request.match_info['tail']}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        body, query = await request.read(), request.query
        async with self.session.request(
            request.method, target, params=query, headers=headers, data=body, allow_redirects=False
        ) as answer:
            response = web.StreamResponse(status=answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    response.headers.add(name, value)
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response


def test_the_dashboard_works_behind_a_reverse_proxy_under_a_prefix(
    server: Server, browser: webdriver.Chrome
) -> None:
    proxy = PrefixProxy(server.url)
    try:
        browser.get(proxy.url + "/__admin/ui")  # the redirect to ui/ is relative: it keeps the prefix
        live(browser)  # the event stream, through the proxy
        assert browser.current_url == proxy.url + "/__admin/ui/"
        job = server.start()
        wait_for(browser, "the job's row, live through the proxy",
                 lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-id="{job}"]'))  # fmt: skip
        browser.find_element(By.LINK_TEXT, "Scenario and clock").click()
        live(browser)
        before = server.now()
        browser.find_element(By.CSS_SELECTOR, 'button[data-seconds="60"]').click()
        wait_for(browser, "the clock moved through the proxy", lambda d: server.now() == before + 60_000)
        shoot(browser, "scenario-behind-a-proxy")
    finally:
        browser.get("about:blank")  # closes the page's event stream
        proxy.stop()


class SmallMock(InThread):
    """The mock with a manual clock and the event streams' limits given, in a thread of its own."""

    def __init__(self, **limits: Any) -> None:
        self.limits = limits
        super().__init__()

    def app(self) -> web.Application:
        app = create_app(clock=ManualClock())
        app[EVENT_STREAMS] = EventStreams(**self.limits)
        return app


def test_a_tab_with_no_place_says_so_and_comes_back_when_one_is_free(browser: webdriver.Chrome) -> None:
    """The server answers a tab beyond the slots with a 200 stream that says so and sets when to
    retry: the page shows why it is not live, and the browser reconnects by itself."""
    mock = SmallMock(slots=1, busy_retry_ms=300)
    holder = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(mock.url).port, timeout=10)
    try:
        holder.request("GET", "/__admin/events")  # another tab holds the one place
        assert holder.getresponse().readline() == b"retry: 2000\n"
        browser.get(mock.url + "/__admin/ui/")
        wait_for(browser, "the page to say it waits",
                 lambda d: d.find_element(By.ID, "live").text == "waiting for a place")  # fmt: skip
        assert "1 event streams are open already" in browser.find_element(By.ID, "message").text
        shoot(browser, "jobs-waiting-for-a-place")
        holder.close()  # that tab is closed: the browser's next try gets the place
        live(browser)
        assert browser.find_element(By.ID, "message").text == ""
    finally:
        holder.close()
        browser.get("about:blank")  # closes the page's event stream
        mock.stop()


RESET = """
const [url, mode, done] = arguments;
fetch(url, {method: "POST", mode: mode, headers: {"Content-Type": "text/plain"}, body: "{}"})
  .then((answer) => done(answer.type === "opaque" ? "sent" : answer.status), (error) => done(String(error)));
"""


FORM = """
const form = document.createElement("form");
Object.assign(form, {method: "POST", enctype: "text/plain", action: arguments[0]});
document.body.appendChild(form);
form.submit();
"""


class OtherSite(InThread):
    """A page of another origin on this machine (another port), with no CSP of the mock's."""

    def app(self) -> web.Application:
        async def page(request: web.Request) -> web.Response:
            return web.Response(
                text="<!doctype html><title>another site</title><p>hello</p>", content_type="text/html"
            )

        app = web.Application()
        app.router.add_get("/", page)
        return app


def test_a_page_of_another_origin_cannot_change_the_mock(server: Server, browser: webdriver.Chrome) -> None:
    """What Chromium sends for a page on another port of this machine is refused, by fetch or by a
    form; the same request from the mock's own page is served."""
    other = OtherSite()
    try:
        server.start()
        browser.get(other.url + "/")
        assert browser.execute_async_script(RESET, server.url + "/__admin/reset", "no-cors") == "sent"
        browser.execute_script(FORM, server.url + "/__admin/reset")
        wait_for(browser, "the form's answer", lambda d: d.current_url == server.url + "/__admin/reset")
        assert "Sec-Fetch-Site is 'same-site'" in browser.find_element(By.TAG_NAME, "body").text
        assert len(server.call("GET", "/__admin/jobs", api=False)[1]["jobs"]) == 1  # nothing was reset
        browser.get(server.url + "/__admin/ui/")
        assert browser.execute_async_script(RESET, server.url + "/__admin/reset", "same-origin") == 200
        assert server.call("GET", "/__admin/jobs", api=False)[1]["jobs"] == []
    finally:
        browser.get("about:blank")
        other.stop()


def test_the_sessions_page_lists_two_sessions_and_delete_removes_one(
    server: Server, browser: webdriver.Chrome
) -> None:
    assert server.call("POST", "/__admin/sessions", {"name": "team-a"}, api=False)[0] == 201
    assert server.call("POST", "/__admin/sessions", {"name": "team-b"}, api=False)[0] == 201
    browser.get(server.url + "/__admin/ui/sessions")
    names = "#sessions-body tr"
    wait_for(browser, "the three sessions",
             lambda d: [r.get_attribute("data-name") for r in d.find_elements(By.CSS_SELECTOR, names)]
             == ["default", "team-a", "team-b"])  # fmt: skip
    delete = 'button[data-action="session-delete"][data-name="{}"]'  # the rows are redrawn every 2 s:
    wait_for(
        browser,
        "the default session's Delete disabled",  # a row found may be gone when read
        lambda d: not d.find_element(By.CSS_SELECTOR, delete.format("default")).is_enabled(),
    )
    wait_for(browser, "Delete on team-a clicked",
             lambda d: d.find_element(By.CSS_SELECTOR, delete.format("team-a")).click() or True)  # fmt: skip
    wait_for(browser, "team-a gone from the page",
             lambda d: [r.get_attribute("data-name") for r in d.find_elements(By.CSS_SELECTOR, names)]
             == ["default", "team-b"])  # fmt: skip
    listed = server.call("GET", "/__admin/sessions", api=False)[1]["sessions"]
    assert [s["name"] for s in listed] == ["default", "team-b"]
    shoot(browser, "sessions")
    wait_for(browser, "the link to team-b's dashboard followed",
             lambda d: d.find_element(By.LINK_TEXT, "team-b").click() or True)  # fmt: skip
    live(browser)
    assert browser.current_url == server.url + "/sessions/team-b/__admin/ui/"
    assert browser.find_element(By.ID, "session-name").text == "team-b"


def test_the_start_form_starts_a_job_and_its_progress_bar_shows(
    server: Server, browser: webdriver.Chrome
) -> None:
    browser.get(server.url + "/__admin/ui/")
    live(browser)
    path = browser.find_element(By.CSS_SELECTOR, '#start-form input[name="path"]')
    path.clear()
    path.send_keys("/content/dam")
    browser.find_element(By.CSS_SELECTOR, '#start-form input[name="fileTypes"]').send_keys(
        "DITAMAP, DITATOPIC"
    )
    browser.find_element(By.CSS_SELECTOR, '#start-form button[type="submit"]').click()
    rows = "#jobs-body tr"
    wait_for(browser, "the started job's row", lambda d: d.find_elements(By.CSS_SELECTOR, rows))
    (job,) = server.call("GET", "/__admin/jobs", api=False)[1]["jobs"]
    assert job["path"] == "/content/dam" and job["filter"]["fileTypes"] == ["DITAMAP", "DITATOPIC"]
    server.call("POST", "/__admin/clock/advance", {"seconds": 3}, api=False)  # counted, some assets done
    bar = wait_for(browser, "a progress bar", lambda d: d.find_elements(By.CSS_SELECTOR, f"{rows} progress"))
    assert int(bar[0].get_attribute("max")) > 0 and int(bar[0].get_attribute("value")) > 0
    assert browser.find_element(By.CSS_SELECTOR, 'button[data-action="cancel"]').is_enabled()  # running
    shoot(browser, "jobs-started-from-the-form")


def test_cancel_is_disabled_on_a_success_job(server: Server, browser: webdriver.Chrome) -> None:
    job = server.start()
    server.call("POST", "/__admin/clock/advance", {"seconds": 60}, api=False)
    for url in ("/__admin/ui/", f"/__admin/ui/jobs/{job}"):
        browser.get(server.url + url)
        live(browser)
        wait_for(browser, "SUCCESS", lambda d: "SUCCESS" in d.find_element(By.TAG_NAME, "main").text)
        cancel = browser.find_element(By.CSS_SELECTOR, 'button[data-action="cancel"]')
        resume = browser.find_element(By.CSS_SELECTOR, 'button[data-action="resume"]')
        assert not cancel.is_enabled() and not resume.is_enabled()
    shoot(browser, "job-success")


def test_the_exchange_page_shows_headers_with_authorization_masked(
    server: Server, browser: webdriver.Chrome
) -> None:
    job = server.start()
    browser.get(server.url + "/__admin/ui/journal")
    browser.find_element(By.CSS_SELECTOR, '#journal a[href^="exchanges/"]').click()
    headers = browser.find_element(By.ID, "request-headers").text
    assert "Authorization Basic [redacted]" in headers and AUTH.split()[1] not in browser.page_source
    assert "Content-Type application/json" in headers
    assert '"path": "/content/dam/22858"' in browser.find_element(By.ID, "request-body").text
    assert job in browser.find_element(By.ID, "response-body").text
    shoot(browser, "exchange")
