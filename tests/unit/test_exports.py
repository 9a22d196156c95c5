"""The public API is small and deliberate, and importing it is cheap."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import mock_server


def test_all_is_sorted_and_every_name_resolves() -> None:
    def isort_style(name: str) -> tuple[int, str]:  # as ruff's RUF022 sorts: constants, classes, the rest
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert mock_server.__all__ == sorted(mock_server.__all__, key=isort_style)
    for name in mock_server.__all__:
        assert getattr(mock_server, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nope"):
        mock_server.Nope  # noqa: B018  # the access is the test


def test_importing_the_package_and_the_plugin_loads_no_aiohttp() -> None:
    code = "import sys, mock_server, mock_server.pytest_plugin; print('aiohttp' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_all_lists_exactly_the_lazy_names() -> None:
    assert set(mock_server.__all__) == {*mock_server._HOMES, "__version__"}


def test_what_users_receive_and_catch_is_public() -> None:
    from mock_server.core.journal import Exchange
    from mock_server.pytest_plugin import AemMock

    wanted = {"Exchange", "Violation", "SettingError", "ScenarioError", "AemMock", "MockServer"}
    assert wanted | {"BASE_PATH", "create_app"} <= set(mock_server.__all__)
    assert mock_server.Exchange is Exchange
    assert mock_server.AemMock is AemMock
    assert mock_server.BASE_PATH == "/bin/guides/v1/assets/process"


ENGINE = ["Clock", "PerPollClock", "SystemClock", "JobEngine", "Lifecycle", "StartRequest"]
ENGINE += ["default_repository", "JobError", "UnknownJob", "JobConflict", "InvalidTransition"]


@pytest.mark.parametrize("name", ENGINE)
def test_engine_internals_are_in_the_engine_namespace_and_warn_at_the_old_place(name: str) -> None:
    from mock_server import engine

    assert name not in mock_server.__all__
    assert name in engine.__all__
    with pytest.warns(DeprecationWarning, match=f"mock_server.{name} .*mock_server.engine"):
        old = getattr(mock_server, name)
    assert old is getattr(engine, name)


@pytest.mark.parametrize("name", ["ContractViolation", "ResponseViolation"])
def test_exceptions_nothing_raises_are_not_exported(name: str) -> None:
    """Nothing raises these (RequestViolation, from AemMock.check, is what a test meets)."""
    from mock_server import engine

    assert name not in mock_server.__all__
    assert name not in engine.__all__
    with pytest.warns(DeprecationWarning, match="mock_server.core.errors"):
        getattr(mock_server, name)


def test_the_exceptions_left_out_are_raised_nowhere() -> None:
    """Held to the code: if something starts raising one, it belongs back in the public API."""
    root = Path(mock_server.__file__).parent
    source = "\n".join(path.read_text(encoding="utf-8") for path in root.rglob("*.py"))
    for name in ("ContractViolation", "ResponseViolation"):
        assert not re.search(rf"raise {name}\b", source), name


PUBLIC_MODULES = ("mock_server", "mock_server.engine", "mock_server.strategies")


def test_the_readme_and_the_examples_import_only_public_names() -> None:
    root = Path(mock_server.__file__).parent.parent
    texts = [root / "README.md", *sorted((root / "examples").glob("*.py"))]
    for path in texts:
        text = path.read_text(encoding="utf-8")
        for names in re.findall(r"^from mock_server import ([\w, ]+)$", text, re.M):
            for name in names.split(", "):
                assert name in mock_server.__all__ or name in ("strategies",), (path.name, name)
        assert "mock_server.pytest_plugin import" not in text, path.name
        for module in re.findall(r"^(?:from|import) (mock_server[\w.]*)", text, re.M):
            assert module in PUBLIC_MODULES, (path.name, module)


def test_the_app_loads_no_yaml_until_a_scenario_file_is_read() -> None:
    """PyYAML (and its C loader) is imported with the first scenario file, not with the app."""
    code = "import sys, mock_server.http.app; print('yaml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
