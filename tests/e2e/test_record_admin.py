"""Recording with the classic AEM login ``admin:admin``, whose user name (echoed in every job's
``createdBy``) is its password: the tape writes the user as ``[user:1]`` and is kept; the proxy says at
its start what it redacts; ``scenario-from`` keeps the users, so the same login replays (docs/tools.md,
"Tapes without secrets")."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from mock_server import create_app
from mock_server.cli import main
from mock_server.scenarios.reading import parse_scenario, read_file
from tests.e2e.test_round_trip import RECORDED, record
from tests.support.client import MakeClient, MakeServer
from tests.support.dev_server import ready_url, stopped_output


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def login_status(url: str, auth: dict[str, str]) -> int:
    """The status of a system status request (the recorded history's fault is not in the way)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"{url}/bin/guides/v1/system/status", headers=auth) as answer,
    ):
        return answer.status


async def test_admin_admin_records_a_kept_tape_whose_scenario_lets_the_same_login_in(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    admin = basic("admin", "admin")
    recorded = create_app(scenario=parse_scenario(RECORDED))  # users: admin:admin
    tape = await record(aiohttp_server, aiohttp_client, recorded, tmp_path / "tape", admin)  # audited

    text = (tape / "tape.jsonl").read_text("utf-8")
    assert "admin" not in text  # the password is nowhere, nor the user name that is it
    lines = [json.loads(line) for line in text.splitlines()[1:]]
    assert {line["request"]["user"] for line in lines} == {"[user:1]"}
    assert set(re.findall(r'"createdBy": ("[^"]*")', text)) == {'"[user:1]"'}  # each job's
    for side_file in (tape / "bodies").iterdir():  # the log ZIP's "user=admin]" and "by admin" too
        assert b"admin" not in side_file.read_bytes()

    scenario_file = tmp_path / "replayed.yaml"
    assert main(["scenario-from", str(tape), "-o", str(scenario_file)]) == 0
    written = scenario_file.read_text("utf-8")
    assert re.search(r"\[user:1\] \(line \d+\) logged in with its user name as its password", written)
    server = await aiohttp_server(create_app(scenario=read_file(scenario_file)))
    url = str(server.make_url("")).rstrip("/")
    assert await login_status(url, admin) == 200  # the same login replays
    assert await login_status(url, basic("admin", "wrong")) == 401  # admin keeps its password


async def test_a_user_whose_name_is_no_secret_replays_with_any_password(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    password = "jdoe-pw-5b7e"
    recorded = create_app(scenario=parse_scenario(RECORDED), overrides={"users": {"jdoe": password}})
    tape = await record(aiohttp_server, aiohttp_client, recorded, tmp_path / "tape", basic("jdoe", password))
    assert password not in (tape / "tape.jsonl").read_text("utf-8")
    scenario_file = tmp_path / "replayed.yaml"
    assert main(["scenario-from", str(tape), "-o", str(scenario_file)]) == 0
    settings = yaml.safe_load(scenario_file.read_text("utf-8"))["settings"]
    assert settings["any_password_users"] == ["jdoe"] and "users" not in settings
    server = await aiohttp_server(create_app(scenario=read_file(scenario_file)))
    url = str(server.make_url("")).rstrip("/")
    assert await login_status(url, basic("jdoe", password)) == 200  # the recorded login, never written
    assert await login_status(url, basic("jdoe", "another")) == 200
    assert await login_status(url, basic("eve", password)) == 401  # only the users seen
    assert await login_status(url, basic("admin", "admin")) == 200  # the default users are kept


def test_the_proxy_says_once_at_its_start_what_it_redacts(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "proxy", "--upstream", "http://127.0.0.1:9", "--port", "0",
         "--record", str(tmp_path / "tape"), "--redact", "x-my-secret", "--redact", "/auth/pin",
         "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready_url(ready, process)  # the proxy listens
    finally:
        out, err = stopped_output(process)
    notices = [line for line in err.splitlines() if "recording redacts" in line]
    assert len(notices) == 1, err
    notice = notices[0]
    for said in ("Basic password", "Bearer tokens", "x-my-secret", "/auth/pin", "[user:1]", "admin:admin"):
        assert said in notice, notice
    assert process.returncode == 0, err
    _ = out


def test_settings_any_password_users_lets_only_those_users_in_with_any_password() -> None:
    from mock_server.core.settings import resolve
    from mock_server.http.auth import authenticate

    settings = resolve(scenario={"any_password_users": ("jdoe",)})
    assert authenticate(basic("jdoe", "whatever")["Authorization"], settings) == "jdoe"
    assert authenticate(basic("admin", "admin")["Authorization"], settings) == "admin"
    assert authenticate(basic("admin", "nope")["Authorization"], settings) is None
    assert authenticate(basic("eve", "whatever")["Authorization"], settings) is None
    parsed: Any = parse_scenario("description: x\nsettings: {any_password_users: [jdoe]}\n")
    assert parsed is not None


def test_scenario_from_keeps_the_users_the_upstream_let_in_not_those_it_refused() -> None:
    from mock_server.recording.tape_answers import Seen
    from mock_server.recording.tape_reader import Exchange

    seen = Seen()
    for line, (user, status) in enumerate([("jdoe", 200), ("eve", 401), ("[user:1]", 200), ("jdoe", 200)], 2):
        request = {"method": "GET", "path": "/bin/guides/v1/assets/process/history", "user": user}
        seen.read(Exchange(line, 0, "history", request, {"status": status, "body": None}))
    settings = {key: value for key, value, _ in seen.settings(set(), {})}
    assert settings == {"any_password_users": ["jdoe"]}  # eve was refused; [user:1] is no name
    assert len(seen.user_notes()) == 1 and seen.user_notes()[0].startswith("[user:1] (line 4)")
