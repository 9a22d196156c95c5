"""The shipped JSON Schemas (``schemas/``): where they are, and a fresh copy of each by name."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["load_schemas", "schema_dir"]


def schema_dir() -> Path:
    """Where the shipped schemas are: inside an installed wheel, or beside the package."""
    packaged = Path(str(resources.files("mock_server"))) / "_data" / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


def load_schemas(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every ``NAME.schema.json`` of ``folder`` by NAME; callers get their own copy.

    Schemas from another folder are each checked as a Draft 2020-12 schema. The shipped ones are
    checked by the test suite instead (``tests/unit/test_contract.py``): checking them at every start
    would cost the dev server a quarter of a second.
    """
    texts = _schema_texts(folder or schema_dir(), check=folder is not None)
    return {name: json.loads(text) for name, text in texts.items()}  # a fresh copy, faster than deepcopy


@functools.cache
def _schema_texts(folder: Path, check: bool) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.schema.json")):
        text = path.read_text(encoding="utf-8")
        if check:
            from jsonschema import Draft202012Validator

            Draft202012Validator.check_schema(json.loads(text))
        texts[path.name.removesuffix(".schema.json")] = text
    return texts
