"""Black-box, over a real socket: a request that changes the mock through the admin API must prove it
was not sent for a page of another origin (``mock_server/http/origins.py``); curl and other clients
that are not browsers need no proof, and a valid ``X-Admin-Token`` is proof enough."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from mock_server import Settings
from tests.support.client import ApiClient, MakeApi

TOKEN = "s3cret-admin-token"


async def reset(api: ApiClient, headers: dict[str, str], **kwargs: Any) -> tuple[int, Any]:
    """POST /__admin/reset with ``headers``, with a job to forget: refused, the job stays."""
    if not api.mock.engine.jobs():
        await api.start()
    status, body = await api.admin("POST", "/reset", headers=headers, **kwargs)
    kept = bool(api.mock.engine.jobs())
    assert kept == (status != 200), (status, body)  # refused: nothing changed; accepted: reset
    return status, body


def own(api: ApiClient) -> str:
    return f"http://127.0.0.1:{api.http.port}"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="neither header: curl, Python, Java, the fixtures"),
        pytest.param({"Origin": "{own}"}, id="the server's own origin"),
        pytest.param({"Origin": "{own}", "Sec-Fetch-Site": "same-origin"}, id="a browser, same origin"),
        pytest.param(
            {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-origin"},
            id="a browser behind a reverse proxy that rewrites Host",
        ),
        pytest.param({"Sec-Fetch-Site": "none"}, id="the user's own action"),
    ],
)
async def test_a_same_origin_or_non_browser_request_is_accepted(
    api: ApiClient, headers: dict[str, str]
) -> None:
    status, body = await reset(api, {k: v.format(own=own(api)) for k, v in headers.items()})
    assert status == 200, body


@pytest.mark.parametrize(
    ("headers", "header", "why"),
    [
        ({"Origin": "http://localhost:3000"}, "Origin", "not this server's own origin"),
        ({"Origin": "http://foo.localhost:{port}"}, "Origin", "not this server's own origin"),
        ({"Origin": "http://localhost:{port}"}, "Origin", "another port or name counts"),
        ({"Origin": "https://127.0.0.1:{port}"}, "Origin", "not this server's own origin"),
        ({"Origin": "{own}/dashboard"}, "Origin", "not a page served from this machine"),
        ({"Origin": "null"}, "Origin 'null'", "not a page served from this machine"),
        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site is 'cross-site'", "a page of another origin"),
        (
            {"Sec-Fetch-Site": "same-site", "Origin": "{own}"},
            "Sec-Fetch-Site is 'same-site'",
            "another origin",
        ),
        ({"Sec-Fetch-Site": "nearby"}, "Sec-Fetch-Site 'nearby'", "is not one of same-origin"),
    ],
)
async def test_a_request_from_a_page_of_another_origin_is_refused_naming_the_header(
    api: ApiClient, headers: dict[str, str], header: str, why: str
) -> None:
    sent = {k: v.format(own=own(api), port=api.http.port) for k, v in headers.items()}
    status, body = await reset(api, sent)
    assert status == 403 and body["message"].startswith("admin request refused: "), body
    assert f"the header {header}" in body["message"] and why in body["message"], body["message"]


async def test_every_method_that_changes_something_asks_for_the_proof(api: ApiClient) -> None:
    job, before = await api.start(), api.clock.now_ms()
    cross = {"Sec-Fetch-Site": "cross-site"}
    for method, path, kwargs in (
        ("PUT", "/scenario", {"json": {"name": "flaky-status"}}),
        ("POST", "/clock/advance", {"json": {"seconds": 5}}),
        ("POST", f"/jobs/{job}/cancel", {}),
        ("DELETE", "/journal", {}),  # no such route: refused before it is looked for
    ):
        status, body = await api.admin(method, path, headers=cross, **kwargs)
        assert status == 403 and "Sec-Fetch-Site" in body["message"], (method, path, body)
    assert api.mock.scenario.name == "default" and api.clock.now_ms() == before
    assert (await api.status(job))["status"] != "CANCELLED"


async def test_reading_stays_as_it_was(api: ApiClient) -> None:
    """A page cannot read an answer of another origin (CORS): GETs need no proof, but still a
    loopback Host and, when they have one, a loopback Origin."""
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://localhost:3000"}):
        assert (await api.admin("GET", "/journal", headers=headers))[0] == 200
    status, body = await api.admin("GET", "/journal", headers={"Origin": "http://evil.example"})
    assert status == 403 and "evil.example" in body["message"]


async def test_a_form_body_without_either_header_is_accepted_as_curl_sends_it(api: ApiClient) -> None:
    """The chosen policy (origins.py's docstring): curl -d, urllib and HttpURLConnection label a
    body application/x-www-form-urlencoded; a browser would have sent Origin or Sec-Fetch-Site."""
    for content_type in (
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ):
        status, body = await api.admin("POST", "/clock/advance", data=b'{"seconds": 1}',
                                       headers={"Content-Type": content_type})  # fmt: skip
        assert status == 200, body


async def test_the_admin_token_is_proof_enough(make_api: MakeApi) -> None:
    api = await make_api(Settings(admin_token=TOKEN))
    cross = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    status, _ = await reset(api, cross)
    assert status == 401  # without the token: not even looked at
    status, body = await reset(api, {**cross, "X-Admin-Token": TOKEN})
    assert status == 200, body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_banners_and_the_readmes_curl_lines_work(api: ApiClient) -> None:
    base = f"{own(api)}/__admin"

    async def curl(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "curl", "--silent", "--show-error", "--max-time", "10", "--write-out", " %{http_code}", *args,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
        return out.decode()

    before = api.clock.now_ms()
    banner = (
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"seconds": 5}',
        f"{base}/clock/advance",
    )
    assert (await curl(*banner)).endswith(" 200") and api.clock.now_ms() == before + 5000
    assert (await curl("-d", '{"seconds": 5}', f"{base}/clock/advance")).endswith(" 200")  # no -H: fine too
    await api.start()
    assert (await curl("-X", "POST", f"{base}/reset")).endswith(" 200") and not api.mock.engine.jobs()
    refused = await curl("-X", "POST", "-H", "Origin: http://localhost:3000", f"{base}/reset")
    assert refused.endswith(" 403") and "Origin" in refused


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost", "http://localhost:80"),
        ("localhost:80", "http://localhost"),
        ("LocalHost.", "http://localhost."),
    ],
)
async def test_one_origin_written_two_ways_is_one_origin(api: ApiClient, host: str, origin: str) -> None:
    """A browser leaves out the default port and writes the host in lowercase; a Host need not."""
    status, body = await reset(api, {"Host": host, "Origin": origin})
    assert status == 200, body
