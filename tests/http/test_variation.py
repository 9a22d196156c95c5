"""The ``vary`` setting: seeded, contract-legal variation of every answer (contract/variation.py,
core/job_variation.py), through the app on a real socket."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from mock_server import ManualClock, Settings, create_app
from mock_server.api.operations import BASE_PATH, SYSTEM_STATUS_PATH
from mock_server.contract.schemas import load_schemas
from mock_server.contract.variation import Variation
from mock_server.core.job_variation import ID_SHAPES, log_extras, seeded_ids
from mock_server.http.runtime import MOCK
from tests.support.constants import BASIC_ADMIN
from tests.support.hypothesis_profiles import examples

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _opened(node: Any) -> Any:
    """A schema that takes unknown keys: what a newer author may send (the "may" schemas)."""
    if isinstance(node, dict):
        return {k: _opened(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_opened(v) for v in node]
    return node


MAY = {name: _opened(schema) for name, schema in load_schemas().items()}
REGISTRY: Registry[Any] = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in MAY.values()
)


def may(name: str, payload: Any) -> list[str]:
    validator = Draft202012Validator(MAY[name], registry=REGISTRY)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]


async def script(seed: int | None) -> list[tuple[str, int, bytes, tuple[str, ...]]]:
    """Every kind of answer, from one client's session: (schema, status, body, variations)."""
    clock = ManualClock()
    overrides = {} if seed is None else {"vary": seed}
    app = create_app(Settings(), clock=clock, overrides=overrides)
    answers: list[tuple[str, int, bytes, tuple[str, ...]]] = []
    headers = {"Authorization": BASIC_ADMIN}
    async with TestClient(TestServer(app)) as http:

        async def call(schema: str, method: str, path: str, **kwargs: Any) -> Any:
            url = path if path.startswith("/bin/guides/v1/system") else BASE_PATH + path
            async with http.request(method, url, headers=headers, **kwargs) as r:
                body = await r.read()
            answers.append((schema, r.status, body, list(http.app[MOCK].journal)[-1].variations))
            return json.loads(body)

        start = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
        pid = (await call("start.response", "POST", "", json=start))["processingId"]
        await call("job", "GET", "/status", params={"processingId": pid})
        clock.advance(0.5)
        await call("job", "GET", "/status", params={"processingId": pid})
        clock.advance(60)
        await call("job", "GET", "/status", params={"processingId": pid})
        for offset, limit in ((0, 3), (3, 3), (0, 500)):
            params = {"processingId": pid, "offset": offset, "limit": limit}
            await call("logs.response", "GET", "/logs", params=params)
        await call("logs.response", "GET", "/logs", params={"processingId": pid, "tail": 4})
        await call("history.response", "GET", "/history")
        await call("system-status.response", "GET", SYSTEM_STATUS_PATH)
        await call("error", "GET", "/status", params={"processingId": "no-such-job"})
        await call("error", "POST", "", json={"path": 5})
    return answers


def run(seed: int | None) -> list[tuple[str, int, bytes, tuple[str, ...]]]:
    return asyncio.run(script(seed))


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_every_varied_answer_keeps_the_contract_and_a_seed_repeats_exactly(seed: int) -> None:
    first = run(seed)
    assert [status for _, status, _, _ in first] == [200] * 10 + [400, 400]
    for schema, status, body, _ in first:
        assert may(schema, json.loads(body)) == [], (schema, status, body)
    assert run(seed) == first  # byte for byte, variations named alike


def test_without_vary_nothing_varies() -> None:
    answers = run(None)
    assert all(not names for *_, names in answers)
    assert UUID.fullmatch(json.loads(answers[0][2])["processingId"])
    assert b"DEBUG" not in answers[6][2]


def test_across_seeds_every_kind_of_variation_happens() -> None:
    """The variations named across 50 seeds: each kind shows up, on the answers it is for."""
    seen: dict[str, set[str]] = {}
    for seed in range(50):
        for schema, _, _, names in run(seed):
            for name in names:
                kind = re.sub(r"[ /].*", "", name) if not name.startswith("a processingId") else "id"
                if name.startswith(("cut the log page", "log lines of level")) or "stack trace" in name:
                    kind = name.split(" (")[0].split(" to ")[0].split(" of level")[0]
                    kind = "stack trace" if "stack trace" in name else kind
                seen.setdefault(kind, set()).add(schema)
    assert {"left", "added", "reordered", "id", "cut the log page", "log lines", "stack trace"} <= set(seen)
    assert seen["cut the log page"] == {"logs.response"}
    assert seen["left"] >= {"job", "history.response", "system-status.response"}


def test_a_cut_page_is_a_legal_page() -> None:
    schemas = load_schemas()
    lines = [f"line {i}" for i in range(10)]
    page = {"lines": lines, "limit": 10, "offset": 0, "hasMore": False}
    body = json.dumps(page).encode()
    cuts = set()
    for seed in range(200):
        varied, names = Variation(seed, schemas).vary("logs.response", page, body, {})
        kept = varied["lines"]
        assert kept == lines[: len(kept)]  # a prefix, never a reordering or a gap
        if len(kept) < len(lines):
            cuts.add(len(kept))
            assert varied["hasMore"] is True
            assert varied["limit"] in (10, len(kept))
            assert any(n.startswith("cut the log page") for n in names)
        assert Variation(seed, schemas).vary("logs.response", page, body, {"tail": 10})[0]["lines"] == lines
    assert cuts == set(range(1, 10))  # every legal place


def test_required_keys_are_never_left_out() -> None:
    schemas = load_schemas()
    job = copy.deepcopy(schemas["job"])
    required = set(job["required"])
    payload = dict.fromkeys(job["properties"], 0)
    for seed in range(200):
        varied, _ = Variation(seed, schemas).vary("job", payload, str(seed).encode(), {})
        assert required <= set(varied)


def test_ids_come_in_every_shape_and_logs_are_seeded_by_the_job() -> None:
    new_id = seeded_ids(5)
    ids = [new_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert any(UUID.fullmatch(i) for i in ids) and not all(UUID.fullmatch(i) for i in ids)
    again = seeded_ids(5)
    assert ids == [again() for _ in range(200)]
    assert len(ID_SHAPES) >= 5
    assert log_extras(1, "a", "failed") == log_extras(1, "a", "failed")
    failed = log_extras(1, "a", "failed")
    assert failed[0][0] in ("DEBUG", "ERROR") and any(level is None for level, _ in failed)


async def test_the_admin_journal_names_each_answers_variations() -> None:
    app = create_app(Settings(), clock=ManualClock(), overrides={"vary": 3})
    async with TestClient(TestServer(app)) as http:
        start = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
        async with http.post(BASE_PATH, json=start, headers={"Authorization": BASIC_ADMIN}) as r:
            count = int(r.headers["X-Aem-Mock-Variations"])
            pid = (await r.json())["processingId"]
        async with http.get("/__admin/journal") as r:
            (exchange,) = (await r.json())["exchanges"]
    assert len(exchange["variations"]) == count
    assert f"a processingId that is no UUID: {pid!r}" in exchange["variations"]
