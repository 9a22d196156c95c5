"""The exception-to-status table (api/error_statuses.py): every error of the core has a row, and
each row's status, headers and body are what the mock answers over a real socket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server import Settings
from mock_server.api.error_statuses import ERROR_STATUSES, Body, api_status, error_status
from mock_server.api.operations import ASSET_STATUS_PATH, BASE_PATH, Call, Operation, Reply
from mock_server.core import errors
from mock_server.core.errors import MockError, Violation
from tests.support.client import ApiClient, MakeApi

START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
SWITCHED = Settings(unknown_id_status=404, conflict_status=409)


def _classes() -> set[type[BaseException]]:
    return {
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }


def _instance(cls: type[MockError]) -> MockError:
    """An instance of ``cls`` as the core raises it."""
    if issubclass(cls, errors.UnknownJob):
        return cls("no-such-id")
    if issubclass(cls, errors.ScenarioError):
        return cls(["<test>:1: a problem"])
    if issubclass(cls, errors.ContractViolation):
        return cls("broken", [Violation("body:/x", "broken", "a string")])
    return cls("refused")


def _row(cls: type[MockError]) -> Any:
    (row,) = [row for row in ERROR_STATUSES if row.error is cls]
    return row


def test_every_exception_class_of_core_errors_has_one_row() -> None:
    listed = [row.error for row in ERROR_STATUSES]
    assert len(listed) == len(set(listed)), "a class has two rows"
    assert set(listed) == _classes()


@pytest.mark.parametrize("cls", [row.error for row in ERROR_STATUSES], ids=lambda c: c.__name__)
def test_an_error_takes_the_row_of_its_own_class(cls: type[MockError]) -> None:
    assert error_status(_instance(cls)).error is cls


def test_a_subclass_without_a_row_takes_its_nearest_ancestors() -> None:
    class Busier(errors.JobConflict):
        pass

    assert error_status(Busier("busy")).error is errors.JobConflict
    assert api_status(Busier("busy"), SWITCHED) == 409


@pytest.mark.parametrize(
    ("cls", "default", "switched", "admin"),
    [
        (errors.UnknownJob, 400, 404, 404),
        (errors.UnknownStatusJob, 400, 404, 404),
        (errors.QueueFull, 429, 429, 409),
        (errors.JobConflict, 400, 409, 409),
        (errors.InvalidTransition, 400, 409, 409),
        (errors.JobError, 400, 400, 409),
        (errors.ResponseViolation, 500, 500, 500),
        (errors.ScenarioSuperseded, 500, 500, 409),
        (errors.ScenarioError, 500, 500, 400),
        (errors.SettingError, 500, 500, 400),
        (MockError, 500, 500, 500),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value),
)
def test_the_statuses_the_docs_promise(cls: type[MockError], default: int, switched: int, admin: int) -> None:
    error = _instance(cls)
    assert (api_status(error, Settings()), api_status(error, SWITCHED)) == (default, switched)
    assert _row(cls).admin_status == admin
    assert _row(cls).bug == (default == 500)


def test_a_request_violation_is_an_unknown_id_only_when_all_it_lacks_is_the_id() -> None:
    missing = Violation("query:processingId", "`processingId` is required", "a string", keyword="required")
    wrong = Violation("query:offset", "`offset`: expected an integer", "an integer", "x", keyword="type")
    assert api_status(errors.RequestViolation("m", [missing]), SWITCHED) == 404
    assert api_status(errors.RequestViolation("m", [missing, wrong]), SWITCHED) == 400
    assert api_status(errors.RequestViolation("m", [missing]), Settings()) == 400
    typed = Violation("body:/processingId", "`processingId`: a string", "a string", 7, keyword="type")
    assert api_status(errors.RequestViolation("m", [typed]), SWITCHED) == 400


# --- over a real socket ---------------------------------------------------------------------------------


async def _finished_job(api: ApiClient) -> str:
    pid = await api.start()
    await api.advance(60)
    assert (await api.status(pid))["status"] == "SUCCESS"
    return pid


Trigger = Callable[[ApiClient], Any]


async def _unknown_job(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.get(f"{BASE_PATH}/status", params={"processingId": "nope"}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _unknown_job_in_body(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.post(f"{BASE_PATH}/cancel", json={"processingId": "nope"}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _unknown_status_job(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.get(ASSET_STATUS_PATH, params={"jobId": "nope"}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _busy_path(api: ApiClient) -> tuple[int, Any, Any]:
    await api.start()
    async with api.http.post(BASE_PATH, json=START, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _cancel_finished(api: ApiClient) -> tuple[int, Any, Any]:
    pid = await _finished_job(api)
    async with api.http.post(f"{BASE_PATH}/cancel", json={"processingId": pid}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _absent_path(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.post(
        BASE_PATH, json={**START, "path": "/content/dam/absent"}, headers=api.headers
    ) as r:
        return r.status, await r.json(), r.headers


async def _missing_id(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.get(f"{BASE_PATH}/status", headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _id_of_wrong_type(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.post(f"{BASE_PATH}/cancel", json={"processingId": 7}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


async def _bad_type(api: ApiClient) -> tuple[int, Any, Any]:
    async with api.http.post(BASE_PATH, json={**START, "type": 7}, headers=api.headers) as r:
        return r.status, await r.json(), r.headers


@pytest.mark.parametrize(
    ("trigger", "cls", "default", "switched", "where"),
    [
        (_unknown_job, errors.UnknownJob, 400, 404, "query:processingId"),
        (_unknown_job_in_body, errors.UnknownJob, 400, 404, "body:/processingId"),
        (_unknown_status_job, errors.UnknownStatusJob, 400, 404, "query:jobId"),
        (_busy_path, errors.JobConflict, 400, 409, None),
        (_cancel_finished, errors.InvalidTransition, 400, 409, None),
        (_absent_path, errors.JobError, 400, 400, None),
        (_missing_id, errors.RequestViolation, 400, 404, "query:processingId"),
        (_id_of_wrong_type, errors.RequestViolation, 400, 400, "body:/processingId"),
        (_bad_type, errors.RequestViolation, 400, 400, "body:/type"),
    ],
    ids=lambda value: getattr(value, "__name__", "").strip("_") or None,
)
@pytest.mark.parametrize("switched_on", [False, True], ids=["defaults", "switched"])
async def test_each_error_of_the_engine_answers_its_row_over_a_socket(
    make_api: MakeApi,
    trigger: Callable[[ApiClient], Any],
    cls: type[MockError],
    default: int,
    switched: int,
    where: str | None,
    switched_on: bool,
) -> None:
    api = await make_api(SWITCHED if switched_on else Settings())
    status, body, _ = await trigger(api)
    expected = switched if switched_on else default
    assert status == expected, body
    if cls is not errors.RequestViolation:  # its status depends on what it lacks: tested above
        assert api_status(_instance(cls), api.mock.settings) == expected
    assert body["status"] == expected and body["message"] and body["path"]
    assert ("violations" in body) == (_row(cls).body is Body.VIOLATIONS), body
    if where is not None:
        assert body["violations"][0]["where"] == where, body
    (exchange,) = [e for e in api.mock.journal if e.status == status]
    assert bool(exchange.request_violations) == _row(cls).breaks_contract


async def test_a_full_queue_is_429_with_retry_after(make_api: MakeApi) -> None:
    api = await make_api(Settings(max_active_jobs=1))
    await api.start("/content/dam/22858")
    async with api.http.post(
        BASE_PATH, json={**START, "path": "/content/dam/demo"}, headers=api.headers
    ) as r:
        status, body, headers = r.status, await r.json(), r.headers
    assert (status, headers.get("Retry-After")) == (429, "1"), body
    assert "max_active_jobs" in body["message"] and "violations" not in body


async def test_an_error_of_the_mock_from_a_handler_is_a_logged_500(
    api: ApiClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer: Callable[[Operation, Call], Reply] = api.mock.api.answer

    def broken(operation: Operation, call: Call) -> Reply:
        if operation.name == "history":
            raise errors.ResponseViolation("the mock broke it", [Violation("body:/x", "m", "e")])
        return answer(operation, call)

    monkeypatch.setattr(api.mock.api, "answer", broken)
    status, body = await api.get(f"{BASE_PATH}/history")
    assert status == 500 and body["status"] == 500, body
    assert "unexpected error answering GET" in caplog.text


# --- the mock's own routes --------------------------------------------------------------------------------


async def test_the_admin_api_answers_an_unknown_job_404_and_a_refused_move_409(api: ApiClient) -> None:
    status, body = await api.admin("GET", "/jobs/nope")
    assert (status, body["status"]) == (404, 404) and "nope" in body["message"]
    pid = await _finished_job(api)
    status, body = await api.admin("POST", f"/jobs/{pid}/cancel")
    assert (status, body["status"]) == (409, 409), body
    assert "problems" not in body


@pytest.mark.parametrize(
    ("document", "problem"),
    [("clock: soon\n", "<admin>:1: clock"), ("settings:\n  speed: -1\n", "<admin>:2: settings.speed")],
)
async def test_a_scenario_the_admin_api_cannot_load_is_400_with_its_problems(
    api: ApiClient, document: str, problem: str
) -> None:
    status, body = await api.admin("PUT", "/scenario", data=document, headers={"Content-Type": "text/plain"})
    assert (status, body["status"]) == (400, 400), body
    assert body["message"] == "the scenario was not loaded; the last good one stays"
    assert any(problem in p for p in body["problems"]), body
    assert _row(errors.ScenarioError).body is Body.PROBLEMS


def test_the_table_in_docs_contract_md_is_the_code_s() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text(encoding="utf-8")
    section = text.split("### What the core's errors answer", 1)[1].split("\n## ", 1)[0]
    documented = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    in_code = [
        [f"`{row.error.__name__}`", str(row.status), str(row.admin_status), row.body.value, row.why]
        for row in ERROR_STATUSES
    ]
    assert [[r[0], r[1].split(" ")[0].rstrip(","), r[2], r[3], r[4]] for r in documented] == in_code
    for line, row in zip(documented, ERROR_STATUSES, strict=True):
        assert (row.setting or "") in line[1] and all(f"{k}: {v}" in line[1] for k, v in row.headers.items())
