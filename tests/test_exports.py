"""The public API is small and deliberate, and importing it is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mock_server


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert mock_server.__all__ == sorted(mock_server.__all__)
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


def test_the_app_loads_no_yaml_until_a_scenario_file_is_read() -> None:
    """PyYAML (and its C loader) is imported with the first scenario file, not with the app."""
    code = "import sys, mock_server.http.app; print('yaml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
