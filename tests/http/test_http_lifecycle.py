"""Black-box: every lifecycle transition over HTTP, with a manual clock (no sleeping)."""

from __future__ import annotations

import pytest

from mock_server import Settings
from mock_server.api.operations import BASE_PATH
from tests.support.client import ApiClient, MakeApi
from tests.support.constants import FLAGS


def flags(job: dict[str, object]) -> tuple[object, ...]:
    return (job["cancellable"], job["resumable"], job["restartable"])


async def test_documented_example_runs_waiting_counting_in_progress_success(api: ApiClient) -> None:
    started_at = api.clock.now_ms()
    pid = await api.start("/content/dam/22858")

    counting = await api.status(pid)  # the runner is free: it left the queue at once (§3.2)
    assert counting["status"] == "IN_PROGRESS"
    assert counting["migrationSet"] == {"totalFiles": 0, "calculationStatus": "IN_PROGRESS"}
    assert counting["startedAt"] == started_at and counting["completedAt"] == 0
    assert counting["eta"] == {"value": 0, "unit": "SECONDS"}
    assert flags(counting) == FLAGS["IN_PROGRESS"]
    queued = await api.status(await api.start("/content/dam/demo1"))  # behind it: WAITING, as documented
    assert (queued["status"], queued["startedAt"], queued["migrationSet"]) == (
        "WAITING",
        0,
        {"totalFiles": 0, "calculationStatus": "WAITING"},
    )
    assert flags(queued) == FLAGS["WAITING"]

    await api.advance(0.1)  # counting takes 100 ms
    running = await api.status(pid)
    assert running["status"] == "IN_PROGRESS"
    assert running["migrationSet"] == {"totalFiles": 6, "calculationStatus": "SUCCESS"}
    assert running["triggeredCount"] == 0
    assert running["eta"] == {"value": 2, "unit": "SECONDS"}  # 6 x 200 ms, rounded up
    assert flags(running) == FLAGS["IN_PROGRESS"]

    await api.advance(0.6)
    assert (await api.status(pid))["triggeredCount"] == 3

    await api.advance(0.6)
    done = await api.status(pid)
    assert done["status"] == "SUCCESS"
    assert done["triggeredCount"] == done["migrationSet"]["totalFiles"] == 6
    assert done["completedAt"] == started_at + 1300
    assert done["eta"]["value"] == 0
    assert done["comments"] == "" and done["hasLogs"] is True and done["createdBy"] == "admin"
    assert flags(done) == FLAGS["SUCCESS"]


async def test_job_object_has_every_key_and_echoes_the_request(api: ApiClient) -> None:
    pid = await api.start(
        "/content/dam/status-fetch1",
        excludedPaths=["content/dam/status-fetch1/excluded-folder"],
        filter={"fileTypes": ["DITATOPIC"], "startTime": 1, "endTime": 1_900_000_000_000},
    )
    job = await api.status(pid)
    assert job["excludedPaths"] == ["content/dam/status-fetch1/excluded-folder"]  # echoed as sent
    assert job["filter"] == {
        "fileTypes": ["DITATOPIC"],
        "filterProcessedAssets": False,
        "startTime": 1,
        "endTime": 1_900_000_000_000,
    }
    assert job["type"] == "ASSET_PROCESSING" and job["path"] == "/content/dam/status-fetch1"
    await api.advance(0.1)
    assert (await api.status(pid))["migrationSet"]["totalFiles"] == 2  # excluded folder left out


async def test_a_single_string_is_taken_as_a_one_item_list(api: ApiClient) -> None:
    pid = await api.start(
        "/content/dam/status-fetch1",
        excludedPaths="/content/dam/status-fetch1/excluded-folder",
        filter={"fileTypes": "DITAMAP"},
    )
    await api.advance(0.1)
    job = await api.status(pid)
    assert job["excludedPaths"] == ["/content/dam/status-fetch1/excluded-folder"]
    assert job["filter"]["fileTypes"] == ["DITAMAP"]
    assert job["migrationSet"]["totalFiles"] == 1


