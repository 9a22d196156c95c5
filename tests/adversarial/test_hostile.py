"""Black-box, over a real socket: hostile input stays bounded and is answered with a clear 4xx.

How fast each bound holds is measured by ``bench/bench_hostile.py`` against the same server; these
tests show that it holds: the caps, the limits, and the server serving on.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer, Repository
from mock_server.core.errors import MAX_LISTED, MAX_SHOWN
from mock_server.engine import default_repository
from mock_server.http.refusals import MAX_ERROR_BYTES
from tests.support.constants import BASE

START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


def address(server: MockServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def send(
    server: MockServer, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*address(server), timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    sent = {**server.headers, **({"Content-Type": "application/json"} if data is not None else {})}
    try:
        connection.request(method, target, body=data, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def raw(server: MockServer, data: bytes, timeout: float = 10) -> bytes:
    """Bytes as sent, the answer as received (until the server closes or stops talking)."""
    with socket.create_connection(address(server), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.startswith(b"HTTP/1.1 4"):
                    break  # a refusal: enough to read it
        except TimeoutError:
            pass
        return answer


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
def fresh(server: MockServer) -> MockServer:
    server.reset()
    return server


# --- error bodies ------------------------------------------------------------------------------------


def test_seventy_thousand_unknown_keys_list_twenty_and_count_the_rest(fresh: MockServer) -> None:
    body = {**START, **{f"ke{n:05d}": 0 for n in range(70_000)}}
    data = json.dumps(body).encode()
    assert 950_000 < len(data) <= 1024 * 1024
    status, _, answer = send(fresh, "POST", BASE, data)
    assert status == 400 and len(answer) <= MAX_ERROR_BYTES
    error = json.loads(answer)
    assert len(error["violations"]) == MAX_LISTED and error["moreViolations"] == 70_000 - MAX_LISTED
    assert error["message"].startswith("70000 contract violations:")
    (exchange,) = fresh.violations
    assert len(exchange.request_violations) == MAX_LISTED and exchange.more_violations == 69_980


def test_long_names_and_values_are_cut_to_200_characters(fresh: MockServer) -> None:
    name, value = "k" * 10_000, "v" * 10_000
    status, _, answer = send(fresh, "POST", BASE, {**START, name: value, "excludedPaths": [1] * 900})
    assert status == 400
    error = json.loads(answer)
    for violation in error["violations"]:
        assert len(violation["where"]) <= MAX_SHOWN + len("body:/")
        assert len(json.dumps(violation["got"])) <= MAX_SHOWN + 2
        assert len(violation["message"]) <= 3 * MAX_SHOWN + 200
    assert len(answer) <= MAX_ERROR_BYTES


def test_odd_queries_are_not_kept_and_the_journal_stays_within_its_bytes() -> None:
    with MockServer(overrides={"journal_bytes": 200_000}) as server:
        for n in range(300):  # distinct ~7 KB query strings of unknown parameters: served, warned about
            query = "&".join(f"p{n}x{k}={'v' * 40}" for k in range(150))
            status, headers, _ = send(server, "GET", f"{BASE}/history?{query}")
            assert status == 200 and headers["X-Aem-Mock-Warnings"] == "150"
        assert {len(e.warnings) for e in server.warnings} == {20}  # 20 worded, the rest only counted
        assert len(server.mock.contract._query_cache) == 0
        assert server.mock.journal.bytes <= 200_000 and len(server.mock.journal) >= 10
        assert send(server, "GET", f"{BASE}/history")[0] == 200


# --- downloads ---------------------------------------------------------------------------------------


def big_server(assets: int = 200_000, **overrides: Any) -> MockServer:
    """A server whose one folder holds ``assets`` topics, at 1 ms each."""
    repository = default_repository()
    repository.add_generated("/content/dam/big", "DITATOPIC", assets, "topic-{n}.dita", 1_748_736_000_000, 1)
    return MockServer(overrides={"per_asset_ms": 1, **overrides}, repository=repository)


def finished_job(server: MockServer, path: str = "/content/dam/big") -> str:
    _, _, body = send(server, "POST", BASE, {"path": path, "type": "ASSET_PROCESSING"})
    processing_id = str(json.loads(body)["processingId"])
    server.advance(3600)
    assert server.jobs[-1]["status"] == "SUCCESS"
    return processing_id


def test_other_requests_are_served_while_a_big_zip_streams() -> None:
    with big_server() as server:
        pid = finished_job(server)
        done = threading.Event()
        sizes: list[int] = []

        def download() -> None:
            sizes.append(len(send(server, "GET", f"{BASE}/logs/download?processingId={pid}")[2]))
            done.set()

        threading.Thread(target=download).start()
        answered_meanwhile = 0
        while not done.is_set():
            status, _, _ = send(server, "GET", f"{BASE}/history")
            assert status == 200
            answered_meanwhile += not done.is_set()
        assert answered_meanwhile >= 3  # the download did not hold the event loop
        assert sizes[0] > 100_000


def test_head_on_the_download_builds_no_zip(fresh: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server.core.archive import zip_stream

    built: list[str] = []

    def watched(name: str, lines: Any, modified_ms: int, **options: Any) -> Iterator[bytes]:
        built.append(name)
        yield from zip_stream(name, lines, modified_ms, **options)

    monkeypatch.setattr("mock_server.api.operations.zip_stream", watched)
    pid = json.loads(send(fresh, "POST", BASE, START)[2])["processingId"]
    status, headers, body = send(fresh, "HEAD", f"{BASE}/logs/download?processingId={pid}")
    assert (status, headers["Content-Type"], body) == (200, "application/zip", b"")
    assert built == []
    status, _, body = send(fresh, "GET", f"{BASE}/logs/download?processingId={pid}")
    assert status == 200 and built == [f"{pid}.log"] and zipfile.ZipFile(io.BytesIO(body)).testzip() is None


def test_a_failure_after_the_headers_cuts_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server.core.joblog import JobLog

    original = JobLog.lines

    def breaking(self: JobLog, start: int, stop: int) -> Iterator[str]:
        for number, line in enumerate(original(self, start, stop)):
            if number == 5000:  # after the first chunks went out
                raise RuntimeError("a bug in the log")
            yield line

    with big_server(20_000) as server:
        pid = finished_job(server)
        monkeypatch.setattr(JobLog, "lines", breaking)
        connection = http.client.HTTPConnection(*address(server), timeout=10)
        try:
            connection.request("GET", f"{BASE}/logs/download?processingId={pid}", headers=server.headers)
            response = connection.getresponse()
            assert response.status == 200
            with pytest.raises(http.client.IncompleteRead):  # never a whole-looking, broken ZIP
                response.read()
        finally:
            connection.close()


def test_a_failure_before_the_headers_is_a_500(fresh: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server.core.joblog import JobLog

    def broken(self: JobLog, start: int, stop: int) -> Iterator[str]:
        raise RuntimeError("a bug in the log")
        yield ""

    pid = json.loads(send(fresh, "POST", BASE, START)[2])["processingId"]
    monkeypatch.setattr(JobLog, "lines", broken)
    status, headers, body = send(fresh, "GET", f"{BASE}/logs/download?processingId={pid}")
    assert status == 500 and headers["Content-Type"].startswith("application/json")
    assert "failed unexpectedly" in json.loads(body)["message"]
    downloads = [e.status for e in fresh.journal if e.operation == "download"]
    assert downloads == [500]  # journaled once, as what the client got


# --- paths and the queue -----------------------------------------------------------------------------


def test_every_spelling_of_a_path_is_one_path(fresh: MockServer) -> None:
    spellings = ["/content/dam//22858", "/content//dam/22858", "/content/dam/22858/", "/content/./dam/22858"]
    first = json.loads(send(fresh, "POST", BASE, {**START, "path": spellings[0]})[2])["processingId"]
    for spelling in spellings[1:]:
        status, _, body = send(fresh, "POST", BASE, {**START, "path": spelling})
        assert status == 400 and "is already IN_PROGRESS" in json.loads(body)["message"], spelling
    job = json.loads(send(fresh, "GET", f"{BASE}/status?processingId={first}")[2])
    assert job["path"] == "/content/dam/22858"  # echoed normalized
    status, _, body = send(fresh, "POST", BASE, {**START, "path": "/content/../../etc"})
    assert status == 400 and "above the root" in json.loads(body)["message"]


def test_waiting_jobs_count_against_a_cap() -> None:
    repository = Repository()
    for n in range(20):
        repository.add_asset(f"/content/dam/f{n}/a.dita", "DITATOPIC", 0)
    with MockServer(overrides={"max_active_jobs": 5, "max_jobs": 8}, repository=repository) as server:
        codes = [send(server, "POST", BASE, {**START, "path": f"/content/dam/f{n}"})[0] for n in range(7)]
        assert codes == [200] * 5 + [429] * 2
        status, headers, body = send(server, "POST", BASE, {**START, "path": "/content/dam/f9"})
        assert status == 429 and headers["Retry-After"] == "1"
        assert "max_active_jobs" in json.loads(body)["message"]
        server.advance(60)  # they end: room again, and finished jobs are forgotten past max_jobs
        for n in range(10, 20):
            assert send(server, "POST", BASE, {**START, "path": f"/content/dam/f{n}"})[0] == 200
            server.advance(1)
        assert len(server.jobs) == 8


# --- the admin API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        b"Host: [::1]evil.com\r\n",
        b"Host: localhost\r\nOrigin: http://localhost:1@evil.com\r\n",
        b"Host: localhost\r\nOrigin: http://[::1]@evil.com\r\n",
        b"Host: localhost\r\nOrigin: javascript://localhost\r\n",
        b"Host: localhost\r\nOrigin: null\r\n",
    ],
)
def test_admin_host_and_origin_are_parsed_strictly(server: MockServer, headers: bytes) -> None:
    answer = raw(server, b"GET /__admin/journal HTTP/1.1\r\n" + headers + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_an_absolute_form_target_must_name_a_loopback_host(server: MockServer) -> None:
    request = b"GET http://evil.com/__admin/journal HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert raw(server, request).startswith(b"HTTP/1.1 403")
    fine = b"GET http://localhost/__admin/stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert raw(server, fine).startswith(b"HTTP/1.1 200")


def test_a_get_only_admin_route_answers_post_with_405(server: MockServer) -> None:
    status, headers, body = send(server, "POST", "/__admin/journal", {})
    assert (status, headers["Allow"]) == (405, "GET")
    assert "use GET" in json.loads(body)["message"]
    assert send(server, "GET", "/__admin/nowhere")[0] == 404


def test_a_token_that_is_not_utf8_is_a_401() -> None:
    with MockServer(overrides={"admin_token": "a-long-token-123"}) as server:
        request = b"GET /__admin/clock HTTP/1.1\r\nHost: localhost\r\nX-Admin-Token: \xff\xfe\r\n\r\n"
        assert raw(server, request).startswith(b"HTTP/1.1 401")


def test_nested_json_on_the_scenario_is_a_400(server: MockServer) -> None:
    status, _, body = send(server, "PUT", "/__admin/scenario", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "name" in json.loads(body)["message"]


def test_the_admin_api_refuses_a_body_over_its_cap_before_reading_it(server: MockServer) -> None:
    head = (
        b"PUT /__admin/scenario HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/yaml\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    began = time.monotonic()
    answer = raw(server, head + b"description: x\n", timeout=5)  # 100 MiB announced, 15 bytes sent
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - began < 4


def test_the_clock_stops_at_year_9999(fresh: MockServer) -> None:
    pid = json.loads(send(fresh, "POST", BASE, START)[2])["processingId"]
    codes = [
        send(fresh, "POST", "/__admin/clock/advance", {"seconds": 50 * 365 * 86_400})[0] for _ in range(200)
    ]
    assert 400 in codes and codes[: codes.index(400)] == [200] * codes.index(400)
    status, _, body = send(fresh, "POST", "/__admin/clock/advance", {"seconds": 50 * 365 * 86_400})
    assert status == 400 and "year 9999" in json.loads(body)["message"]
    assert send(fresh, "GET", f"{BASE}/logs?processingId={pid}")[0] == 200
    assert send(fresh, "GET", f"{BASE}/logs/download?processingId={pid}")[0] == 200


def test_a_big_scenario_loads_while_requests_are_served(server: MockServer) -> None:
    assets = "".join(f"    - {{path: /content/dam/x/a-{n}.dita, type: DITATOPIC}}\n" for n in range(17_000))
    document = f"description: big\nrepository:\n  base: empty\n  assets:\n{assets}".encode()
    assert 900_000 < len(document) <= 1024 * 1024
    loaded: list[int] = []

    def load() -> None:
        loaded.append(
            send(server, "PUT", "/__admin/scenario", document, {"Content-Type": "application/yaml"})[0]
        )

    loader = threading.Thread(target=load)
    loader.start()
    served = 0
    while loader.is_alive():
        served += send(server, "GET", f"{BASE}/history")[0] == 200
    loader.join()
    assert loaded == [200] and served >= 5  # others were answered during the load
    server.load_scenario("default")


def test_a_dense_scenario_is_refused_at_the_node_cap_and_the_last_good_one_stays(server: MockServer) -> None:
    """500,000 YAML nodes in 1 MiB, sent as is and gzipped: refused where the cap is passed (the
    reader stops there), the scenario before stays; a gzip bomb is refused at the admin's cap."""
    import gzip
    import zlib

    server.load_scenario("fail-midway")
    dense = b"description: dense\nx: [" + b"0," * 520_000 + b"0]\n"
    for body, coding in ((dense, None), (gzip.compress(dense, mtime=0), "gzip")):
        headers = {"Content-Type": "application/yaml", **({"Content-Encoding": coding} if coding else {})}
        status, _, answer = send(server, "PUT", "/__admin/scenario", body, headers)
        assert status == 400, answer
        (problem,) = json.loads(answer)["problems"]
        assert problem.startswith("<admin>:2: more than 100000 YAML nodes")
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join([*(compressor.compress(b"\0" * (1 << 20)) for _ in range(256)), compressor.flush()])
    status, _, answer = send(server, "PUT", "/__admin/scenario", bomb, {"Content-Encoding": "gzip"})
    assert status == 413 and b"larger than 1048576 bytes" in answer
    assert json.loads(send(server, "GET", "/__admin/scenario")[2])["name"] == "fail-midway"
    server.load_scenario("default")


