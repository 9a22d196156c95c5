"""A scenario from a tape: tapes written by hand, as the recording proxy writes them, turned into
scenarios that load, say what the tape showed, and serve the same jobs again."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server import MockServer
from mock_server.cli import main
from mock_server.core.logformat import format_timestamp
from mock_server.http.runtime import Mock
from mock_server.recording import to_scenario
from mock_server.recording.tape_reader import TapeError, open_tape
from mock_server.recording.to_scenario import scenario_from_tape
from mock_server.scenarios.reading import parse_scenario
from mock_server.scenarios.scenario import Scenario
from tests.support.constants import BASE

T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC, the recorded author's clock
TAG = "INFO: [ASSET_PROCESSING]"
#: A folder of the recorded author: its own assets first, then its subfolder's (the mock's order too).
ASSETS = [
    ("/content/dam/rec/intro.dita", "DITATOPIC"),
    ("/content/dam/rec/guide.ditamap", "DITAMAP"),
    ("/content/dam/rec/notes.md", "MARKDOWN"),
    ("/content/dam/rec/print.ditaval", "DITAVAL"),
    ("/content/dam/rec/sub/page.html", "HTML/CSS"),
    ("/content/dam/rec/sub/logo.png", "OTHERS"),
    ("/content/dam/rec/sub/glossary.xml", "DITAMAP"),  # not the type its name suggests
]


class TapeWriter:
    """A tape, one exchange at a time, with answers in the mock's shapes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rows: list[dict[str, Any]] = [
            {"tape": "aem-guides-mock", "version": 1, "upstream": "http://aem:4502"}
        ]

    def add(self, at_ms: int, operation: str | None, method: str, path: str, status: int, answer: Any = None,
            *, query: str = "", body: Any = None, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.rows.append({
            "at_ms": at_ms, "operation": operation,
            "request": {"method": method, "path": path, "query": query, "headers": {}, "body": body},
            "response": {"status": status, "headers": headers or {}, "body": answer, "elapsed_ms": 3},
        })  # fmt: skip

    def start(self, at_ms: int, path: str, pid: str) -> None:
        body = {"path": path, "type": "ASSET_PROCESSING"}
        self.add(at_ms, "start", "POST", BASE, 200, {"processingId": pid}, body=body)

    def status(self, at_ms: int, state: dict[str, Any], status: int = 200, pid: str = "") -> None:
        query = f"processingId={pid or state['processingId']}"
        self.add(at_ms, "status", "GET", f"{BASE}/status", status, state, query=query)

    def logs(self, at_ms: int, pid: str, lines: list[str], limit: int) -> None:
        """The whole log, read in pages of ``limit`` lines as a client reads it."""
        for offset in range(0, len(lines), limit):
            page = {"lines": lines[offset : offset + limit], "offset": offset, "limit": limit,
                    "hasMore": offset + limit < len(lines)}  # fmt: skip
            query = f"processingId={pid}&offset={offset}&limit={limit}"
            self.add(at_ms, "logs", "GET", f"{BASE}/logs", 200, page, query=query)

    def write(self) -> Path:
        self.directory.mkdir(exist_ok=True)
        text = "".join(json.dumps(row) + "\n" for row in self.rows)
        (self.directory / "tape.jsonl").write_text(text, encoding="utf-8")
        return self.directory


def state(pid: str, path: str, status: str, done: int, total: int, comments: str = "") -> dict[str, Any]:
    """A status answer (job.schema.json), its flags as §3.17 sets them for ``status``."""
    ended = status in ("SUCCESS", "FAILED", "CANCELLED")
    return {
        "processingId": pid, "path": path, "excludedPaths": [], "status": status, "triggeredCount": done,
        "startedAt": T0, "completedAt": T0 + 60_000 if ended else 0, "hasLogs": True, "createdBy": "admin",
        "type": "ASSET_PROCESSING", "migrationSet": {"totalFiles": total, "calculationStatus": "SUCCESS"},
        "eta": {"value": 0, "unit": "SECONDS"}, "comments": comments, "restartable": status == "SUCCESS",
        "resumable": status in ("FAILED", "CANCELLED"), "cancellable": not ended,
    }  # fmt: skip


def job_log(pid: str, path: str, assets: list[tuple[str, str]], counting: int, pace: int,
            total: int | None = None, failure: str = "") -> list[str]:  # fmt: skip
    """The lines a Guides author writes for a job over ``assets`` (the mock's joblog/jobs shapes)."""
    total = len(assets) if total is None else total
    counted = T0 + counting
    lines = [
        f"{format_timestamp(T0)}: {TAG} Bulk processing job started [processingId={pid}, path={path}, "
        "excludedPaths=[], user=admin]",
        f"{format_timestamp(T0)}: {TAG} Calculating assets to process under {path}",
        f"{format_timestamp(counted)}: {TAG} Counting completed [totalFiles={total}]",
    ]
    for i, (asset, kind) in enumerate(assets, 1):
        text = f"Processing asset [{i}/{total}] {asset} [type={kind}]"
        lines.append(f"{format_timestamp(counted + i * pace)}: {TAG} {text}")
    end = counted + len(assets) * pace
    if failure:
        lines.append(
            f"{format_timestamp(end)}: ERROR: [ASSET_PROCESSING] Bulk processing job failed: {failure}"
        )
    outcome = "FAILED" if failure else "SUCCESS"
    return [
        *lines,
        f"{format_timestamp(end)}: {TAG} Bulk processing job completed [status={outcome}]. Exiting...",
    ]


def generate(directory: Path) -> tuple[str, Scenario]:
    """The scenario's text, and what the project's reader makes of it."""
    with open_tape(directory) as tape:
        text = scenario_from_tape(tape).text
    scenario = parse_scenario(text, "generated.yaml", "generated")
    assert not Mock(scenario, environ={}).warnings, text  # what `check --strict` asks too
    return text, scenario


def read_all(path: Path, **caps: Any) -> int:
    """Read every exchange of the tape at ``path`` (open_tape's ``caps``); how many there are."""
    with open_tape(path, **caps) as tape:
        return sum(1 for _ in tape.exchanges())


def successful_job(tmp_path: Path) -> Path:
    tape = TapeWriter(tmp_path / "ok")
    tape.start(0, "/content/dam/rec", "job-1")
    tape.status(50, {**state("job-1", "/content/dam/rec", "WAITING", 0, 0), "startedAt": 0})
    tape.status(900, state("job-1", "/content/dam/rec", "IN_PROGRESS", 2, 7))
    tape.status(2500, state("job-1", "/content/dam/rec", "SUCCESS", 7, 7))
    tape.logs(2600, "job-1", job_log("job-1", "/content/dam/rec", ASSETS, counting=170, pace=230), limit=3)
    return tape.write()


def test_a_successful_job_gives_its_assets_with_their_types_and_its_pace(tmp_path: Path) -> None:
    text, scenario = generate(successful_job(tmp_path))
    assert scenario.repository_spec["base"] == "empty"
    assert [(a["path"], a["type"]) for a in scenario.repository_spec["assets"]] == ASSETS
    assert scenario.repository_spec["folders"] == ["/content/dam/rec"]
    assert "generate" not in scenario.repository_spec  # the logs named every asset counted
    assert abs(scenario.settings_changes["per_asset_ms"] - 230) <= 1
    assert abs(scenario.settings_changes["counting_ms"] - 170) <= 1
    assert scenario.jobs == () and scenario.faults == ()
    assert text.startswith("# Generated by `aem-guides-mock scenario-from` from ")
    assert "(http://aem:4502, 8 exchange(s))" in text


FAILING = "/content/dam/failing"
COMMENTS = f"Could not extract metadata: {FAILING}/part-2/topic-37.dita"


def failed_job(tmp_path: Path) -> Path:
    """A job over 50 assets that FAILED after 36, its log naming them and the comment the 37th."""
    tape = TapeWriter(tmp_path / "failed")
    tape.start(0, FAILING, "job-f")
    tape.status(9000, state("job-f", FAILING, "FAILED", 36, 50, COMMENTS))
    log = job_log("job-f", FAILING, topics(36), 100, 200, total=50, failure=COMMENTS)
    log[-1:-1] = [
        "java.lang.IllegalStateException: no metadata",
        "\tat com.adobe.guides.Extract(Extract.java:42)",
    ]
    tape.logs(9100, "job-f", log, limit=500)
    return tape.write()


def test_a_job_that_failed_after_36_assets_fails_at_37_with_its_comment(tmp_path: Path) -> None:
    text, scenario = generate(failed_job(tmp_path))
    (script,) = scenario.jobs
    assert (script.path, script.nth, script.fail_at) == (FAILING, None, 37)
    assert script.comment == "Could not extract metadata"
    assert "# job job-f (/content/dam/failing) FAILED after 36 asset(s)" in text
    assets = [a["path"] for a in scenario.repository_spec["assets"]]
    assert assets == [a for a, _ in topics(37)]  # the 37th from the comment
    assert scenario.repository().count(FAILING) == 50  # 13 placeholders after the 37 known
    assert "# - 2 log line(s) of 1 job(s) have no timestamp of the job log's format" in text  # the trace


def topics(count: int) -> list[tuple[str, str]]:
    """The failing job's assets: 20 in its folder, then the rest in a subfolder (processed after)."""
    return [(f"{FAILING}{'/part-2' * (i > 20)}/topic-{i}.dita", "DITATOPIC") for i in range(1, count + 1)]


def test_a_404_for_an_unknown_id_and_a_409_conflict_become_settings(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "ids")
    tape.start(0, "/content/dam/rec", "job-1")
    error = {"status": 404, "error": "Not Found", "message": "no job", "path": f"{BASE}/status"}
    tape.status(5, {**error, "status": 400}, 400, "x" * 300)  # too long an id: a 400 whatever the setting
    tape.status(10, error, 404, "nope")
    tape.add(20, "start", "POST", BASE, 409, {**error, "status": 409}, body={"path": "/content/dam/rec"})
    tape.status(30, state("job-1", "/content/dam/rec", "SUCCESS", 7, 7))
    _, scenario = generate(tape.write())
    assert scenario.settings_changes["unknown_id_status"] == 404
    assert scenario.settings_changes["conflict_status"] == 409
    assert scenario.faults == ()  # the upstream's way of refusing, not a fault


def test_a_400_for_an_unknown_id_keeps_the_default(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "ids400")
    tape.status(10, {"processingId": "nope"}, status=400)
    _, scenario = generate(tape.write())
    assert scenario.settings_changes["unknown_id_status"] == 400


def test_5xx_and_401_answers_become_faults_where_they_came_and_a_cancel_a_note(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "faults")
    tape.start(0, "/content/dam/rec", "job-1")
    for call in range(1, 12):  # status calls: every 3rd a 503; a cancel; then the token lapses
        if call == 10:
            cancelled = state("job-1", "/content/dam/rec", "CANCELLED", 8, 7)
            tape.add(1000, "cancel", "POST", f"{BASE}/cancel", 200, cancelled, body={"processingId": "job-1"})
        if call >= 10:
            tape.status(call * 100, {"status": 401, "error": "Unauthorized"}, 401, "job-1")
        elif call % 3 == 0:
            tape.status(call * 100, {"message": "busy"}, 503, "job-1")
            tape.rows[-1]["response"]["headers"] = {"retry-after": "1"}
        else:
            tape.status(call * 100, state("job-1", "/content/dam/rec", "IN_PROGRESS", call, 7))
    text, scenario = generate(tape.write())
    busy, lapsed = scenario.faults
    assert (busy.endpoints, busy.when.kind, busy.when.n, busy.status) == (
        frozenset({"status"}),
        "every",
        3,
        503,
    )
    assert (busy.retry_after, busy.body) == (1, {"message": "busy"})
    assert (lapsed.when.kind, lapsed.when.n, lapsed.status) == ("from", 12, 401)  # counting every call
    assert "job job-1 (/content/dam/rec) was cancelled by the client at +1.0s" in text
    assert abs(scenario.settings_changes["per_asset_ms"] - 100) <= 1  # from triggeredCount over time


def test_renamed_statuses_an_eta_unit_and_a_counting_failure_are_read_from_the_answers(
    tmp_path: Path,
) -> None:
    tape = TapeWriter(tmp_path / "names")
    tape.start(0, "/content/dam/rec", "job-1")
    running = {**state("job-1", "/content/dam/rec", "IN_PROGRESS", 1, 7), "status": "RUNNING"}
    tape.status(100, {**running, "eta": {"value": 1, "unit": "MINUTES"}})
    tape.status(900, {**state("job-1", "/content/dam/rec", "SUCCESS", 7, 7), "status": "DONE"})
    stopped = state("job-3", "/content/dam/rec", "CANCELLED", 0, 7)
    tape.add(
        950,
        "cancel",
        "POST",
        f"{BASE}/cancel",
        200,
        {**stopped, "status": "STOPPED"},
        body={"processingId": "job-3"},
    )
    tape.start(1000, "/content/dam/other", "job-2")
    failed = state("job-2", "/content/dam/other", "FAILED", 0, 0, "Asset count query timed out")
    tape.status(1100, {**failed, "migrationSet": {"totalFiles": 0, "calculationStatus": "FAILED"}})
    _, scenario = generate(tape.write())
    assert scenario.settings_changes["status_names"]["IN_PROGRESS"] == "RUNNING"
    assert scenario.settings_changes["status_names"]["SUCCESS"] == "DONE"
    assert scenario.settings_changes["status_names"]["CANCELLED"] == "STOPPED"
    assert scenario.settings_changes["eta_unit"] == "MINUTES"
    (script,) = scenario.jobs
    assert (script.path, script.counting_failure, script.fail_at) == (
        "/content/dam/other",
        "Asset count query timed out",
        None,
    )


def test_a_downloaded_log_names_the_assets_and_a_body_file_outside_the_tape_is_ignored(
    tmp_path: Path,
) -> None:
    tape = TapeWriter(tmp_path / "zip")
    tape.start(0, "/content/dam/rec", "job-1")
    log = job_log("job-1", "/content/dam/rec", ASSETS, counting=170, pace=230)
    (tmp_path / "zip" / "bodies").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "zip" / "bodies" / "0002-response.zip", "w") as archive:
        archive.writestr("job-1.log", "\n".join(log))
    shutil.copy(tmp_path / "zip" / "bodies" / "0002-response.zip", tmp_path / "outside.zip")
    for body_file in ("../outside.zip", "bodies/0002-response.zip"):
        tape.add(100, "download", "GET", f"{BASE}/logs/download", 200, query="processingId=job-1")
        tape.rows[-1]["response"]["body_file"] = body_file
    _, scenario = generate(tape.write())
    assert [(a["path"], a["type"]) for a in scenario.repository_spec["assets"]] == ASSETS
    tape.rows.pop()
    _, scenario = generate(tape.write())
    assert "assets" not in scenario.repository_spec  # the ZIP outside the tape's directory is not read
    zipped = (tmp_path / "outside.zip").read_bytes()
    member = zipped.index(b"Bulk processing")  # stored, not compressed: its CRC no longer fits
    (tmp_path / "zip" / "broken.zip").write_bytes(zipped[:member] + b"X" + zipped[member + 1 :])
    tape.rows[-1]["response"]["body_file"] = "broken.zip"
    with pytest.raises(TapeError, match=r"tape.jsonl:3: body_file broken.zip: Bad CRC-32"):
        generate(tape.write())


