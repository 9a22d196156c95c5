"""The dashboard without a browser: each page's HTML, its headers and guard, the admin routes its
buttons call, and the event stream, over a real socket."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import signal
import time
import urllib.parse
import urllib.request
from typing import Any

import aiohttp
import pytest

from mock_server import Settings
from mock_server.api.operations import BASE_PATH
from mock_server.core.job import StartRequest
from mock_server.http.dashboard import EventStreams
from mock_server.http.dashboard_pages import MAX_JOURNAL_ROWS
from tests.support.client import ApiClient, MakeApi
from tests.support.dev_server import serving

UI = "/__admin/ui/"
SLOTS = EventStreams().slots
SCRIPT = "<script>alert('pwned')</script>"


async def page(api: ApiClient, path: str, **params: str) -> tuple[str, Any]:
    async with api.http.get(path, params=params) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.text(), answer.headers


def assert_safe_page(text: str, headers: Any) -> None:
    """A page of ours: HTML, under the CSP, with relative links only and no inline script."""
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', text):
        assert not url.startswith(("/", "http:", "https:", "//")), url
    assert re.findall(r"<script[^>]*>", text) == [re.search(r'<script src="[^"]*app\.js" defer>', text)[0]]  # type: ignore[index]


async def test_the_jobs_page_lists_each_job_with_its_status(api: ApiClient) -> None:
    empty, headers = await page(api, UI)
    assert_safe_page(empty, headers)
    assert "No jobs yet" in empty and '<b id="scenario-name">default</b>' in empty
    job = await api.start()
    await api.advance(60)
    text, _ = await page(api, UI)
    assert f'<tr data-id="{job}">' in text and f'href="jobs/{job}"' in text
    assert '<td class="status SUCCESS">SUCCESS</td>' in text


async def test_the_jobs_page_holds_the_newest_200_and_counts_the_rest(api: ApiClient) -> None:
    for _ in range(205):
        api.mock.engine.start(StartRequest("/content/dam/22858"), "admin")
        await api.advance(60)
    text, _ = await page(api, UI)
    assert text.count("<tr data-id=") == 200 and "5 older job(s) not shown" in text
    newest = api.mock.engine.jobs()[-1].processing_id
    assert text.index(newest) < text.index("<tr data-id=", text.index(newest) + 1)  # newest first
    assert "<th>started</th><th>completed</th><th>createdBy</th>" in text
    assert re.search(
        r"<td>\d{4}-[^<]* UTC</td><td>\d{4}-[^<]* UTC</td><td>admin</td><td><button", text
    )  # cells in that order


async def test_a_job_page_shows_the_job_as_of_now(api: ApiClient) -> None:
    job = await api.start()
    await api.advance(60)  # nobody polled: the page itself brings the job up to the clock
    text, _ = await page(api, f"{UI}jobs/{job}")
    assert '<td data-field="status">SUCCESS</td>' in text and "Bulk processing job completed" in text


async def test_the_ui_path_without_a_slash_redirects_relatively(api: ApiClient) -> None:
    async with api.http.get("/__admin/ui", allow_redirects=False) as answer:
        assert answer.status == 302 and answer.headers["Location"] == "ui/"


async def test_a_job_page_pages_its_log_and_links_the_zip(api: ApiClient) -> None:
    job = await api.start()
    await api.advance(60)
    lines = (await api.logs(job))["lines"]
    text, headers = await page(api, f"{UI}jobs/{job}", offset="2", limit="3")
    assert_safe_page(text, headers)
    assert f"lines 3 to 5 of {len(lines)}" in text
    assert "\n".join(lines[2:5]).replace("'", "&#x27;") in text
    assert f'href="{job}?offset=0&amp;limit=3">previous</a>' in text and ">next</a>" in text
    assert f'href="../../jobs/{job}/download"' in text and 'data-action="cancel"' in text
    query = {"processingId": job}
    async with (
        api.http.get(f"/__admin/jobs/{job}/download") as admin_zip,
        api.http.get(f"{BASE_PATH}/logs/download", params=query, headers=api.headers) as api_zip,
    ):
        assert admin_zip.content_type == "application/zip"
        assert await admin_zip.read() == await api_zip.read()
    async with api.http.get(f"{UI}jobs/no-such-job") as missing:
        assert missing.status == 404


async def test_a_script_sent_by_a_client_is_shown_escaped_never_as_markup(api: ApiClient) -> None:
    status, _ = await api.post(BASE_PATH, {"path": SCRIPT, "type": "ASSET_PROCESSING", SCRIPT: 1})
    assert status == 400
    text, _ = await page(api, f"{UI}journal")
    assert SCRIPT not in text and "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in text


async def test_the_journal_shows_pointers_and_filters(api: ApiClient) -> None:
    await api.start()
    await api.post(BASE_PATH, {"path": "/content/dam/x", "type": "ASSET_PROCESSING", "excludePaths": []})
    await api.get(f"{BASE_PATH}/history", foo="1")  # served with a warning
    text, headers = await page(api, f"{UI}journal")
    assert_safe_page(text, headers)
    assert '<li class="error"><code>body:/excludePaths</code>' in text
    assert '<li class="warning"><code>query:foo</code>' in text
    assert text.index("/history?foo=1") < text.index("excludePaths") < text.rindex("<td>start</td>")
    errors, _ = await page(api, f"{UI}journal", severity="error")
    assert "excludePaths" in errors and "query:foo" not in errors and errors.count("<tr><td>") == 1
    started, _ = await page(api, f"{UI}journal", operation="start", status="2xx")
    assert started.count("<tr><td>") == 1 and '<td class="code">200</td>' in started
    assert "excludePaths" not in started and "/history" not in started
    assert '<option value="start" selected>' in started


async def test_the_journal_page_holds_a_bounded_number_of_rows(make_api: MakeApi) -> None:
    api = await make_api(Settings(journal_size=MAX_JOURNAL_ROWS + 50))
    for _ in range(MAX_JOURNAL_ROWS + 20):
        await api.get(f"{BASE_PATH}/history")
    text, _ = await page(api, f"{UI}journal")
    assert text.count("<tr><td>") == MAX_JOURNAL_ROWS
    assert f"{MAX_JOURNAL_ROWS} of {MAX_JOURNAL_ROWS + 20} matching exchange(s) shown" in text


async def test_the_scenario_page_shows_settings_faults_and_the_clock(make_api: MakeApi) -> None:
    api = await make_api(scenario="flaky-status")
    text, headers = await page(api, f"{UI}scenario")
    assert_safe_page(text, headers)
    assert "flaky-status" in text
    assert '<ul id="faults"><li>status: load balancer busy, status 503, every 3rd call</li>' in text
    assert "<li>status: internal error, status 500, with probability 0.1 (seeded)</li>" in text
    assert "<th>users</th><td>(set; not shown)</td>" in text and "admin:admin" not in text
    assert 'data-to="next">' in text and " disabled" not in text  # the test's clock is manual
    real = await make_api(clock_name="real")
    text, _ = await page(real, f"{UI}scenario")
    assert 'data-seconds="1" disabled>' in text and "--clock manual" in text


async def test_the_clock_moves_to_the_next_transition(api: ApiClient) -> None:
    status, body = await api.admin("POST", "/clock/advance", json={"to": "next"})
    assert status == 409 and "start a job first" in body["message"]
    job = await api.start()
    seen = []
    for _ in range(4):
        status, body = await api.admin("POST", "/clock/advance", json={"to": "next"})
        if status != 200:
            break
        seen.append((await api.status(job))["status"])
    assert seen[0] == "IN_PROGRESS" and seen[-1] == "SUCCESS" and status in (200, 409)
    before = api.clock.now_ms()
    assert (await api.admin("POST", "/clock/advance", json={"to": "next"}))[0] == 409
    assert api.clock.now_ms() == before


async def test_a_next_transition_past_the_clocks_end_is_refused_not_a_500(make_api: MakeApi) -> None:
    api = await make_api(Settings(per_asset_ms=10**16))
    await api.start()
    assert (await api.admin("POST", "/clock/advance", json={"to": "next"}))[0] == 200  # counted
    before = api.clock.now_ms()
    status, body = await api.admin("POST", "/clock/advance", json={"to": "next"})
    assert status == 409 and "cannot be reached" in body["message"] and api.clock.now_ms() == before


async def test_an_admin_body_not_encoded_as_it_says_is_a_400(api: ApiClient) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for method, path in (("POST", "/clock/advance"), ("PUT", "/scenario")):
        status, body = await api.admin(method, path, data=b'{"seconds": 1}', headers=headers)
        assert status == 400 and "Content-Encoding" in body["message"]


async def test_cancel_and_resume_through_the_admin_api(api: ApiClient) -> None:
    job = await api.start("/content/dam")
    await api.advance(3)
    status, body = await api.admin("POST", f"/jobs/{job}/cancel")
    assert status == 200 and body["status"] == "CANCELLED"
    status, body = await api.admin("POST", f"/jobs/{job}/cancel")
    assert status == 409 and body["message"]
    status, body = await api.admin("POST", f"/jobs/{job}/resume")
    assert status == 200 and body["status"] in ("WAITING", "IN_PROGRESS")
    assert (await api.admin("POST", "/jobs/nope/resume"))[0] == 404
    status, body = await api.admin("GET", f"/jobs/{job}/logs", params={"offset": "1", "limit": "2"})
    assert status == 200 and len(body["lines"]) == 2 and body["offset"] == 1 and body["total"] > 2
    assert (await api.admin("GET", f"/jobs/{job}/logs", params={"limit": "5000"}))[0] == 400


async def test_the_pages_keep_the_admin_guard(make_api: MakeApi) -> None:
    api = await make_api()
    async with api.http.get(UI, headers={"Host": "evil.example"}) as answer:
        assert answer.status == 403
    guarded = await make_api(Settings(admin_token="s3cret-token"))
    async with guarded.http.get(UI) as answer:
        assert answer.status == 401
    async with guarded.http.get(UI, headers={"X-Admin-Token": "s3cret-token"}) as answer:
        assert answer.status == 200


async def read_event(stream: aiohttp.StreamReader, wanted: str = "state") -> dict[str, Any]:
    """The next ``wanted`` event's data."""
    event = None
    while True:
        line = (await asyncio.wait_for(stream.readline(), 5)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == wanted:
            return dict(json.loads(line[6:]))


async def test_the_event_stream_sends_each_change(api: ApiClient) -> None:
    async with api.http.get("/__admin/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        first = await read_event(stream.content)
        assert first["jobs"] == [] and first["scenario"] == "default"
        job = await api.start()
        assert [j["processingId"] for j in (await read_event(stream.content))["jobs"]] == [job]
        await api.advance(60)
        assert (await read_event(stream.content))["jobs"][0]["status"] == "SUCCESS"
        await api.admin("PUT", "/scenario", json={"name": "database-backend"})
        after = await read_event(stream.content)
        assert after["scenario"] == "database-backend" and after["jobs"] == []


async def test_event_streams_are_capped_and_end_at_shutdown(api: ApiClient) -> None:
    streams = [await api.http.get("/__admin/events") for _ in range(SLOTS)]
    for stream in streams:
        await read_event(stream.content)
    async with api.http.get("/__admin/events") as refused:  # told to come back, as a browser can be
        assert refused.status == 200 and refused.headers["Content-Type"] == "text/event-stream"
        assert f"{SLOTS} event streams are open" in (await read_event(refused.content, "busy"))["message"]
    streams.pop().close()
    deadline = time.monotonic() + 5  # the server notices the closed one at its next tick
    while True:
        again = await api.http.get("/__admin/events")
        if (await again.content.readline(), await again.content.readline()) == (b"retry: 2000\n", b"\n"):
            break  # a stream of its own, not the busy answer
        again.close()
        assert time.monotonic() < deadline, "the closed stream still holds its place"
        await asyncio.sleep(0.05)
    await api.http.app.shutdown()  # what a SIGTERM runs: every stream ends
    for stream in [*streams, again]:
        await asyncio.wait_for(stream.content.read(), 5)  # returns once the stream has ended
        assert stream.content.at_eof()
        stream.close()


@pytest.mark.parametrize("path", ["app.js", "app.css", "favicon.svg"])
async def test_the_assets_are_served_with_the_csp(api: ApiClient, path: str) -> None:
    async with api.http.get(UI + path) as answer:
        assert answer.status == 200 and "default-src 'self'" in answer.headers["Content-Security-Policy"]
        text = await answer.text()
    xml_namespace = 'xmlns="http://www.w3.org/2000/svg"'  # a name, never fetched
    assert "http" not in text.replace(xml_namespace, "")  # no CDN, no absolute URL
    if path == "app.js":
        assert "innerHTML" not in text and "eval(" not in text


def test_a_closed_tab_frees_its_event_stream_at_once_on_the_dev_server() -> None:
    """The dev server keeps a handler running when its client goes (unlike aiohttp's test server):
    the stream must notice on its own, not at its next heartbeat 15 s later."""
    connections: list[http.client.HTTPConnection] = []
    with serving("--clock", "manual") as (_, base, _):
        url = urllib.parse.urlsplit(base)

        def open_stream() -> str:
            """The first event of a new stream: ``state``, or ``busy`` when every place is taken."""
            connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
            connections.append(connection)
            connection.request("GET", "/__admin/events")
            answer = connection.getresponse()
            assert answer.status == 200
            while not (line := answer.readline().decode()).startswith("event: "):
                pass
            return line.removeprefix("event: ").strip()

        try:
            assert [open_stream() for _ in range(SLOTS)] == ["state"] * SLOTS
            assert open_stream() == "busy"
            connections[0].close()  # a tab closed
            began = time.monotonic()
            while open_stream() != "state":
                assert time.monotonic() - began < 3, "the closed tab's stream still holds its place"
                time.sleep(0.1)
        finally:
            for connection in connections:
                connection.close()


def test_sigterm_stops_the_dev_server_within_5_s_with_a_dashboard_open() -> None:
    with serving() as (server, base, _):
        url = urllib.parse.urlsplit(base)
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        connection.request("GET", "/__admin/events")
        stream = connection.getresponse()
        assert stream.status == 200 and stream.readline() == b"retry: 2000\n"
        with urllib.request.urlopen(f"{url.scheme}://{url.netloc}{UI}", timeout=10) as shown:
            assert shown.status == 200  # and the page itself was served meanwhile
        began = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(5) == 0
        assert time.monotonic() - began < 5
        stream.read()  # the stream ended: read() returns instead of waiting for the next event
        stream.close()
        connection.close()
