"""The dashboard that runs a team's server (issue 23 item 4), over a real socket: the sessions page,
a session's own jobs page and event stream, the jobs page's progress, comments and actions, the
start form's admin route, and the exchange page with its secrets masked and its bodies bounded."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

from mock_server.api.operations import BASE_PATH
from mock_server.core.journal import MAX_DETAIL_BODY
from tests.http.test_dashboard import assert_safe_page, page, read_event
from tests.support.client import ApiClient, MakeApi

UI = "/__admin/ui/"


async def test_the_sessions_page_lists_each_session_with_links_and_actions(api: ApiClient) -> None:
    assert (await api.admin("POST", "/sessions", json={"name": "team-a", "scenario": "fail-midway"}))[
        0
    ] == 201
    await api.post(f"/sessions/team-a{BASE_PATH}", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
    text, headers = await page(api, f"{UI}sessions")
    assert_safe_page(text, headers)
    rows = dict(re.findall(r'<tr data-name="([^"]+)">(.*?)</tr>', text))
    assert set(rows) == {"default", "team-a"}
    assert 'href="../../sessions/team-a/__admin/ui/"' in rows["team-a"] and "fail-midway" in rows["team-a"]
    assert '<td class="jobs">1</td>' in rows["team-a"] and '<td class="jobs">0</td>' in rows["default"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)", rows["team-a"])  # with its zone
    assert 'data-action="session-delete" data-name="default" disabled>' in rows["default"]
    assert 'data-action="session-delete" data-name="team-a">' in rows["team-a"]
    assert '<a href="sessions" aria-current=page>Sessions</a>' in text


async def test_a_sessions_dashboard_is_its_own_and_has_no_sessions_page(api: ApiClient) -> None:
    await api.start()  # in the default session
    text, _ = await page(api, f"/sessions/team-b{UI}")
    assert '<b id="session-name">team-b</b>' in text and "<tr data-id=" not in text
    assert ">Sessions</a>" not in text  # sessions are the server's, not a session's
    async with api.http.get(f"/sessions/team-b{UI}sessions") as answer:
        assert answer.status == 404 and "/__admin/sessions" in (await answer.json())["message"]


async def test_each_sessions_event_stream_carries_its_own_jobs(api: ApiClient) -> None:
    """Two tabs on two sessions at once: each is sent its own session's state, never the other's."""
    job = await api.start()
    async with (
        api.http.get("/__admin/events") as server_stream,
        api.http.get("/sessions/team-c/__admin/events") as session_stream,
    ):  # opened at once, within one tick: a state shared by every stream would be made once
        mine, theirs = await asyncio.gather(
            read_event(server_stream.content), read_event(session_stream.content)
        )
        assert [j["processingId"] for j in mine["jobs"]] == [job] and theirs["jobs"] == []
        body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
        _, started = await api.post(BASE_PATH, body, headers={"X-Aem-Mock-Session": "team-c"})
        theirs = await read_event(session_stream.content)
        assert [j["processingId"] for j in theirs["jobs"]] == [started["processingId"]]


async def test_the_jobs_page_shows_progress_comments_and_only_the_allowed_actions(make_api: MakeApi) -> None:
    api = await make_api(scenario="fail-midway")
    failed = await api.start("/content/dam")
    await api.advance(600)
    text, _ = await page(api, UI)
    row = re.search(rf'<tr data-id="{failed}">(.*?)</tr>', text)
    assert row is not None, text
    job = await api.status(failed)
    assert job["status"] == "FAILED" and job["comments"]
    done, total = job["triggeredCount"], job["migrationSet"]["totalFiles"]
    assert f'<progress value="{done}" max="{total}"></progress>' in row[1]
    assert f'<td class="comment">{job["comments"]}</td>' in row[1]
    assert f'data-action="cancel" data-id="{failed}" disabled>' in row[1]  # FAILED: not cancellable
    assert f'data-action="resume" data-id="{failed}">' in row[1]  # but resumable
    assert '<form id="start-form">' in text and 'data-action="reset"' in text
    job_text, _ = await page(api, f"{UI}jobs/{failed}")
    assert 'data-action="cancel" disabled>' in job_text and 'data-action="resume">' in job_text


async def test_a_success_job_can_be_neither_cancelled_nor_resumed(api: ApiClient) -> None:
    job = await api.start()
    await api.advance(60)
    text, _ = await page(api, UI)
    assert f'data-action="cancel" data-id="{job}" disabled>' in text
    assert f'data-action="resume" data-id="{job}" disabled>' in text
    running = await api.start("/content/dam")
    await api.advance(1)
    text, _ = await page(api, UI)
    assert f'data-action="cancel" data-id="{running}">' in text
    assert f'data-action="resume" data-id="{running}" disabled>' in text


async def test_the_start_form_route_starts_a_job_checked_as_the_api_checks_it(api: ApiClient) -> None:
    body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "filter": {"fileTypes": ["DITAMAP"]}}
    status, job = await api.admin("POST", "/jobs", json=body)
    assert status == 200 and job["createdBy"] == "admin" and job["filter"]["fileTypes"] == ["DITAMAP"]
    assert (await api.status(job["processingId"]))["path"] == "/content/dam/22858"
    status, answer = await api.admin("POST", "/jobs", json={"path": "/content/dam/x"})
    assert status == 400 and "type" in answer["message"] and answer["violations"]
    status, answer = await api.admin(
        "POST", "/jobs", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and '"path"' in answer["message"]
    assert (await api.admin("POST", "/jobs", json=body))[0] == 409  # the path is busy, as on the API
    assert [e.operation for e in api.mock.journal] == [
        "status"
    ]  # the dashboard's own actions are not the client's exchanges


async def test_the_start_form_route_and_the_session_actions_keep_the_same_origin_guard(
    api: ApiClient,
) -> None:
    body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
    await api.admin("POST", "/sessions", json={"name": "team-d"})
    foreign = {"Sec-Fetch-Site": "cross-site"}
    for method, path, sent in (("POST", "/jobs", body), ("POST", "/sessions/team-d/reset", None),
                               ("DELETE", "/sessions/team-d", None), ("POST", "/reset", None)):  # fmt: skip
        status, answer = await api.admin(method, path, json=sent, headers=foreign)
        assert status == 403 and "Sec-Fetch-Site" in answer["message"], (path, answer)
    assert len(api.mock.engine.view()) == 0 and (await api.admin("GET", "/sessions"))[1]["count"] == 1
    other = {"Origin": "http://localhost:3000"}
    assert (await api.admin("POST", "/jobs", json=body, headers=other))[0] == 403


async def exchange_page(api: ApiClient, number: int = 1) -> str:
    text, headers = await page(api, f"{UI}exchanges/{number}")
    assert_safe_page(text, headers)
    return text


async def test_the_exchange_page_shows_headers_and_bodies_with_secrets_masked(api: ApiClient) -> None:
    password = "adm1n-S3cret"
    api.mock.settings  # noqa: B018 (the default users: admin:admin)
    basic = "Basic " + base64.b64encode(b"admin:admin").decode()
    sent = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "password": password}
    headers = {"Authorization": basic, "Cookie": "login-token=tok-123; theme=dark", "CSRF-Token": "csrf-456",
               "X-Api-Key": "key-789", "Referer": "http://localhost/x?token=ref-000"}  # fmt: skip
    async with api.http.post(BASE_PATH, data=json.dumps(sent), headers={**headers, "Content-Type":
                             "application/json"}) as answer:  # fmt: skip
        answered = await answer.text()
    journal, _ = await page(api, f"{UI}journal")
    assert 'href="exchanges/1"' in journal
    text = await exchange_page(api)
    for secret in ("YWRtaW46YWRtaW4=", "tok-123", "csrf-456", "key-789", "ref-000", password):
        assert secret not in text, secret
    assert "<th>Authorization</th><td>Basic [redacted]</td>" in text
    assert "<th>Cookie</th><td>login-token=[redacted]; theme=[redacted]</td>" in text
    assert "<th>CSRF-Token</th><td>[redacted]</td>" in text
    assert "&quot;path&quot;: &quot;/content/dam/22858&quot;" in text  # the body, pretty-printed
    assert "&quot;password&quot;: &quot;[redacted]&quot;" in text
    assert "<th>Content-Type</th><td>application/json</td>" in text  # the answer's headers
    assert json.loads(answered)["message"].split()[0] in text.replace("&#x27;", "'")  # the answer's body
    assert '<td id="status">400</td>' in text  # "password" is no field of the start body


async def test_an_exchange_body_is_bounded_and_says_so(api: ApiClient) -> None:
    huge = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "excludedPaths": ["/x" * 40] * 400}
    sent = len(json.dumps(huge))
    assert sent > MAX_DETAIL_BODY
    await api.post(BASE_PATH, huge)
    text = await exchange_page(api)
    assert f"Truncated: the first {MAX_DETAIL_BODY} of its {sent} bytes are kept" in text
    (_, detail) = api.mock.journal.find(1)
    assert len(detail.request_body) == MAX_DETAIL_BODY and detail.request_length == sent


async def test_a_streamed_answer_is_not_kept_and_a_missing_exchange_is_a_404(api: ApiClient) -> None:
    job = await api.start()
    await api.advance(60)
    async with api.http.get(f"{BASE_PATH}/logs/download", params={"processingId": job},
                            headers={**api.headers, "Accept": "application/zip"}) as answer:  # fmt: skip
        assert answer.status == 200
        await answer.read()
    text = await exchange_page(api, 2)
    assert "Streamed (a ZIP): its bytes are not kept." in text
    for missing in ("3", "0", "x", "9" * 30):
        async with api.http.get(f"{UI}exchanges/{missing}") as answer:
            assert answer.status == 404, missing


def test_masked_headers_masks_every_secret_header() -> None:
    from mock_server.http.dashboard_exchange import masked_body, masked_headers
    from mock_server.recording.secrets import Secrets

    secrets = Secrets()
    pairs: list[Any] = [(b"Authorization", b"Bearer abc.def.ghi"), ("Set-Cookie", "login-token=zz9; Path=/"),
                        (b"X-Admin-Token", b"adm-tok"), (b"Accept", b"application/json")]  # fmt: skip
    shown = dict(masked_headers(pairs, "request", secrets))
    assert shown == {"Authorization": "Bearer [redacted]", "Set-Cookie": "login-token=[redacted]",
                     "X-Admin-Token": "[redacted]", "Accept": "application/json"}  # fmt: skip
    assert "abc.def.ghi" not in masked_body(b'{"createdBy": "abc.def.ghi"}', "application/json", secrets)
    assert "[redacted]" in masked_body(b"j_username=a&j_password=pw1", "application/x-www-form-urlencoded",
                                       secrets)  # fmt: skip
