"""Each documented example (written down in docs/contract.md) keeps the response schema of its answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mock_server import Settings
from mock_server.contract.rules import Contract
from mock_server.contract.schemas import load_schemas

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
EXAMPLE = re.compile(r"```json example=(?P<schema>[\w.-]+)\n(?P<text>.*?)```", re.S)


def examples() -> list[tuple[str, Any]]:
    return [
        (m["schema"], json.loads(m["text"])) for m in EXAMPLE.finditer(CONTRACT.read_text(encoding="utf-8"))
    ]


def test_every_answer_with_a_documented_example_has_it_written_down() -> None:
    assert sorted(schema for schema, _ in examples()) == sorted(
        ["start.response", "job", "logs.response", "download.response", "history.response",
         "system-status.response", "asset-status.response", "asset-status-job"]
    )  # fmt: skip


@pytest.mark.parametrize(("schema", "example"), examples(), ids=[schema for schema, _ in examples()])
def test_the_documented_example_keeps_its_schema(schema: str, example: Any) -> None:
    contract = Contract(Settings())
    body = json.dumps(example).encode()
    assert list(contract.check_response(schema, body, None)) == []


def test_keys_an_example_leaves_out_are_optional_and_what_is_sent_is_still_checked() -> None:
    schemas = load_schemas()
    assert {"excludedPaths", "filter"}.isdisjoint(schemas["job"]["required"])
    assert schemas["system-status.response"]["required"] == ["isDatabase", "databaseConnectionCheck"]
    # what the example has is still checked: a key of the wrong type is refused
    (history,) = (e for s, e in examples() if s == "history.response")
    history["executionHistory"][0]["filter"] = {"fileTypes": "DITAMAP", "filterProcessedAssets": False}
    assert list(Contract(Settings()).check_response("history.response", json.dumps(history).encode(), None))
