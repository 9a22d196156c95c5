"""The validating proxy over real sockets: in front of the mock, of tiny fake authors, of nothing;
and the ``proxy`` command as a user runs it."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import logging
import secrets
import socket
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mock_server import MockServer, create_app
from mock_server.api.operations import BASE_PATH
from mock_server.http.proxy import proxy_app
from mock_server.recording.tape import REDACTED, Recorder, SecretLeaked
from tests.support.client import MakeClient, MakeServer
from tests.support.dev_server import ready_url, stopped_output
from tests.support.proxy import FakeAuthor, proxy_on_socket, raw_exchange, status_of

#: How long a test waits for an answer: a body cut short fails the test instead of hanging it.
PATIENCE = aiohttp.ClientTimeout(total=5)
START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def url_of(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


def tape_lines(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "tape.jsonl").read_text("utf-8").splitlines()]


async def test_a_job_through_the_proxy_arrives_unchanged_and_is_taped(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    password = secrets.token_hex(8)  # not admin:admin: `createdBy: admin` would leak that password
    mock = await aiohttp_server(create_app(overrides={"users": {"admin": password}}))
    recorder = Recorder(tmp_path / "tape", url_of(mock))
    proxy = await aiohttp_client(proxy_app(url_of(mock), recorder=recorder), timeout=PATIENCE)
    auth = {"Authorization": basic("admin", password)}
    async with aiohttp.ClientSession(headers=auth, timeout=PATIENCE) as direct:

        async def both(path: str, **params: str) -> bytes:
            """The proxy's answer, checked to be the mock's own, byte for byte, headers too."""
            async with proxy.get(path, params=params, headers=auth) as through:
                via_proxy, proxied_headers = await through.read(), through.headers
            async with direct.get(mock.make_url(path), params=params) as answer:
                assert await answer.read() == via_proxy
                for name in ("Content-Type", "Content-Disposition", "Content-Length"):
                    assert proxied_headers.get(name) == answer.headers.get(name), name
            return via_proxy

        async with proxy.post(BASE_PATH, json=START, headers=auth) as started:
            assert started.status == 200
            job_id = (await started.json())["processingId"]
        async with proxy.get(f"{BASE_PATH}/status", params={"processingId": job_id}, headers=auth) as polled:
            assert (await polled.json())["status"] in ("WAITING", "IN_PROGRESS")
        async with direct.post(mock.make_url("/__admin/clock/advance"), json={"seconds": 5}) as moved:
            assert moved.status == 200
        assert json.loads(await both(f"{BASE_PATH}/status", processingId=job_id))["status"] == "SUCCESS"
        logs = json.loads(await both(f"{BASE_PATH}/logs", processingId=job_id))
        archive = await both(f"{BASE_PATH}/logs/download", processingId=job_id)
        history = json.loads(await both(f"{BASE_PATH}/history"))
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        assert zipped.read(f"{job_id}.log").decode().splitlines() == logs["lines"]
    await proxy.close()
    recorder.close()
    header, *exchanges = tape_lines(tmp_path / "tape")
    assert header == {"tape": "aem-guides-mock", "version": 1, "upstream": url_of(mock)}
    operations = ["start", "status", "status", "logs", "download", "history"]
    assert [line["operation"] for line in exchanges] == operations
    times = [line["at_ms"] for line in exchanges]
    assert times[0] == 0 and times == sorted(times) and times[-1] < 10_000
    assert exchanges[0]["request"]["body"] == START
    assert exchanges[0]["request"]["headers"]["authorization"] == REDACTED
    assert exchanges[2]["request"]["query"] == f"processingId={job_id}"
    assert exchanges[3]["response"]["body"] == logs and exchanges[5]["response"]["body"] == history
    download = exchanges[4]["response"]
    assert download["status"] == 200 and download["body"] is None
    with zipfile.ZipFile(tmp_path / "tape" / download["body_file"]) as taped:
        assert taped.namelist() == [f"{job_id}.log"]
    assert download["headers"]["content-disposition"] == f'attachment; filename="{job_id}.zip"'


async def test_a_recording_that_reaches_its_cap_says_so_once_when_it_stops(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = secrets.token_hex(8)
    mock = await aiohttp_server(create_app(overrides={"users": {"admin": password}}))
    recorder = Recorder(tmp_path / "tape", url_of(mock), max_tape_bytes=700)
    proxy = await aiohttp_client(proxy_app(url_of(mock), recorder=recorder), timeout=PATIENCE)
    auth = {"Authorization": basic("admin", password)}
    for _ in range(4):
        async with proxy.get(f"{BASE_PATH}/history", headers=auth) as got:
            assert got.status == 200  # forwarded whether recorded or not
    await proxy.close()
    said = [r.getMessage() for r in caplog.records if "recording stopped" in r.getMessage()]
    assert len(said) == 1 and "the tape reached its cap of 700 bytes" in said[0], said
    assert 1 <= recorder.close().exchanges < 4


async def test_violations_of_the_client_and_of_the_author_are_journaled_not_refused(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient
) -> None:
    author = FakeAuthor(
        {
            BASE_PATH: (200, {"processingId": "p-1"}),
            "/bin/guides/v1/system/status": (200, {"isDatabase": False}),  # a required key missing
            f"{BASE_PATH}/history": (200, {"executionHistory": [], "since": "2026"}),  # a newer key
        }
    )
    proxy = await aiohttp_client(proxy_app(url_of(await aiohttp_server(author.app()))), timeout=PATIENCE)
    body = {**START, "excludePaths": ["/content/dam/22858/x"]}
    async with proxy.post(BASE_PATH, json=body, headers={"Authorization": basic("a", "b")}) as started:
        assert started.status == 200 and await started.json() == {"processingId": "p-1"}
    assert json.loads(author.seen[0][3]) == body  # forwarded, though the mock would refuse it
    for path in ("/bin/guides/v1/system/status", f"{BASE_PATH}/history", "/libs/granite/csrf/token.json"):
        async with proxy.get(path) as answer:
            assert answer.status == 200

    async def exchanges(query: str) -> dict[str | None, dict[str, Any]]:
        async with proxy.get(f"/__admin/violations{query}") as answer:
            assert answer.status == 200
            return {e["operation"]: e for e in (await answer.json())["exchanges"]}

    errors, warnings = await exchanges("?severity=error"), await exchanges("?severity=warning")
    assert set(errors) == {"start", "system-status"} and set(warnings) == {"history"}
    [unknown_field] = errors["start"]["requestViolations"]
    assert unknown_field["where"] == "body:/excludePaths"
    assert "did you mean `excludedPaths`" in unknown_field["message"]
    [missing] = errors["system-status"]["responseViolations"]
    assert missing["where"] == "body:/databaseConnectionCheck" and missing["severity"] == "error"
    [extra] = warnings["history"]["responseViolations"]
    assert extra["where"] == "body:/since" and extra["severity"] == "warning"
    assert set(await exchanges("")) == {"start", "system-status", "history"}
    async with proxy.get("/__admin/journal", params={"operation": "history"}) as journal:
        assert [e["status"] for e in (await journal.json())["exchanges"]] == [200]
    async with proxy.get("/__admin/violations?severity=fatal") as refused:
        assert refused.status == 400 and "error or warning" in (await refused.json())["message"]


async def test_secrets_never_reach_the_tape(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    password, bearer, cookie, csrf, query, field, zipped, session = (secrets.token_hex(12) for _ in range(8))
    author = FakeAuthor(
        {"/libs/granite/csrf/token.json": (200, {"token": csrf})},
        headers={"Set-Cookie": f"login-token={session}; Path=/; HttpOnly"},
    )
    upstream = url_of(await aiohttp_server(author.app()))
    recorder = Recorder(tmp_path / "tape", upstream, ["/token", "/credentials/password"])
    proxy = await aiohttp_client(proxy_app(upstream, recorder=recorder), timeout=PATIENCE)
    headers = {"Authorization": basic("recorder", password), "Cookie": f"login-token={cookie}"}
    async with proxy.get("/libs/granite/csrf/token.json", headers=headers) as answer:
        assert await answer.json() == {"token": csrf}  # the client gets it whole
    headers = {"Authorization": f"Bearer {bearer}", "X-CSRF-Token": csrf, "Content-Type": "application/json"}
    async with proxy.post(BASE_PATH, data=json.dumps({**START, "token": field}), headers=headers):
        pass
    async with proxy.get(f"{BASE_PATH}/status", params={"processingId": "p-1", "token": query}):
        pass
    compressed = gzip.compress(json.dumps({**START, "credentials": {"password": zipped}}).encode())
    async with proxy.post(BASE_PATH, data=compressed, headers={**headers, "Content-Encoding": "gzip"}):
        pass
    async with proxy.get("/__admin/journal") as journal:  # served: it must not show them either
        served = await journal.text()
    assert f"token={REDACTED}" in served and not any(s in served for s in (query, field, zipped))
    await proxy.close()
    assert recorder.close().exchanges == 4
    seen = repr(author.seen)  # the author got every secret: the proxy passes them on as they came
    assert all(s in seen for s in (password and base64.b64encode(f"recorder:{password}".encode()).decode(),
                                   bearer, cookie, csrf, query, field))  # fmt: skip
    # the proxy inflates a compressed request body: it goes on inflated, without its Content-Encoding
    assert author.seen[3][3] == gzip.decompress(compressed) and "Content-Encoding" not in author.seen[3][2]
    files = [path for path in (tmp_path / "tape").rglob("*") if path.is_file()]
    for path in files:
        data = path.read_bytes()
        for secret in (password, bearer, cookie, csrf, query, field, zipped, session):
            assert data.count(secret.encode()) == 0, (path, secret)
    _, token, start, status, gzipped = tape_lines(tmp_path / "tape")
    assert token["response"]["body"] == {"token": REDACTED}
    assert token["response"]["headers"]["set-cookie"] == REDACTED
    assert start["request"]["headers"]["x-csrf-token"] == REDACTED
    assert start["request"]["body"] == {**START, "token": REDACTED}
    assert status["request"]["query"] == f"processingId=p-1&token={REDACTED}"
    assert gzipped["request"]["body"] == {**START, "credentials": {"password": REDACTED}}


async def test_the_journal_redacts_a_secret_path_parameter_and_the_names_given_to_the_recorder(
    aiohttp_server: MakeServer, tmp_path: Path
) -> None:
    session, token, team = (secrets.token_hex(12) for _ in range(3))
    upstream = url_of(await aiohttp_server(FakeAuthor({}).app()))
    recorder = Recorder(tmp_path / "tape", upstream, names=["x-team"])
    async with proxy_on_socket(upstream, recorder=recorder) as (url, proxy):
        target = f"/content/dam/x;jsessionid={session}/y?token={token}&x-team={team}&n=1"
        answer = await raw_exchange(
            url, f"GET {target} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n".encode()
        )
        assert status_of(answer) == 200
        journal = await raw_exchange(
            url, b"GET /__admin/journal HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
    recorder.close()
    assert status_of(journal) == 200 and b"/content/dam/x;jsessionid=" in journal
    assert not any(secret.encode() in journal for secret in (session, token, team)), journal
    [exchange] = proxy.journal
    assert exchange.path == f"/content/dam/x;jsessionid={REDACTED}"
    assert exchange.query == f"token={REDACTED}&x-team={REDACTED}&n=1"


async def test_an_exchange_the_recorder_chokes_on_is_answered_and_journaled_without_a_traceback(
    aiohttp_server: MakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A multipart boundary the tape cannot encode and a Location that is no URL made the recorder
    raise, and aiohttp log the exchange as an error with a traceback: whatever the recorder makes of
    them, the exchanges are answered and journaled, and nothing is logged with a traceback."""

    def moved(_: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://[::1/x?token=a"})

    caplog.set_level(logging.WARNING)
    upstream = url_of(await aiohttp_server(FakeAuthor({"/moved": (302, moved)}).app()))
    recorder = Recorder(tmp_path / "tape", upstream)
    part = "--☃\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--☃--\r\n".encode()
    upload = (f"POST /upload HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Type: multipart/form-data; "
              f"boundary=☃\r\nContent-Length: {len(part)}\r\n\r\n")  # fmt: skip
    async with proxy_on_socket(upstream, recorder=recorder) as (url, proxy):
        uploaded = await raw_exchange(url, upload.encode() + part)
        redirected = await raw_exchange(url, b"GET /moved HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
    recorder.close()
    assert (status_of(uploaded), status_of(redirected)) == (200, 302)
    assert [(e.method, e.path, e.status) for e in proxy.journal] == [
        ("POST", "/upload", 200),
        ("GET", "/moved", 302),
    ]
    assert [
        (r.name, r.getMessage()) for r in caplog.records if r.exc_info or r.name == "aiohttp.server"
    ] == []


@pytest.mark.parametrize("verbose", [False, True])
async def test_whatever_the_recorder_raises_is_one_line_that_names_the_exchange(
    aiohttp_server: MakeServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    verbose: bool,
) -> None:
    """The tape misses the exchange, which is answered and journaled all the same; one line says so,
    its secret path parameter redacted, with the traceback only when --verbose."""
    caplog.set_level(logging.INFO if verbose else logging.WARNING, logger="aem_guides_mock")
    upstream = url_of(await aiohttp_server(FakeAuthor({}).app()))
    recorder = Recorder(tmp_path / "tape", upstream)

    def choke(*_: object) -> None:
        raise RuntimeError("the recorder choked")

    monkeypatch.setattr(recorder, "record", choke)
    async with proxy_on_socket(upstream, recorder=recorder) as (url, proxy):
        target = "/upload;jsessionid=s3cr3tsession"
        answer = await raw_exchange(
            url, f"GET {target} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n".encode()
        )
    recorder.close()
    assert status_of(answer) == 200
    assert [(e.path, e.status) for e in proxy.journal] == [(f"/upload;jsessionid={REDACTED}", 200)]
    [said] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert said.levelno == logging.ERROR and said.getMessage() == (
        f"could not record GET /upload;jsessionid={REDACTED} (answered 200) on the tape: RuntimeError; "
        "the tape misses this exchange"
    )
    assert bool(said.exc_info) is verbose
    assert all("s3cr3tsession" not in r.getMessage() for r in caplog.records)


async def test_a_secret_the_author_echoes_fails_the_recording_and_deletes_it(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    bearer = secrets.token_hex(16)

    def echo(request: web.Request) -> dict[str, str]:
        return {"processingId": "p-1", "requestedBy": request.headers["Authorization"].split()[1]}

    author = FakeAuthor({BASE_PATH: (200, echo)})
    upstream = url_of(await aiohttp_server(author.app()))
    recorder = Recorder(tmp_path / "tape", upstream)
    proxy = await aiohttp_client(proxy_app(upstream, recorder=recorder), timeout=PATIENCE)
    async with proxy.post(BASE_PATH, json=START, headers={"Authorization": f"Bearer {bearer}"}) as answer:
        assert (await answer.json())["requestedBy"] == bearer
    await proxy.close()
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert leaked.value.leaks == ("the Bearer token of the request header authorization in tape.jsonl",)
    assert bearer not in str(leaked.value) and not (tmp_path / "tape").exists()


async def test_a_compressed_answer_passes_as_it_came_and_is_checked_and_taped_inflated(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    compressed = gzip.compress(b'{"isDatabase": false, "isCloud": "no"}')

    def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=compressed, content_type="application/json", headers={"Content-Encoding": "gzip"}
        )

    upstream = url_of(
        await aiohttp_server(FakeAuthor({"/bin/guides/v1/system/status": (200, gzipped)}).app())
    )
    recorder = Recorder(tmp_path / "tape", upstream)
    proxy = await aiohttp_client(
        proxy_app(upstream, recorder=recorder), timeout=PATIENCE, auto_decompress=False
    )
    async with proxy.get("/bin/guides/v1/system/status") as answer:
        assert answer.headers["Content-Encoding"] == "gzip" and await answer.read() == compressed
    async with proxy.get("/__admin/violations?severity=error") as violations:
        [exchange] = (await violations.json())["exchanges"]
    wheres = {v["where"] for v in exchange["responseViolations"]}
    assert wheres == {"body:/databaseConnectionCheck", "body:/isCloud"}
    await proxy.close()
    recorder.close()
    assert tape_lines(tmp_path / "tape")[1]["response"]["body"] == {"isDatabase": False, "isCloud": "no"}


async def test_a_body_that_is_not_what_its_content_encoding_says_is_a_400(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient
) -> None:
    author = FakeAuthor({})
    proxy = await aiohttp_client(proxy_app(url_of(await aiohttp_server(author.app()))), timeout=PATIENCE)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with proxy.post(BASE_PATH, data=b'{"path": "/"}', headers=headers) as answer:
        assert answer.status == 400 and "Content-Encoding: gzip" in (await answer.json())["message"]
    assert author.seen == []
    async with proxy.get("/__admin/violations") as violations:
        [exchange] = (await violations.json())["exchanges"]
    assert exchange["requestViolations"][0]["where"] == "header:Content-Encoding"


async def test_an_unreachable_author_is_a_502_and_a_slow_one_a_504(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient
) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    proxy = await aiohttp_client(proxy_app(f"http://127.0.0.1:{port}"), timeout=PATIENCE)
    async with proxy.get(f"{BASE_PATH}/history") as answer:
        assert answer.status == 502 and answer.content_type == "application/json"
        body = await answer.json()
    assert body["status"] == 502 and body["error"] == "Bad Gateway" and body["path"] == f"{BASE_PATH}/history"
    assert f"the upstream http://127.0.0.1:{port} cannot be reached" in body["message"]

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)  # an upstream slower than the proxy's timeout: the subject
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/{tail:.*}", slow)
    proxy = await aiohttp_client(proxy_app(url_of(await aiohttp_server(app)), timeout=0.2), timeout=PATIENCE)
    async with proxy.get(f"{BASE_PATH}/history") as answer:
        assert answer.status == 504 and "did not answer within 0.2 s" in (await answer.json())["message"]


# --- the command ---------------------------------------------------------------------------------------


def run_proxy(
    upstream: str, record: Path, tmp_path: Path, drive: Callable[[str], None], *flags: str
) -> tuple[int, str]:
    """Run ``aem-guides-mock proxy`` (with ``flags``), call ``drive(url)``, stop it with SIGTERM: exit
    status, stderr."""
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "proxy", "--upstream", upstream, "--port", "0",
         "--record", str(record), "--ready-file", str(ready), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        drive(ready_url(ready, process))
    finally:
        _, stderr = stopped_output(process)
    return process.returncode, stderr


def start_and_poll(headers: dict[str, str]) -> Callable[[str], None]:
    def drive(url: str) -> None:
        data = json.dumps(START).encode()
        request = urllib.request.Request(
            url + BASE_PATH, data, {**headers, "Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request) as started:
            job_id = json.load(started)["processingId"]
        status = urllib.request.Request(f"{url}{BASE_PATH}/status?processingId={job_id}", headers=headers)
        with urllib.request.urlopen(status) as polled:
            assert json.load(polled)["processingId"] == job_id

    return drive


def test_the_command_records_until_sigterm_and_audits(tmp_path: Path) -> None:
    password = secrets.token_hex(8)
    with MockServer(overrides={"users": {"admin": password}}) as mock:
        headers = {"Authorization": basic("admin", password)}
        status, stderr = run_proxy(mock.url, tmp_path / "tape", tmp_path, start_and_poll(headers))
    assert status == 0, stderr
    assert [line.get("operation") for line in tape_lines(tmp_path / "tape")] == [None, "start", "status"]


def test_redact_takes_a_field_name_as_well_as_a_pointer(tmp_path: Path) -> None:
    password, team = secrets.token_hex(8), secrets.token_hex(8)

    def drive(url: str) -> None:
        status = urllib.request.Request(
            f"{url}{BASE_PATH}/history?teamCode={team}", headers={"Authorization": basic("admin", password)}
        )
        with urllib.request.urlopen(status) as answered:
            assert answered.status == 200

    with MockServer(overrides={"users": {"admin": password}}) as mock:
        for name, flags in (("plain", ()), ("named", ("--redact", "team-code"))):
            status, stderr = run_proxy(mock.url, tmp_path / name, tmp_path, drive, *flags)
            assert status == 0, stderr
    assert tape_lines(tmp_path / "plain")[1]["request"]["query"] == f"teamCode={team}"  # no documented name
    assert tape_lines(tmp_path / "named")[1]["request"]["query"] == "teamCode=[redacted]"
    written = b"".join(f.read_bytes() for f in (tmp_path / "named").rglob("*") if f.is_file())
    assert team.encode() not in written


def test_the_command_exits_1_and_deletes_a_recording_that_leaked(tmp_path: Path) -> None:
    # a password that is a word of the author's paths (/content/dam/…); admin:admin is kept now
    with MockServer(overrides={"users": {"admin": "content"}}) as mock:
        headers = {"Authorization": basic("admin", "content")}
        status, stderr = run_proxy(mock.url, tmp_path / "tape", tmp_path, start_and_poll(headers))
    assert status == 1
    assert "the password of the HTTP Basic credentials" in stderr and "was deleted" in stderr
    assert not (tmp_path / "tape").exists()


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process command must stop before it serves: a regression fails, not serves forever."""
    from mock_server.http import serving

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the proxy was started")

    monkeypatch.setattr(serving, "start_site", started)


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--upstream", "ftp://author"], "is not an http or https URL"),
        (["--upstream", "http://admin:admin@author"], "leave them out"),
        (["--upstream", "http://author", "--redact", "token=1"], "is no JSON pointer"),
        (["--upstream", "http://author", "--redact", "x\ty"], "nor a field name"),
    ],
)
def test_bad_flags_are_explained(
    args: list[str], phrase: str, capsys: pytest.CaptureFixture[str], no_serving: None
) -> None:
    from mock_server.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["proxy", *args])
    assert exited.value.code == 2 and phrase in capsys.readouterr().err


def test_recording_into_a_directory_with_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_serving: None
) -> None:
    from mock_server.cli import main

    (tmp_path / "mine.txt").write_text("keep")
    assert main(["proxy", "--upstream", "http://127.0.0.1:9", "--record", str(tmp_path)]) == 3
    assert "not an empty directory" in capsys.readouterr().err and (tmp_path / "mine.txt").exists()
