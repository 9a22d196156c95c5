"""The public API is small and deliberate."""

from __future__ import annotations

import mock_server


def test_all_is_sorted_and_complete() -> None:
    assert mock_server.__all__ == sorted(mock_server.__all__)
    public = {name for name in vars(mock_server) if not name.startswith("_")}
    modules = {name for name, value in vars(mock_server).items() if type(value).__name__ == "module"}
    assert public - modules == set(mock_server.__all__) - {"__version__"}
