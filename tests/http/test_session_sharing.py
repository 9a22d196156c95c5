"""Sessions share what never changes (a scenario's repository, a settings' contract) and nothing
that does: a scenario or settings changed in one session is not seen in another
(mock_server/http/parts.py)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from mock_server.api.operations import BASE_PATH
from mock_server.core.sessions import Sessions
from mock_server.http.app import app_for
from mock_server.http.options import build_mock
from mock_server.http.runtime import Mock
from mock_server.http.sessions import SESSIONS
from tests.support.constants import BASIC_ADMIN

AUTH = {"Authorization": BASIC_ADMIN}
IN_DEFAULT_DAM = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
IN_OWN_DAM = {"path": "/content/dam/only-here", "type": "ASSET_PROCESSING"}
#: A scenario of its own repository (one folder, one asset) whose contract takes unknown fields.
OWN = """description: a repository of one asset, lenient
repository:
  base: empty
  assets:
    - {path: /content/dam/only-here/a.dita, type: DITATOPIC}
settings:
  lenient: true
"""

Client = TestClient[Any, Any]


async def serve(aiohttp_client: Any) -> Client:
    return await aiohttp_client(app_for(build_mock(environ={})))  # type: ignore[no-any-return]


def mock_named(client: Client, name: str) -> Mock:
    sessions: Sessions[Mock] = client.app[SESSIONS]
    found = sessions.find(name)
    assert found is not None, name
    return found.mock


async def start(client: Client, session: str, body: dict[str, Any]) -> int:
    async with client.post(f"/sessions/{session}{BASE_PATH}", json=body, headers=AUTH) as response:
        return response.status


async def test_sessions_of_one_scenario_share_its_repository_and_contract_but_nothing_that_changes(
    aiohttp_client: Any,
) -> None:
    client = await serve(aiohttp_client)
    for name in ("a", "b"):
        assert await start(client, name, IN_DEFAULT_DAM) == 200
    a, b = mock_named(client, "a"), mock_named(client, "b")
    assert a.engine.repository is b.engine.repository
    assert a.contract is b.contract and a.settings is b.settings
    for part in ("clock", "engine", "journal", "faults", "api", "csrf_tokens"):
        assert getattr(a, part) is not getattr(b, part), part
    assert len(a.engine.view()) == len(b.engine.view()) == 1


async def test_sessions_made_by_the_admin_api_from_one_shipped_scenario_share_its_repository(
    aiohttp_client: Any,
) -> None:
    client = await serve(aiohttp_client)
    for name in ("f1", "f2"):  # each read and parsed afresh: equal, not the same object
        async with client.post("/__admin/sessions", json={"name": name, "scenario": "filtered"}) as made:
            assert made.status == 201, await made.text()
    f1, f2 = mock_named(client, "f1"), mock_named(client, "f2")
    assert f1.scenario is not f2.scenario
    assert f1.engine.repository is f2.engine.repository
    assert f1.engine.repository is not client.app[SESSIONS].default.mock.engine.repository


async def test_a_scenario_loaded_in_one_session_changes_neither_the_repository_nor_the_contract_of_another(
    aiohttp_client: Any,
) -> None:
    client = await serve(aiohttp_client)
    for name in ("mine", "theirs"):
        assert await start(client, name, IN_DEFAULT_DAM) == 200
    async with client.put("/sessions/mine/__admin/scenario", data=OWN) as loaded:
        assert loaded.status == 200, await loaded.text()

    assert await start(client, "mine", IN_OWN_DAM) == 200
    assert await start(client, "theirs", IN_OWN_DAM) == 400  # not in the default DAM
    assert await start(client, "later", IN_OWN_DAM) == 400  # nor in a session made afterwards
    assert await start(client, "theirs", {**IN_DEFAULT_DAM, "unknownField": 1}) == 400
    own_asset = {**IN_OWN_DAM, "path": "/content/dam/only-here/a.dita"}  # the folder's job still runs
    assert await start(client, "mine", {**own_asset, "unknownField": 1}) == 200  # lenient

    mine, theirs, later = (mock_named(client, name) for name in ("mine", "theirs", "later"))
    assert mine.engine.repository is not theirs.engine.repository
    assert mine.contract is not theirs.contract
    assert theirs.engine.repository is later.engine.repository and theirs.contract is later.contract


async def test_a_session_with_settings_of_its_own_has_a_contract_of_its_own(aiohttp_client: Any) -> None:
    client = await serve(aiohttp_client)
    async with client.post("/__admin/sessions", json={"name": "open", "settings": {"lenient": True}}) as made:
        assert made.status == 201, await made.text()
    assert await start(client, "strict", {**IN_DEFAULT_DAM, "unknownField": 1}) == 400
    assert await start(client, "open", {**IN_DEFAULT_DAM, "unknownField": 1}) == 200
    strict, lenient = mock_named(client, "strict"), mock_named(client, "open")
    assert strict.engine.repository is lenient.engine.repository  # the same scenario's
    assert strict.contract is not lenient.contract