def test_what_else_the_answers_show_becomes_settings_faults_or_notes(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "rest")
    start = {"path": "/content/dam/rec/one.dita", "type": "ASSET_PROCESSING", "filter": {"startTime": T0}}
    tape.add(0, "start", "POST", BASE, 200, {"processingId": "job-1"}, body=start)  # a job on one asset
    tape.status(10, state("job-1", "/content/dam/rec/one.dita", "SUCCESS", 1, 1))
    tape.add(
        20,
        "restart",
        "POST",
        f"{BASE}/restart",
        200,
        {"processingId": "job-2"},
        body={"processingId": "job-1"},
    )
    tape.add(30, "system-status", "GET", "/bin/guides/v1/system/status", 200, {"isDatabase": True})
    tape.add(
        40,
        "download",
        "GET",
        f"{BASE}/logs/download",
        200,
        {"logFilePaths": ["/x.log"]},
        query="processingId=job-2",
    )
    tape.add(50, None, "GET", "/libs/granite/csrf/token.json", 200, {"token": "t"})  # not an operation
    tape.add(60, None, "GET", f"{BASE}/history", 504, None)
    tape.status(70, state("job-9", "/../above-the-root", "SUCCESS", 0, 0))  # not a path a job could have
    for call in range(1, 41):  # logs calls: 12 scattered 500s (as often as they came), two 502s (where)
        status = 500 if call % 3 == 1 and call < 36 else 502 if call in (2, 5) else 200
        tape.add(
            100 + call,
            "logs",
            "GET",
            f"{BASE}/logs",
            status,
            {"lines": [], "offset": 0},
            query="processingId=job-1",
        )
    text, scenario = generate(tape.write())
    assert scenario.repository_spec["assets"] == [{"path": "/content/dam/rec/one.dita", "type": "DITATOPIC"}]
    assert "folders" not in scenario.repository_spec
    changes = scenario.settings_changes
    assert (changes["restart_endpoint"], changes["is_database"], changes["download_mode"]) == (
        True,
        True,
        "json",
    )
    crashes, *bad_gateway = scenario.faults
    assert (crashes.when.kind, crashes.when.probability, crashes.status) == ("probability", 0.3, 500)
    assert [(f.when.kind, f.when.n, f.status) for f in bad_gateway] == [("nth", 2, 502), ("nth", 5, 502)]
    assert "# - history answered 504 (line 8); a fault cannot answer 504" in text
    assert "filtered on creation times, which a tape does not show: set `created`" in text
    assert "# - job job-9: no answer named its path, so it is not replayed" in text