# --- connections -------------------------------------------------------------------------------------


def test_a_trickling_body_is_cut_off_with_408() -> None:
    with MockServer(overrides={"body_timeout_ms": 300}) as server:
        head = (
            f"POST {BASE} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {server.headers['Authorization']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        began = time.monotonic()
        answer = raw(server, head + b'{"path": ', timeout=5)
        assert answer.startswith(b"HTTP/1.1 408") and b"within 0.3 s" in answer
        assert time.monotonic() - began < 3
        assert send(server, "GET", f"{BASE}/history")[0] == 200


def test_a_glob_of_many_double_stars_matches_in_linear_time() -> None:
    deep = "/content/dam" + "/a" * 80
    scenario = (
        "description: deep\n"
        'jobs: [{match: {path: "/**/**/**/**/**/**/**/x"}, processing: {fail_at: 1}}]\n'
        f"repository: {{folders: [{deep}]}}\n"
    )
    with MockServer(scenario) as server:
        status, _, body = send(server, "POST", BASE, {**START, "path": deep})  # no match: tried everywhere
        assert status == 200
        assert server.mock.engine.find(json.loads(body)["processingId"]).script is None  # type: ignore[union-attr]
        status, _, body = send(server, "POST", BASE, {**START, "path": "/content/dam/22858"})
        assert status == 200


def test_a_folder_two_thousand_levels_deep_is_walked_like_any_other() -> None:
    deep = "/content/dam/deep" + "/a" * 2000
    scenario = "description: deep\nsettings: {system_job: true, system_job_interval: 1s}\n"
    scenario += f"repository:\n  assets: [{{path: {deep}/t.dita, type: DITATOPIC}}]\n"
    with MockServer(scenario) as server:
        status, _, body = send(server, "POST", BASE, {**START, "path": "/content/dam/deep"})
        assert status == 200, body
        server.advance(2)  # the system job over /content/dam meets the deep folder too
        assert send(server, "GET", f"{BASE}/history")[0] == 200
        assert {job["createdBy"] for job in server.jobs} == {"admin", "System"}


def test_a_trickling_admin_body_is_cut_off_with_408() -> None:
    with MockServer(overrides={"body_timeout_ms": 300}) as server:
        head = b"PUT /__admin/scenario HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n"
        assert raw(server, head + b"description:", timeout=5).startswith(b"HTTP/1.1 408")


def test_a_job_cancelled_and_resumed_without_end_keeps_a_bounded_log() -> None:
    """Each cycle writes three lines and a run; past the segments a log keeps whole, they fold:
    the job's bytes stay flat and every line stays at its number (a client pages on)."""
    from mock_server.core.joblog import KEEP_FIRST, KEEP_LAST

    with MockServer(overrides={"per_asset_ms": 3_600_000}) as server:
        connection = http.client.HTTPConnection(*address(server), timeout=30)
        headers = {**server.headers, "Content-Type": "application/json"}

        def call(method: str, target: str, body: Any = None) -> Any:
            connection.request(method, target, body=json.dumps(body) if body else None, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
            return answer

        pid = call("POST", BASE, START)["processingId"]
        first = call("GET", f"{BASE}/logs?processingId={pid}&offset=0&limit=5")["lines"]
        sizes = []
        for cycle in range(1, 801):
            call("POST", f"{BASE}/cancel", {"processingId": pid})
            call("POST", f"{BASE}/resume", {"processingId": pid})
            if cycle % 400 == 0:
                sizes.append(server.mock.engine.bytes_kept)
        log = server.mock.engine.get(pid).log
        assert log.segments <= KEEP_FIRST + 1 + KEEP_LAST + 256  # 3,200 written
        assert sizes[1] <= sizes[0] + 256 * 300  # flat, but for one fold's worth of segments
        page = call("GET", f"{BASE}/logs?processingId={pid}&offset=0&limit=5")
        assert page["lines"][: len(first)] == first and len(log) >= 3 * 800
        tail = call("GET", f"{BASE}/logs?processingId={pid}&tail=2")["lines"]
        assert "resumed from checkpoint" in tail[0]  # then the count starts again
        connection.close()
