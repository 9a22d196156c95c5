"""The API reference (mkdocs.yml, docs/reference/) documents the whole public surface: a new export, a
new fixture, marker or option of the plugin cannot be left out of it. CI builds the site itself with
``mkdocs build --strict`` (.ci/run); these checks need no mkdocs and run with the suite."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

import mock_server
from mock_server import pytest_plugin

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


def _members(page: str, module: str) -> list[str]:
    """The ``members:`` the page lists under its ``::: module`` directive."""
    text = (REFERENCE / page).read_text(encoding="utf-8")
    block = re.search(rf"^::: {re.escape(module)}\n((?:    .*\n)+)", text, re.MULTILINE)
    assert block, f"docs/reference/{page} has no '::: {module}' directive with options"
    options = yaml.safe_load(block[1].replace("\n    ", "\n").removeprefix("    "))["options"]
    members = options.get("members")
    assert isinstance(members, list), f"docs/reference/{page}: '::: {module}' should list its members"
    return members


def test_every_export_of_mock_server_is_in_the_reference() -> None:
    listed = _members("mock_server.md", "mock_server")
    missing = sorted(set(mock_server.__all__) - set(listed))
    assert not missing, f"add {missing} to the members of '::: mock_server' in docs/reference/mock_server.md"
    stale = sorted(set(listed) - set(mock_server.__all__))
    assert not stale, f"docs/reference/mock_server.md lists {stale}, which mock_server does not export"


def test_the_namespaces_for_advanced_use_are_rendered_whole() -> None:
    for page, module in [("engine.md", "mock_server.engine"), ("strategies.md", "mock_server.strategies")]:
        text = (REFERENCE / page).read_text(encoding="utf-8")
        assert f"::: {module}\n" in text, page
        assert "members:" not in text, f"{page}: every name of {module}.__all__ is shown, none chosen"


def test_every_fixture_marker_and_option_of_the_plugin_is_in_the_reference() -> None:
    page = (REFERENCE / "pytest_plugin.md").read_text(encoding="utf-8")
    source = Path(pytest_plugin.__file__).read_text(encoding="utf-8")
    fixtures = re.findall(r"^@pytest\.fixture.*\ndef (\w+)", source, re.MULTILINE)
    markers = re.findall(r'"markers",\s*"(\w+)\(', source)
    options = re.findall(r'addoption\(\s*"(--[\w-]+)"', source)
    assert fixtures and markers and options, "the plugin's source no longer reads as this test expects"
    missing = [f"::: mock_server.pytest_plugin.{name}" for name in fixtures]
    missing += [f"`@pytest.mark.{name}(" for name in markers] + [f"`{option}" for option in options]
    missing = [wanted for wanted in missing if wanted not in page]
    assert not missing, f"docs/reference/pytest_plugin.md lacks {missing}"


def test_the_cli_page_holds_the_marker_the_hook_fills_with_every_command() -> None:
    spec = importlib.util.spec_from_file_location("mkdocs_cli", ROOT / "tools" / "mkdocs_cli.py")
    assert spec and spec.loader
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.MARKER in (REFERENCE / "cli.md").read_text(encoding="utf-8")
    generated = hook.cli_reference()
    for command in ("serve", "check", "scenarios", "verify", "proxy", "scenario-from"):
        assert f"## `aem-guides-mock {command}`" in generated, command


def test_every_reference_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted(REFERENCE.glob("*.md")):
        assert f"reference/{page.name}" in config, f"mkdocs.yml's nav lacks reference/{page.name}"