def test_an_answer_of_another_shape_is_refused(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "odd")
    tape.status(10, {"processingId": "job-1", "status": "SUCCESS", "path": "/content/dam/x"})
    with pytest.raises(TapeError, match=r"tape.jsonl:2: `migrationSet` of job job-1 must be an object"):
        generate(tape.write())


def test_without_logs_the_pace_comes_from_status_answers(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "paced")
    tape.start(0, "/content/dam/rec", "job-1")
    tape.status(1000, state("job-1", "/content/dam/rec", "IN_PROGRESS", 2, 10))
    tape.status(1500, state("job-1", "/content/dam/rec", "IN_PROGRESS", 4, 10))
    done = state("job-1", "/content/dam/rec", "SUCCESS", 10, 10)
    tape.status(4000, {**done, "completedAt": T0 + 300 + 10 * 250})  # counting 300 ms, 10 assets at 250
    text, scenario = generate(tape.write())
    assert (scenario.settings_changes["per_asset_ms"], scenario.settings_changes["counting_ms"]) == (250, 300)
    assert "# triggeredCount over time in status answers (approximate)" in text


def test_failures_history_shows_from_before_the_tape_are_scripted_once_and_never_over_the_tapes(
    tmp_path: Path,
) -> None:
    tape = TapeWriter(tmp_path / "history")
    tape.start(0, "/content/dam/rec", "job-1")
    history = [
        state("job-1", "/content/dam/rec", "SUCCESS", 7, 7),
        state("job-0", "/content/dam/rec", "FAILED", 3, 7, "boom"),  # its path is the tape's job's
        state("job-a", "/content/dam/other", "FAILED", 3, 7, "bang"),
        state("job-b", "/content/dam/other", "FAILED", 2, 7, "bang again"),  # a second script would never run
    ]
    tape.add(10, "history", "GET", f"{BASE}/history", 200, {"executionHistory": history})
    text, scenario = generate(tape.write())
    (script,) = scenario.jobs
    assert (script.path, script.fail_at, script.comment) == ("/content/dam/other", 4, "bang")
    assert (
        "# - job job-0 (/content/dam/rec) FAILED, but another job's script takes the starts on its path"
        in text
    )
    assert "# - job job-b (/content/dam/other) FAILED, but another job's script takes" in text


