"""The dev server as a user starts it: a real process, a real socket, a real signal."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.support.constants import AUTH, BASE
from tests.support.dev_server import MODULE, call, read_line, serving, start_and_poll, stop
from tests.support.sockets import accepted_and_read
from tests.support.waiting import wait_until


def test_serve_prints_the_url_credentials_and_a_curl_line() -> None:
    with serving() as (_, url, banner):
        text = "".join(banner)
        assert "credentials: admin:admin" in text
        assert "curl -u admin:admin" in text
        assert f"{url}{BASE}" in text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_within_5_seconds(signum: int) -> None:
    with serving("--speed", "10") as (process, url, _):
        start_and_poll(url)
        assert stop(process, signum) < 5
        assert process.returncode == 0


def test_a_bad_flag_is_explained() -> None:
    result = subprocess.run([*MODULE, "serve", "--speed", "fast"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "expected a number such as 2 or 0.5, got 'fast'" in result.stderr


def test_a_busy_port_is_explained() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*MODULE, "serve", "--port", str(port)], capture_output=True, text=True, timeout=20
        )
    assert result.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


# --- scenarios on the command line ---------------------------------------------------------------------


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("description: fine\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: d\njobs:\n  - match: {nth: 1}\n    wait:\n      for: soon\nclock: never\n")
    result = subprocess.run([*MODULE, "check", str(good), str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{bad}:6: clock: expected 'real', 'manual' or {{per_poll: DURATION}}, got \"never\""
    assert lines[1].startswith(f"{bad}:5: jobs[0].wait.for: expected a duration such as '2s'")
    assert "2 problem(s) in 2 file(s)" in result.stderr
    result = subprocess.run([*MODULE, "check", str(good)], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"ok: {good} (good): fine"


def test_scenarios_lists_the_shipped_ones() -> None:
    result = subprocess.run([*MODULE, "scenarios"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert len(names) >= 10 and "flaky-status" in names and "large-repository" in names


def test_serve_a_shipped_scenario() -> None:
    with serving("--scenario", "database-backend") as (process, url, banner):
        assert "scenario:    database-backend" in "".join(banner)
        assert call(f"{url}/bin/guides/v1/system/status")["isDatabase"] is True
        assert stop(process) < 5


def test_an_unknown_scenario_is_explained() -> None:
    result = subprocess.run([*MODULE, "serve", "--scenario", "flaky"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "no such scenario file or shipped scenario" in result.stderr


def test_the_environment_overrides_the_scenario_and_a_flag_overrides_both(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("description: env\nsettings: {history_size: 5, speed: 2}\n")
    environment = {**os.environ, "AEM_GUIDES_MOCK_HISTORY_SIZE": "1", "AEM_GUIDES_MOCK_SPEED": "3"}
    with serving("--scenario", str(scenario), "--speed", "4", env=environment) as (process, url, banner):
        assert "speed x4" in "".join(banner)
        for path in ("/content/dam/22858", "/content/dam/demo1"):
            call(f"{url}{BASE}", {"path": path, "type": "ASSET_PROCESSING"})
        assert len(call(f"{url}{BASE}/history")["executionHistory"]) == 1  # type: ignore[arg-type]
        assert stop(process) < 5


def test_watch_reloads_the_file_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    scenario = tmp_path / "watched.yaml"
    scenario.write_text("description: first\n")
    with serving("--scenario", str(scenario), "--watch") as (process, url, _):
        assert process.stdout is not None
        scenario.write_text("description: second\nsettings: {backend: database}\n")
        assert read_line(process).startswith("scenario reloaded: watched: second")
        assert call(f"{url}/bin/guides/v1/system/status")["isDatabase"] is True
        scenario.write_text("description: third\nsettings: {backend: mongo}\n")
        assert read_line(process).startswith("scenario not reloaded; still serving 'watched'")
        assert "settings.backend" in read_line(process)
        assert call(f"{url}/bin/guides/v1/system/status")["isDatabase"] is True
        assert stop(process) < 5


def test_watch_needs_a_file() -> None:
    result = subprocess.run([*MODULE, "serve", "--watch"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--watch needs --scenario PATH" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "phrase"),
    [
        (["--speed", "nan"], {}, "argument --speed: speed must be above 0"),
        ([], {"AEM_GUIDES_MOCK_SPEED": "fast"}, "AEM_GUIDES_MOCK_SPEED: expected a number such as 2 or 0.5"),
    ],
)
def test_bad_numbers_are_explained(args: list[str], env: dict[str, str], phrase: str) -> None:
    result = subprocess.run(
        [*MODULE, "serve", "--port", "0", *args], capture_output=True, text=True, env={**os.environ, **env},
        timeout=20,
    )  # fmt: skip
    assert result.returncode == 2
    assert phrase in result.stderr


def test_sigterm_with_requests_in_flight_exits_0_within_5_s_and_frees_the_port(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text("description: slow\nfaults: [{endpoint: history, latency: 20s}]\n")
    with serving("--scenario", str(scenario)) as (process, url, _):
        port = int(url.rsplit(":", 1)[1])
        outcomes: list[str] = []

        def slow_call() -> None:
            try:
                call(f"{url}{BASE}/history")
                outcomes.append("answered")
            except Exception as error:  # the server went away mid-request, as it should
                outcomes.append(type(error).__name__)

        threads = [threading.Thread(target=slow_call) for _ in range(5)]
        for thread in threads:
            thread.start()
        # The requests are in flight, waiting on the latency: accepted and read by the server.
        wait_until(lambda: accepted_and_read(port, 5), "the five requests read by the server")
        assert stop(process) < 5
        assert process.returncode == 0
        for thread in threads:
            thread.join(timeout=10)
        assert len(outcomes) == 5
    with serving("--port", str(port)) as (again, again_url, _):  # the port is free at once
        assert again_url.endswith(f":{port}")
        stop(again)


def test_credentials_and_the_admin_token_are_never_logged() -> None:
    token = "adm1n-t0ken-never-logged"
    environment = {**os.environ, "AEM_GUIDES_MOCK_ADMIN_TOKEN": token}
    with serving("--verbose", env=environment) as (process, url, _):
        call(f"{url}{BASE}/history")
        request = urllib.request.Request(f"{url}/__admin/clock", headers={"X-Admin-Token": token})
        with urllib.request.urlopen(request, timeout=5):
            pass
        stop(process)
        _, errors = process.communicate(timeout=10)
    assert "GET /bin/guides/v1/assets/process/history" in errors  # the access log ran
    secret = AUTH["Authorization"].split()[1]
    assert secret not in errors and token not in errors and "admin:admin" not in errors


BIG = """description: a million-line log to download
clock: manual
settings: {per_asset: 1ms}
repository:
  generate: [{folder: /content/dam/big, per_folder: {DITATOPIC: 1000000}}]
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_downloads_exits_0_within_5_s(tmp_path: Path, signum: int) -> None:
    scenario = tmp_path / "big.yaml"
    scenario.write_text(BIG)
    with serving("--scenario", str(scenario)) as (process, url, _):
        job = call(f"{url}{BASE}", {"path": "/content/dam/big", "type": "ASSET_PROCESSING"})
        advance = urllib.request.Request(
            f"{url}/__admin/clock/advance", json.dumps({"seconds": 400}).encode(), method="POST"
        )
        urllib.request.urlopen(advance, timeout=5).close()  # 1,000,000 assets at 1 ms: done
        outcomes: list[str] = []

        def download() -> None:
            target = f"{url}{BASE}/logs/download?processingId={job['processingId']}"
            try:
                with urllib.request.urlopen(urllib.request.Request(target, headers=AUTH), timeout=30) as r:
                    body = r.read()
            except Exception as error:  # cut by the stop: the client sees it was cut
                outcomes.append(type(error).__name__)
                return
            try:  # read whole: then it must be a whole ZIP, not one cut short that looks whole
                outcomes.append("whole" if zipfile.ZipFile(io.BytesIO(body)).testzip() is None else "broken")
            except zipfile.BadZipFile:
                outcomes.append("broken")

        threads = [threading.Thread(target=download) for _ in range(4)]
        for thread in threads:
            thread.start()
        # Four downloads of 1,000,000 lines each under way (measured, then streamed): read by the server.
        port = int(url.rsplit(":", 1)[1])
        wait_until(lambda: accepted_and_read(port, 4), "the four downloads' requests read by the server")
        assert stop(process, signum) < 5
        assert process.returncode == 0
        for thread in threads:
            thread.join(timeout=10)
        assert len(outcomes) == 4 and "broken" not in outcomes, outcomes


