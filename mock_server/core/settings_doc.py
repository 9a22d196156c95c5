"""The README's settings table and the scenario schema's setting descriptions, from the settings' metadata.

Run from a checkout after changing a setting (``tests/unit/test_setting_spellings.py`` fails until you do)::

    python -m mock_server.core.settings_doc          # rewrite README.md and schemas/scenario.schema.json
    python -m mock_server.core.settings_doc --check  # exit 1 naming the file that is out of date
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .settings import Settings, specs

__all__ = ["BEGIN", "END", "readme_text", "schema_text", "settings_table"]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SCHEMA = ROOT / "schemas" / "scenario.schema.json"
BEGIN = "<!-- settings table: written by `python -m mock_server.core.settings_doc`; do not edit -->"
END = "<!-- end of the settings table -->"


def default_text(name: str) -> str:
    """A setting's default as a scenario spells it (``200ms``, ``jcr``), or ``none``."""
    spec, default = specs()[name], getattr(Settings(), name)
    shown = spec.to_yaml(default) if spec.yaml else default
    if shown is None:
        return "none"
    if isinstance(shown, (bool, list, Mapping)):
        return f"`{json.dumps(dict(shown) if isinstance(shown, Mapping) else shown)}`"
    return f"`{shown}`"


def settings_table() -> str:
    """One row per setting: its spellings, its default and what it decides."""
    rows = [
        "| setting | scenario key | environment variable | flag | default | what it decides |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in specs().items():
        cells = [
            f"`{name}`",
            f"`{spec.yaml}`" if spec.yaml else "—",
            f"`{spec.env}`",
            f"`{spec.flag.name}`" if spec.flag else "",
            default_text(name),
            spec.doc,
        ]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def readme_text(readme: str) -> str:
    """``readme`` with the text between :data:`BEGIN` and :data:`END` replaced by the table."""
    head, begin, rest = readme.partition(BEGIN + "\n")
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the README lacks the markers {BEGIN!r} and {END!r}")
    return head + BEGIN + "\n" + settings_table() + END + tail


def schema_node(schema: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """The schema of the scenario key at ``path`` (``settings.per_asset``, ``clock.per_poll``)."""
    node: Any = schema
    for part in path.split("."):
        places = [node, *node.get("oneOf", ())]
        node = next((p["properties"][part] for p in places if part in p.get("properties", {})), None)
        if node is None:
            return None
    return node  # type: ignore[no-any-return]  # a JSON object of the schema


def schema_text(text: str) -> str:
    """The scenario schema's ``text`` with each setting's ``description`` from its metadata."""
    schema = json.loads(text)
    for spec in specs().values():
        node = schema_node(schema, spec.yaml) if spec.yaml else None
        if node is not None and "." in (spec.yaml or ""):  # a top-level key keeps its own description
            node["description"] = spec.doc
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mock_server.core.settings_doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, make in ((README, readme_text), (SCHEMA, schema_text)):
        text = path.read_text(encoding="utf-8")
        wanted = make(text)
        if wanted != text:
            stale.append(path)
            if not args.check:
                path.write_text(wanted, encoding="utf-8")
    for path in stale:
        said = "out of date: run python -m mock_server.core.settings_doc" if args.check else "rewritten"
        print(f"{path.relative_to(ROOT)}: {said} (from the settings' metadata)")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
