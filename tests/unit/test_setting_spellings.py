"""One definition per setting: each field's metadata names its spellings, and every reader, the
scenario schema, the README's table and its "every key" example are held to it."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import Settings
from mock_server.core import settings_doc
from mock_server.core.errors import SettingError
from mock_server.core.setting_spec import SPEC, UNITS, Spec
from mock_server.core.settings import (
    ENV_PREFIX,
    add_flags,
    flag_changes,
    from_environment,
    from_scenario,
    resolve,
    specs,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
NAMES = [field.name for field in dataclasses.fields(Settings)]
DEFAULTS = Settings()


def _spec(name: str) -> Spec:
    return specs()[name]


def test_every_field_declares_its_spellings() -> None:
    bare = [field.name for field in dataclasses.fields(Settings) if SPEC not in field.metadata]
    assert bare == [], f"declare these with setting(...): {bare}"
    assert list(specs()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_settings_spellings_follow_the_documented_rules(name: str) -> None:
    spec = _spec(name)
    assert spec.env == ENV_PREFIX + name.upper()  # the README's AEM_GUIDES_MOCK_<SETTING>
    assert spec.unit in UNITS and spec.doc.strip() and "|" not in spec.doc
    if spec.key is not None and spec.key != name:  # a scenario key of its own: no other setting's name
        assert spec.key not in NAMES
    if spec.unit == "duration":  # milliseconds in Python, a duration in a scenario: two names
        assert name.endswith("_ms") and spec.yaml and not spec.yaml.endswith("_ms")


@pytest.mark.parametrize("name", NAMES)
def test_each_environment_variable_sets_its_setting(name: str) -> None:
    spec, default = _spec(name), getattr(DEFAULTS, name)
    if isinstance(default, bool):
        text = "true" if default else "false"
    elif isinstance(default, tuple):
        text = ",".join(default)
    elif spec.unit == "map":
        text = json.dumps(dict(default))
    else:
        text = "none" if default is None else str(default)
    assert from_environment({spec.env: text}) == {name: default}


@pytest.mark.parametrize("name", [name for name in NAMES if _spec(name).yaml])
def test_a_scenario_key_reads_back_what_the_readme_shows(name: str) -> None:
    """The default as written (``200ms``, ``jcr``) is read back as the default, from a scenario,
    from a marker and from ``overrides``."""
    spec, default = _spec(name), getattr(DEFAULTS, name)
    assert spec.yaml is not None
    document: dict[str, Any] = {}
    *blocks, last = spec.yaml.split(".")
    inner = document
    for block in blocks:
        inner = inner.setdefault(block, {})
    inner[last] = spec.to_yaml(default) if spec.unit != "clock" else default
    changes = from_scenario(document)
    assert changes[name] == default and set(changes) <= {name, "clock"}  # clock: {per_poll} pins per-poll
    if spec.key:
        assert resolve(overrides=[("a marker", {spec.key: spec.to_yaml(default)})]) == DEFAULTS


def test_markers_and_overrides_take_the_scenario_spelling() -> None:
    yaml_spelled = {"per_asset": "50ms", "counting": 0.25, "backend": "database", "download": "json",
                    "system_job_interval": "1m", "body_timeout": "3s", "header_timeout": "4s"}  # fmt: skip
    settings = resolve(overrides=[("the aem_scenario marker", yaml_spelled)])
    assert (settings.per_asset_ms, settings.counting_ms, settings.is_database, settings.download_mode) == (
        50, 250, True, "json")  # fmt: skip
    assert (settings.system_job_interval_ms, settings.body_timeout_ms, settings.header_timeout_ms) == (
        60_000, 3000, 4000)  # fmt: skip
    assert Settings().replace(per_asset="2s").per_asset_ms == 2000
    assert Settings().replace(per_asset_ms=7).per_asset_ms == 7  # the name keeps its Python value


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"per_aset": "1s"},
         "'per_aset' is not a setting (the aem_scenario marker) (did you mean per_asset?)"),
        ({"backend_db": True}, "(did you mean backend?)"),
        ({"per_asset": "soon"}, "per_asset: expected a duration such as '2s', '150ms' or '1m', got 'soon' "
                                "(the aem_scenario marker)"),
        ({"backend": "sql"}, "backend: expected one of jcr, database, got 'sql' (the aem_scenario marker)"),
        ({"per_asset": "1s", "per_asset_ms": 5}, "per_asset_ms and per_asset are one setting"),
        ({"per_asset": "0ms"}, "per_asset_ms >= 1"),
    ],
)  # fmt: skip
def test_a_wrong_key_or_value_names_the_nearest_spelling(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError) as caught:
        resolve(overrides=[("the aem_scenario marker", changes)])
    assert message in str(caught.value)


def test_the_flags_come_from_the_metadata() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_flags(parser)
    flags = {action.option_strings[0] for action in parser._actions if action.option_strings[1:2] == []}
    assert flags - {"-h"} == {spec.flag.name for spec in specs().values() if spec.flag}
    args = parser.parse_args(["--speed", "2", "--clock", "per-poll:250ms", "--vary", "7"])
    assert flag_changes(args) == {"speed": 2.0, "clock": "per-poll", "poll_step_ms": 250, "vary": 7}
    assert flag_changes(parser.parse_args([])) == {}
    with pytest.raises(argparse.ArgumentError, match="speed must be above 0"):
        parser.parse_args(["--speed", "0"])


# --- the schema, the README's table and its example, held to the metadata --------------------------

_SCHEMA_TYPE = {"bool": "boolean", "count": "integer", "bytes": "integer", "number": "number",
                "text": "string", "map": "object", "list": "array", "seed": "integer"}  # fmt: skip


def test_the_schemas_settings_are_the_metadatas() -> None:
    in_schema = set(SCHEMA["properties"]["settings"]["properties"])
    assert in_schema == {spec.key for spec in specs().values() if spec.key}
    for name, spec in specs().items():
        if spec.yaml is None:
            continue
        node = settings_doc.schema_node(SCHEMA, spec.yaml)
        assert node is not None, f"{name}: {spec.yaml} is not in the scenario schema"
        if spec.unit == "duration":
            assert node["$ref"] == "#/$defs/duration", name
        elif spec.unit == "path":
            assert node["$ref"] == "#/$defs/path", name
        elif spec.unit == "choice":
            wanted = list(spec.choices or ()) or list(getattr(Settings.__annotations__[name], "__args__", ()))
            assert node["enum"] == (wanted or node["enum"]), name
            assert Settings().replace(**{name: spec.from_yaml(node["enum"][-1])})  # every choice loads
        elif spec.unit == "clock":
            assert node["oneOf"][0]["enum"] == ["real", "manual"]
        else:
            assert node["type"] == _SCHEMA_TYPE[spec.unit], name


def test_the_choices_of_the_schema_are_the_fields_values() -> None:
    for name, spec in specs().items():
        node = settings_doc.schema_node(SCHEMA, spec.yaml) if spec.yaml else None
        if spec.unit == "choice" and node is not None:
            for word in node["enum"]:
                Settings().replace(**{name: spec.from_yaml(word)})  # raises on a value the field lacks


def test_the_readme_table_and_the_schemas_descriptions_are_generated() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_doc.readme_text(readme) == readme, "run python -m mock_server.core.settings_doc"
    schema = (ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8")
    assert settings_doc.schema_text(schema) == schema, "run python -m mock_server.core.settings_doc"
    for name, spec in specs().items():
        assert f"| `{name}` | " in readme and spec.env in readme and spec.doc in readme


def test_the_generator_rewrites_a_stale_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme, schema = tmp_path / "README.md", tmp_path / "scenario.schema.json"
    readme.write_text(f"intro\n{settings_doc.BEGIN}\n| old |\n{settings_doc.END}\noutro\n", encoding="utf-8")
    schema.write_bytes((ROOT / "schemas" / "scenario.schema.json").read_bytes())
    monkeypatch.setattr(settings_doc, "README", readme)
    monkeypatch.setattr(settings_doc, "SCHEMA", schema)
    monkeypatch.setattr(settings_doc, "ROOT", tmp_path)
    assert settings_doc.main(["--check"]) == 1
    assert settings_doc.main([]) == 0
    assert settings_doc.main(["--check"]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "| old |" not in text
    assert "| `per_asset_ms` | `settings.per_asset` | `AEM_GUIDES_MOCK_PER_ASSET_MS` |  | `200ms` |" in text


def _example() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (text,) = re.findall(r"```yaml\n(# my.yaml\n.*?)```", readme, flags=re.S)
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@pytest.mark.parametrize("name", [name for name in NAMES if _spec(name).yaml])
def test_the_every_key_example_sets_each_setting_to_its_default(name: str) -> None:
    spec = _spec(name)
    assert spec.yaml is not None
    value: Any = _example()
    for part in spec.yaml.split("."):
        assert isinstance(value, dict) and part in value, f"the README's example lacks {spec.yaml}"
        value = value[part]
    if spec.unit not in ("map", "list", "clock") and getattr(DEFAULTS, name) is not None:
        assert spec.from_yaml(value) == getattr(DEFAULTS, name), f"{spec.yaml}: not the default"
