"""The README's table of the journal's two spellings (Python fields, JSON keys) is held to the code."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from mock_server import Exchange, MockServer

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def documented() -> dict[str, str]:
    """The table's rows: Python field -> JSON key."""
    section = README.split("**The journal's two spellings.**", 1)[1].split("\n\n", 2)[1]
    return dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, flags=re.M))


def real_entry() -> tuple[Exchange, dict[str, object]]:
    with MockServer() as server:
        body = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()
        headers = {**server.headers, "Content-Type": "application/json"}
        urllib.request.urlopen(urllib.request.Request(server.base_url, data=body, headers=headers)).close()
        with urllib.request.urlopen(server.url + "/__admin/journal") as answer:
            entries = json.load(answer)
        (exchange,) = server.journal
    (entry,) = entries if isinstance(entries, list) else entries["exchanges"]
    return exchange, entry


def test_the_table_names_every_field_and_every_json_key_in_order() -> None:
    _, entry = real_entry()
    table = documented()
    assert list(table) == list(Exchange._fields)
    assert set(table.values()) == set(entry)


def test_each_field_is_the_value_of_its_json_key() -> None:
    exchange, entry = real_entry()
    for field, key in documented().items():
        value = getattr(exchange, field)
        assert (list(value) if isinstance(value, tuple) else value) == entry[key], (field, key)


def test_an_entry_read_back_is_the_exchange() -> None:
    """``Exchange.from_json`` (what ``pytest --aem-url`` reads) reverses ``to_json``, field by field."""
    exchange, entry = real_entry()
    assert Exchange.from_json(entry) == exchange