HEADER = '{"tape": "aem-guides-mock", "version": 1}'
EXCHANGE = (
    '{"at_ms": 0, "operation": null, "request": {"method": "GET", "path": "/"}, "response": {"status": 200}}'
)


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        (['{"tape": "something-else", "version": 1}'], 1, "not a tape header"),
        (['{"tape": "aem-guides-mock", "version": 2}'], 1, "tape version 2; this reads version 1"),
        ([HEADER, *[EXCHANGE] * 5, '{"at_ms": 7,'], 7, "not JSON"),
        ([HEADER, "", '{"at_ms": 1, "request": {}, "response": {}}'], 3,
         "an exchange needs `request` with `method` and `path`"),
        ([HEADER, "\xff"], 2, "not UTF-8"),
        ([HEADER, EXCHANGE.replace("200", "NaN")], 2, "not JSON: NaN is not a JSON value"),
        ([HEADER, "[" * 100_000], 2, "not JSON: nested too deeply"),
        ([HEADER, EXCHANGE.replace("200", '"200"')], 2, "needs `response` with `status` (an integer)"),
        ([HEADER, EXCHANGE.replace('"at_ms": 0', '"at_ms": 0.5')], 2, "`at_ms` must be an integer, got 0.5"),
        ([], 1, "the file is empty"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_tape_is_refused_naming_the_line(
    tmp_path: Path, rows: list[str], line: int, message: str
) -> None:
    file = tmp_path / "tape.jsonl"
    file.write_bytes("".join(f"{row}\n" for row in rows).encode("latin-1"))
    with pytest.raises(TapeError) as caught:
        read_all(tmp_path)
    assert f"tape.jsonl:{line}: " in str(caught.value) and message in str(caught.value)


def test_a_tape_or_a_line_too_large_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "tape.jsonl"
    file.write_text('{"tape": "aem-guides-mock", "version": 1}\n' + "x" * 101 + "\n")
    with pytest.raises(TapeError, match=r"tape.jsonl:2: the line is longer than 100 bytes"):
        read_all(file, max_line_bytes=100)
    with pytest.raises(TapeError, match=r"a tape may hold 100 bytes"):
        read_all(file, max_bytes=100)
    with pytest.raises(TapeError, match=r"missing/tape.jsonl: cannot read it: No such file"):
        read_all(tmp_path / "missing" / "tape.jsonl")


def test_more_assets_than_a_scenario_holds_become_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(to_scenario, "_ASSET_BYTES", sum(len(path) + 40 for path, _ in ASSETS[:3]))
    text, scenario = generate(successful_job(tmp_path))
    assert [a["path"] for a in scenario.repository_spec["assets"]] == [a for a, _ in ASSETS[:3]]
    assert scenario.repository().count("/content/dam/rec") == 7
    assert "# - 4 asset(s) seen are not listed: a scenario holds 1 MiB" in text


def test_the_cli_writes_a_scenario_that_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape, output = successful_job(tmp_path), tmp_path / "recorded.yaml"
    assert main(["scenario-from", str(tape), "-o", str(output)]) == 0
    out, err = capsys.readouterr()
    assert out == f"wrote {output} from {tape}: 1 job(s), 7 asset(s), 0 job script(s), 0 fault(s)\n"
    assert err == ""  # no warning either
    assert main(["check", "--strict", str(output)]) == 0
    assert main(["scenario-from", str(tape / "tape.jsonl"), "-o", str(output)]) == 2  # it exists
    assert "pass --force to overwrite it" in capsys.readouterr().err
    assert main(["scenario-from", str(tape), "-o", str(output), "--force"]) == 0
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tape.jsonl").write_text("[]\n")
    assert main(["scenario-from", str(tmp_path / "bad"), "-o", str(tmp_path / "x.yaml")]) == 3
    assert "tape.jsonl:1: not a tape header" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


def test_the_cli_exits_1_when_the_written_scenario_fails_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = to_scenario.Generated("description: 5\n", 0, 0, 0, 0)
    monkeypatch.setattr(to_scenario, "scenario_from_tape", lambda tape: broken)
    assert main(["scenario-from", str(successful_job(tmp_path)), "-o", str(tmp_path / "s.yaml")]) == 1
    assert "was written but fails the check" in capsys.readouterr().err


def stamp(line: str) -> int:
    """The epoch ms of a log line's timestamp (``2026-01-01 00:00:00:300: ...``)."""
    moment = dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1000 + int(line[20:23])


def serve(scenario: Path, path: str) -> tuple[dict[str, Any], list[str]]:
    """Start a job for ``path`` on the mock serving ``scenario``; the job when it has ended, and its log."""
    with MockServer(scenario=scenario) as server:
        headers = {**server.headers, "Content-Type": "application/json"}
        body = json.dumps({"path": path, "type": "ASSET_PROCESSING"}).encode()
        with urllib.request.urlopen(urllib.request.Request(server.base_url, body, headers)) as answer:
            pid = json.load(answer)["processingId"]
        server.advance(30)
        url = f"{server.base_url}/logs?processingId={pid}&limit=500"
        with urllib.request.urlopen(urllib.request.Request(url, headers=server.headers)) as answer:
            return server.jobs[0], json.load(answer)["lines"]


@pytest.mark.parametrize(
    ("record", "path", "outcome", "total"),
    [(successful_job, "/content/dam/rec", "SUCCESS", 7), (failed_job, FAILING, "FAILED", 50)],
)
def test_the_generated_scenario_serves_the_recorded_job_again(
    tmp_path: Path, record: Callable[[Path], Path], path: str, outcome: str, total: int
) -> None:
    tape = record(tmp_path)
    exchanges = map(json.loads, (tape / "tape.jsonl").read_text().splitlines()[1:])
    pages = [row["response"]["body"] for row in exchanges if row["operation"] == "logs"]
    recorded = [line for page in pages for line in page["lines"]]
    generated = tmp_path / "replay.yaml"
    assert main(["scenario-from", str(tape), "-o", str(generated)]) == 0
    job, served = serve(generated, path)
    assert (job["status"], job["migrationSet"]["totalFiles"]) == (outcome, total)
    assert job["comments"] == ("" if outcome == "SUCCESS" else COMMENTS)  # the same asset fails

    def assets(log: list[str]) -> list[str]:
        return [line for line in log if "Processing asset" in line]

    assert [line[25:] for line in assets(served)] == [line[25:] for line in assets(recorded)]
    pace = (170, {230}) if outcome == "SUCCESS" else (100, {200})
    for log in served, recorded:  # the same pace: counting, then each asset
        started, counted = (
            stamp(next(x for x in log if word in x)) for word in ("started", "Counting completed")
        )
        gaps = {stamp(b) - stamp(a) for a, b in itertools.pairwise([counted_line(log), *assets(log)])}
        assert (counted - started, gaps) == pace


def test_without_logs_a_failure_names_the_same_asset_again(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "polled")  # a client that polls and never reads a log
    tape.start(0, FAILING, "job-f")
    tape.status(9000, state("job-f", FAILING, "FAILED", 36, 50, COMMENTS))
    generated = tmp_path / "replay.yaml"
    assert main(["scenario-from", str(tape.write()), "-o", str(generated)]) == 0
    job, served = serve(generated, FAILING)
    assert (job["status"], job["triggeredCount"], job["migrationSet"]["totalFiles"]) == ("FAILED", 36, 50)
    assert job["comments"] == COMMENTS  # 36 placeholders before it, in its folder
    assert sum("Processing asset" in line for line in served) == 36


def counted_line(log: list[str]) -> str:
    return next(line for line in log if "Counting completed" in line)