async def test_jobs_queue_in_fifo_order_and_run_one_at_a_time(api: ApiClient) -> None:
    first = await api.start("/content/dam/22858")
    second = await api.start("/content/dam/demo1")
    third = await api.start("/content/dam/dita-templates")
    await api.advance(0.5)
    assert [(await api.status(p))["status"] for p in (first, second, third)] == [
        "IN_PROGRESS",
        "WAITING",
        "WAITING",
    ]
    assert (await api.status(second))["hasLogs"] is False  # nothing written while queued
    await api.advance(0.8)  # the first ends at 1.3 s; the second starts then
    assert (await api.status(first))["status"] == "SUCCESS"
    second_job = await api.status(second)
    assert second_job["startedAt"] == (await api.status(first))["completedAt"]
    assert (await api.status(third))["status"] == "WAITING"
    await api.advance(60)
    assert [(await api.status(p))["status"] for p in (first, second, third)] == ["SUCCESS"] * 3
    second_done = await api.status(second)
    third_job = await api.status(third)
    assert third_job["startedAt"] == second_done["completedAt"]


async def test_a_second_start_for_a_busy_path_is_refused(api: ApiClient) -> None:
    pid = await api.start("/content/dam/demo")
    status, body = await api.post(BASE_PATH, {"path": "/content/dam/demo", "type": "ASSET_PROCESSING"})
    assert status == 400
    assert pid in body["message"] and "already" in body["message"]
    await api.advance(60)
    assert (await api.status(pid))["status"] == "SUCCESS"
    assert await api.start("/content/dam/demo") != pid  # free again once the first has ended


async def test_cancel_while_running_then_resume_continues_from_the_checkpoint(api: ApiClient) -> None:
    pid = await api.start("/content/dam/22858")
    await api.advance(0.1 + 0.45)  # counting, then 2 assets done (the third is under way)
    status, cancelled = await api.action("cancel", pid)
    assert status == 200
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["triggeredCount"] == 2
    assert cancelled["completedAt"] == api.clock.now_ms()
    assert flags(cancelled) == FLAGS["CANCELLED"]

    await api.advance(10)  # nothing moves while cancelled
    assert (await api.status(pid))["triggeredCount"] == 2

    status, resumed = await api.action("resume", pid)
    assert status == 200
    assert resumed["processingId"] == pid
    assert resumed["status"] == "IN_PROGRESS"  # the runner was free: it continues at once
    assert resumed["completedAt"] == 0 and resumed["triggeredCount"] == 2
    await api.advance(0.8)
    done = await api.status(pid)
    assert done["status"] == "SUCCESS" and done["triggeredCount"] == 6

    lines = (await api.logs(pid))["lines"]
    processed = [line for line in lines if "Processing asset [" in line]
    assert len(processed) == 6  # no asset processed twice
    assert [line.split("Processing asset [")[1].split("/")[0] for line in processed] == [
        str(n) for n in range(1, 7)
    ]
    assert any("cancelled" in line for line in lines)
    assert any("Checkpoint saved [processed=2/6]" in line for line in lines)
    assert any("resumed from checkpoint [processed=2/6]" in line for line in lines)


async def test_cancel_a_waiting_job_removes_it_from_the_queue(api: ApiClient) -> None:
    first = await api.start("/content/dam/22858")
    second = await api.start("/content/dam/demo1")
    status, body = await api.action("cancel", second)
    assert status == 200 and body["status"] == "CANCELLED" and body["startedAt"] == 0
    await api.advance(60)
    assert (await api.status(first))["status"] == "SUCCESS"
    assert (await api.status(second))["status"] == "CANCELLED"
    status, resumed = await api.action("resume", second)
    assert resumed["status"] == "IN_PROGRESS"  # the runner is free; it never counted: it counts now
    assert resumed["migrationSet"]["calculationStatus"] == "IN_PROGRESS"
    await api.advance(60)
    assert (await api.status(second))["status"] == "SUCCESS"