def test_scenarios_into_a_closed_pipe_ends_quietly() -> None:
    result = subprocess.run(
        f"'{sys.executable}' -m mock_server scenarios | head -2", shell=True, capture_output=True, text=True
    )
    assert len(result.stdout.splitlines()) == 2
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr, result.stderr


def test_the_ready_file_is_removed_at_start_and_at_exit(tmp_path: Path) -> None:
    ready = tmp_path / "mock.url"
    ready.write_text("http://127.0.0.1:1\n")  # stale, from an earlier run
    process = subprocess.Popen(
        [*MODULE, "serve", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        read_line(process)  # the banner's first line: the server is up
        deadline = time.monotonic() + 10
        while not (ready.exists() and ready.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.read_text().startswith("http://127.0.0.1:") and ":1\n" not in ready.read_text()
        stop(process)
        assert process.returncode == 0 and not ready.exists()
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_check_warns_and_strict_fails_on_warnings(tmp_path: Path) -> None:
    scenario = tmp_path / "w.yaml"
    scenario.write_text(
        "description: warned\n"
        "faults: [{endpoint: restart, status: 503}, {endpoint: status, auth: bearer, status: 401}]\n"
        "jobs:\n  - match: {path: /**}\n  - match: {path: /content/dam/nowhere, nth: 2}\n"
    )
    result = subprocess.run([*MODULE, "check", str(scenario)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert [line.split(": warning: ")[1].split(":")[0] for line in warnings] == [
        "faults[0].endpoint", "faults[1].auth", "jobs[1].match", "jobs[1].match.path"
    ]  # fmt: skip
    assert all(line.startswith(f"{scenario}:") for line in warnings)
    assert "4 warning(s)" in result.stderr
    strict = subprocess.run([*MODULE, "check", "--strict", str(scenario)], capture_output=True, text=True)
    assert strict.returncode == 1
    with serving("--scenario", str(scenario)) as (process, _, banner):  # serve warns alike
        assert sum("warning:" in line for line in banner) == 4
        stop(process)


def test_a_stale_ready_file_is_removed_even_when_serve_fails(tmp_path: Path) -> None:
    ready = tmp_path / "mock.url"
    ready.write_text("http://127.0.0.1:1\n")
    result = subprocess.run([*MODULE, "serve", "--scenario", "nowhere", "--ready-file", str(ready)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and not ready.exists()


def test_the_banner_names_a_loopback_address_to_call_when_bound_to_every_address() -> None:
    from mock_server import create_app
    from mock_server.devserver import banner

    app = create_app(overrides={"clock": "manual"})
    text = banner(app, "http://0.0.0.0:4502")
    assert "http://127.0.0.1:4502/__admin/clock/advance" in text and "0.0.0.0:4502/__admin" not in text
    assert "  dashboard:   http://127.0.0.1:4502/__admin/ui/" in text
    assert "dashboard" not in banner(create_app(overrides={"admin_enabled": False}), "http://0.0.0.0:4502")
    # A container's: a URL the host calls, and the admin API's door from outside (a port mapping is not
    # loopback) named; neither where a token is set, or bound to loopback.
    assert "  from a host: http://localhost:4502 (" in text and "-p 4502:4502" in text
    assert "curl -u admin:admin 'http://localhost:4502/bin/" in text and "0.0.0.0:4502/bin" not in text
    assert "from outside this machine or container, only with AEM_GUIDES_MOCK_ADMIN_TOKEN set" in text
    tokened = banner(create_app(overrides={"admin_token": "t0k"}), "http://0.0.0.0:4502")
    assert "AEM_GUIDES_MOCK_ADMIN_TOKEN" not in tokened and "(X-Admin-Token)" in tokened
    on_loopback = banner(app, "http://127.0.0.1:4502")
    assert "from a host" not in on_loopback and "AEM_GUIDES_MOCK_ADMIN_TOKEN" not in on_loopback
