"""The round trip, over real sockets: a client drives a scenario through the recording proxy in front
of the mock; ``scenario-from`` turns the tape into a scenario; the mock serves that scenario; the same
client through the proxy again records a tape equal to the first once ids and times are normalized."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mock_server import create_app
from mock_server.api.operations import BASE_PATH
from mock_server.cli import main
from mock_server.http.proxy import proxy_app
from mock_server.recording.tape import Recorder
from mock_server.scenarios.reading import parse_scenario, read_file
from tests.support.client import MakeClient, MakeServer

PATIENCE = aiohttp.ClientTimeout(total=10)
AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:rt-secret-8d1f").decode()}

#: The author being recorded: its own small DAM, a job that fails part-way, a history that fails once.
RECORDED = """
name: recorded-author
description: "A small author recorded by the round-trip test."
settings: {per_asset: 700ms, counting: 1500ms}
repository:
  base: empty
  assets:
    - {path: /content/dam/rt/ok/intro.dita, type: DITATOPIC}
    - {path: /content/dam/rt/ok/guide.ditamap, type: DITAMAP}
    - {path: /content/dam/rt/ok/notes.md, type: MARKDOWN}
    - {path: /content/dam/rt/ok/sub/page.html, type: HTML/CSS}
    - {path: /content/dam/rt/ok/sub/logo.png, type: OTHERS}
    - {path: /content/dam/rt/ok/sub/glossary.xml, type: DITAMAP}  # not the type its name suggests
    - {path: /content/dam/rt/bad/one.dita, type: DITATOPIC}
    - {path: /content/dam/rt/bad/two.dita, type: DITATOPIC}
    - {path: /content/dam/rt/bad/three.dita, type: DITATOPIC}
jobs:
  - match: {path: /content/dam/rt/bad}
    processing: {fail_at: 2, comment: "Could not extract metadata"}
faults:
  - {endpoint: history, status: 503, when: {nth: 1}}
"""


async def drive(mock: TestServer, proxy: TestClient[Any, Any], auth: dict[str, str] = AUTH) -> None:
    """What the client does: every operation, a job to SUCCESS, one to FAILED and resumed, errors."""
    async with aiohttp.ClientSession(timeout=PATIENCE) as admin:

        async def advance(seconds: float) -> None:  # the clock is the mock's, not the author's API
            async with admin.post(
                mock.make_url("/__admin/clock/advance"), json={"seconds": seconds}
            ) as moved:
                assert moved.status == 200

        async def call(method: str, path: str, body: Any = None, **query: Any) -> Any:
            async with proxy.request(
                method, BASE_PATH + path, json=body, params=query, headers=auth
            ) as answer:
                data = await answer.read()
                return answer.status, json.loads(data) if answer.content_type == "application/json" else data

        assert (await call("GET", "/../../system/status"))[0] == 200  # /bin/guides/v1/system/status
        assert (await call("GET", "/history"))[0] == 503
        for folder, end in (("/content/dam/rt/ok", "SUCCESS"), ("/content/dam/rt/bad", "FAILED")):
            status, started = await call("POST", "", {"path": folder, "type": "ASSET_PROCESSING"})
            assert status == 200, started
            job = started["processingId"]
            for seconds in (0, 1, 2, 30):
                await advance(seconds)
                status, state = await call("GET", "/status", processingId=job)
            assert state["status"] == end, state
            offset, more = 0, True
            while more:
                status, page = await call("GET", "/logs", processingId=job, offset=offset, limit=3)
                offset, more = offset + len(page["lines"]), page["hasMore"]
            assert (await call("GET", "/logs/download", processingId=job))[0] == 200
        status, resumed = await call("POST", "/resume", {"processingId": job})
        assert status == 200, resumed
        await advance(30)
        assert (await call("GET", "/status", processingId=job))[1]["status"] == "SUCCESS"
        assert (await call("GET", "/history"))[0] == 200
        assert (await call("GET", "/status", processingId="no-such-job"))[0] in (400, 404)


async def record(
    aiohttp_server: MakeServer,
    aiohttp_client: MakeClient,
    app: web.Application,
    tape: Path,
    auth: dict[str, str] = AUTH,
) -> Path:
    """The client's run through a recording proxy in front of ``app``; the tape's directory."""
    mock = await aiohttp_server(app)
    upstream = str(mock.make_url("")).rstrip("/")
    recorder = Recorder(tape, upstream)
    proxy = await aiohttp_client(proxy_app(upstream, recorder=recorder), timeout=PATIENCE)
    await drive(mock, proxy, auth)
    await proxy.close()
    recorder.close()
    return tape


def normalized(tape: Path) -> list[Any]:
    """The tape's exchanges with ids numbered in order of appearance, times and transport left out.

    Kept: the operation, method, path, query, request body, status and response body of every
    exchange, the ZIP's member names and lines; the timestamps the mock's clock wrote (the manual
    clock starts at the same instant in both runs), so that the pace is compared too.
    """
    text = (tape / "tape.jsonl").read_text("utf-8")
    lines = [json.loads(line) for line in text.splitlines()[1:]]
    ids: dict[str, str] = {}
    for line in lines:
        body = line["response"].get("body")
        if line["operation"] == "start" and isinstance(body, dict) and "processingId" in body:
            ids.setdefault(body["processingId"], f"<job {len(ids) + 1}>")
    out = []
    for line in lines:
        response = dict(line["response"])
        if "body_file" in response:
            with zipfile.ZipFile(io.BytesIO((tape / response.pop("body_file")).read_bytes())) as archive:
                response["body"] = {
                    i.filename: archive.read(i).decode().splitlines() for i in archive.infolist()
                }
        request = line["request"]
        out.append({
            "operation": line["operation"],
            "request": [request["method"], request["path"], request["query"], request.get("body")],
            "response": [response["status"], response.get("body"), response["headers"].get("content-type")],
        })  # fmt: skip
    dumped = json.dumps(out, sort_keys=True)
    for job_id, name in ids.items():
        dumped = dumped.replace(job_id, name)
    return list(json.loads(dumped))


async def test_a_recorded_run_replays_as_the_same_run(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    overrides = {"users": {"admin": "rt-secret-8d1f"}}
    recorded = create_app(scenario=parse_scenario(RECORDED), overrides=overrides)
    first = await record(aiohttp_server, aiohttp_client, recorded, tmp_path / "first")

    scenario_file = tmp_path / "replayed.yaml"
    assert main(["scenario-from", str(first), "-o", str(scenario_file)]) == 0
    replayed = create_app(scenario=read_file(scenario_file), overrides=overrides)
    second = await record(aiohttp_server, aiohttp_client, replayed, tmp_path / "second")

    before, after = normalized(first), normalized(second)
    job = ["start", "status", "status", "status", "status"]
    expected = ["system-status", "history", *job, *["logs"] * 4, "download", *job, "logs", "logs"]
    expected += ["download", "resume", "status", "history", "status"]
    assert [line["operation"] for line in before] == expected
    assert [line["operation"] for line in after] == [line["operation"] for line in before]
    for number, (was, now) in enumerate(zip(before, after, strict=True)):
        assert now == was, f"exchange {number} ({was['operation']}) differs after the round trip"
    # the normalization keeps what matters: the runs' jobs, failure and pace are in what was compared
    shown = json.dumps(before)
    assert "<job 1>" in shown and "<job 2>" in shown and "Could not extract metadata" in shown
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", shown)  # the log lines' timestamps