@pytest.mark.parametrize("action", ["cancel", "resume"])
async def test_actions_refused_in_the_wrong_state_answer_400(api: ApiClient, action: str) -> None:
    pid = await api.start("/content/dam/22858")
    await api.advance(10)
    status, body = await api.action(action, pid)
    if action == "resume":
        assert status == 400 and "SUCCESS" in body["message"]
    else:
        assert status == 400 and "cannot be cancelled" in body["message"]
    assert (await api.status(pid))["status"] == "SUCCESS"  # nothing changed


async def test_resume_of_a_running_job_answers_400(api: ApiClient) -> None:
    pid = await api.start("/content/dam/22858")
    await api.advance(0.3)
    status, body = await api.action("resume", pid)
    assert status == 400 and "IN_PROGRESS" in body["message"]


async def test_history_lists_the_last_20_newest_first(api: ApiClient) -> None:
    ids = []
    for _ in range(22):
        ids.append(await api.start("/content/dam/22858"))
        await api.advance(2)
    history = await api.history()
    assert [job["processingId"] for job in history] == ids[::-1][:20]
    assert all(job["status"] == "SUCCESS" for job in history)


async def test_history_example_shape(api: ApiClient) -> None:
    pid = await api.start("/content/dam/22858")
    await api.advance(2)
    (job,) = await api.history()
    assert job["processingId"] == pid
    assert (job["triggeredCount"], job["migrationSet"]["totalFiles"]) == (6, 6)
    assert job["filter"] == {"fileTypes": [], "filterProcessedAssets": False}
    assert (job["cancellable"], job["resumable"], job["restartable"]) == (False, False, True)


async def test_a_job_over_the_whole_dam_takes_10_to_60_seconds(api: ApiClient) -> None:
    pid = await api.start("/content/dam")
    await api.advance(10)
    assert (await api.status(pid))["status"] == "IN_PROGRESS"
    await api.advance(50)
    job = await api.status(pid)
    assert job["status"] == "SUCCESS"
    assert 10_000 <= job["completedAt"] - job["startedAt"] <= 60_000


async def test_eta_counts_down_in_seconds(api: ApiClient) -> None:
    pid = await api.start("/content/dam/demo")
    await api.advance(0.1)
    job = await api.status(pid)
    assert job["eta"]["value"] == -(-job["migrationSet"]["totalFiles"] * 200 // 1000)
    await api.advance(1)
    assert (await api.status(pid))["eta"]["value"] == job["eta"]["value"] - 1


async def test_restart_is_not_served_by_default_and_says_how_to_switch_it_on(api: ApiClient) -> None:
    pid = await api.start()
    status, body = await api.action("restart", pid)
    assert status == 404
    assert "switch it on with the setting restart_endpoint" in body["message"]


async def test_restart_when_switched_on_starts_a_new_job_for_a_success_job(make_api: MakeApi) -> None:
    api = await make_api(Settings(restart_endpoint=True))
    pid = await api.start("/content/dam/22858", excludedPaths=["/content/dam/22858/x"])
    status, body = await api.action("restart", pid)
    assert status == 400 and "is IN_PROGRESS and cannot be restarted" in body["message"]
    await api.advance(5)
    status, body = await api.action("restart", pid)
    assert status == 200 and set(body) == {"processingId"}
    again = await api.status(body["processingId"])
    assert again["status"] == "IN_PROGRESS" and again["excludedPaths"] == ["/content/dam/22858/x"]
    assert [job["processingId"] for job in await api.history()] == [body["processingId"], pid]
    status, body = await api.post(f"{BASE_PATH}/restart", {"processingId": "nope"})
    assert status == 400 and "nope" in body["message"]


async def test_with_two_runners_two_jobs_are_in_progress_at_once(make_api: MakeApi) -> None:
    api = await make_api(Settings(concurrency=2))
    first, second, third = [
        await api.start(p) for p in ("/content/dam/demo", "/content/dam/demo1", "/content/dam/22858")
    ]
    await api.advance(0.2)
    assert [(await api.status(p))["status"] for p in (first, second, third)] == [
        "IN_PROGRESS",
        "IN_PROGRESS",
        "WAITING",
    ]
