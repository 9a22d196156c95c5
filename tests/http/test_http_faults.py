"""Black-box: injected faults as a client meets them on the wire."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from mock_server.api.operations import BASE_PATH
from tests.support.client import ApiClient

STATUS = f"{BASE_PATH}/status"


async def load(api: ApiClient, yaml_text: str) -> None:
    status, body = await api.admin(
        "PUT",
        "/scenario",
        data="description: faults\n" + yaml_text,
        headers={"Content-Type": "application/yaml"},
    )
    assert status == 200, body


async def test_a_status_fault_with_retry_after_and_the_default_body(api: ApiClient) -> None:
    await load(api, "faults: [{endpoint: history, when: {nth: 1}, status: 429, retry_after: 7}]\n")
    async with api.http.get(f"{BASE_PATH}/history", headers=api.headers) as response:
        assert response.status == 429 and response.headers["Retry-After"] == "7"
        body = await response.json()
    assert body["status"] == 429 and body["message"] == "injected fault: status 429"
    assert (await api.history()) == []  # the 2nd call is served
    (first, second) = list(api.mock.journal)
    assert first.fault == "status 429" and second.fault is None
    assert not first.request_violations  # a fault is not the client's fault


async def test_a_custom_body(api: ApiClient) -> None:
    await load(api, 'faults: [{endpoint: history, status: 502, body: "<html>Bad Gateway</html>"}]\n')
    status, body = await api.get(f"{BASE_PATH}/history")
    assert status == 502 and body == "<html>Bad Gateway</html>"


async def test_a_malformed_body_is_cut_off_json(api: ApiClient) -> None:
    await load(api, "faults: [{endpoint: start, malformed: true}]\n")
    async with api.http.post(
        BASE_PATH, json={"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}, headers=api.headers
    ) as response:
        assert response.status == 200
        text = await response.text()
    assert text.startswith('{"processingId":')
    with pytest.raises(json.JSONDecodeError, match=r"Unterminated|Expecting"):
        json.loads(text)
    assert len(api.mock.engine.jobs()) == 1  # the server did the work; only the answer was garbled


async def test_latency_delays_the_answer(api: ApiClient) -> None:
    await load(api, "faults: [{endpoint: history, latency: 150ms}]\n")
    began = time.monotonic()
    assert await api.history() == []
    assert time.monotonic() - began >= 0.14


@pytest.mark.parametrize("mode", ["reset", "close"])
async def test_the_connection_is_dropped(api: ApiClient, mode: str) -> None:
    await load(api, f"faults: [{{endpoint: history, when: {{nth: 1}}, connection: {mode}}}]\n")
    with pytest.raises(aiohttp.ClientError):
        async with api.http.get(f"{BASE_PATH}/history", headers=api.headers) as response:
            await response.read()
    assert await api.history() == []  # the server serves on
    assert next(iter(api.mock.journal)).status == 0  # dropped: no status was sent


async def test_job_script_faults_hit_only_that_job(api: ApiClient) -> None:
    await load(
        api,
        "jobs:\n  - match: {path: /content/dam/demo}\n    faults: [{endpoint: status, status: 500}]\n",
    )
    scripted = await api.start("/content/dam/demo")
    plain = await api.start("/content/dam/22858")
    status, _ = await api.get(STATUS, processingId=scripted)
    assert status == 500
    assert (await api.status(plain))["processingId"] == plain


async def malformed_download(api: ApiClient) -> bytes:
    """Download a finished job's log with a malformed-body fault loaded."""
    await load(api, "faults: [{endpoint: download, malformed: true}]\n")
    pid = await api.start("/content/dam/22858")
    await api.advance(2)
    params = {"processingId": pid}
    async with api.http.get(f"{BASE_PATH}/logs/download", params=params, headers=api.headers) as response:
        return await response.read()


async def test_a_malformed_download_is_a_cut_off_zip(api: ApiClient) -> None:
    import io
    import zipfile

    data = await malformed_download(api)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(data))


async def test_an_injected_401_names_the_configured_realm(api: ApiClient) -> None:
    await load(api, "settings: {realm: Cloud}\nfaults: [{endpoint: history, status: 401}]\n")
    async with api.http.get(f"{BASE_PATH}/history", headers=api.headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Cloud"'


async def test_a_malformed_download_is_journaled_with_its_fault(api: ApiClient) -> None:
    await malformed_download(api)
    assert list(api.mock.journal)[-1].fault == "malformed body"


def test_a_rate_limit_answers_406_with_retry_after_and_lets_the_client_back_after_its_penalty() -> None:
    """Over a socket, on the manual clock: a client backing off is tested without sleeping."""
    import json
    import urllib.error
    import urllib.request

    from mock_server import MockServer

    scenario = """description: a CDN rate limit on status polls
faults:
  - endpoint: status
    when: {rate_limit: {limit: 2, window: 1s, penalty: 30s}}
    retry_after: 30
"""
    with MockServer(scenario) as server:
        start = urllib.request.Request(
            server.base_url,
            data=json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode(),
            headers={**server.headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(start) as answer:
            poll = f"{server.base_url}/status?processingId={json.load(answer)['processingId']}"

        def status() -> tuple[int, str | None]:
            try:
                with urllib.request.urlopen(urllib.request.Request(poll, headers=server.headers)) as answer:
                    return answer.status, None
            except urllib.error.HTTPError as refused:
                return refused.code, refused.headers.get("Retry-After")

        assert [status() for _ in range(3)] == [(200, None), (200, None), (406, "30")]
        import http.client

        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        other = http.client.HTTPConnection(host, int(port), timeout=10, source_address=("127.0.0.2", 0))
        other.request("GET", poll.removeprefix(server.url), headers=server.headers)
        assert other.getresponse().status == 200  # another address is counted apart
        other.close()
        server.advance(29)
        assert status() == (406, "30")
        server.advance(2)
        assert status() == (200, None)
        assert server.journal[-2].fault == "rate limit, status 406"
